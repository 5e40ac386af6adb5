package main

import (
	"strings"
	"testing"
)

func TestMedianRun(t *testing.T) {
	run := func(p99 float64) loadResult { return loadResult{"rtt_p99_ms": p99} }
	for _, c := range []struct {
		p99s []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{8.6, 2.1, 4.9}, 4.9},
		{[]float64{2.5, 2.2, 9, 1.8, 2.3}, 2.3},
		{[]float64{5, 1, 4, 2}, 2}, // even: the lower middle
	} {
		var runs []loadResult
		for _, v := range c.p99s {
			runs = append(runs, run(v))
		}
		if got := medianRun(runs, "rtt_p99_ms").num("rtt_p99_ms"); got != c.want {
			t.Errorf("median of %v = %v, want %v", c.p99s, got, c.want)
		}
		if got := runs[0].num("rtt_p99_ms"); got != c.p99s[0] {
			t.Errorf("medianRun reordered its argument")
		}
	}
	if got := medianRun([]loadResult{run(7), run(1)}, "").num("rtt_p99_ms"); got != 7 {
		t.Errorf("without a key: %v, want the first run", got)
	}
}

func TestRepeatsNoteListsEveryRun(t *testing.T) {
	st := step{name: "relay-open", repeats: 2, medianOf: "rtt_p99_ms"}
	runs := map[string][]loadResult{
		"huddle":    {{"rtt_p99_ms": 2.5}, {"rtt_p99_ms": 4.25}},
		"reference": {{"rtt_p99_ms": 14.1}, {"rtt_p99_ms": 15.0}},
	}
	note := repeatsNote(st, []string{"huddle", "reference"}, runs)
	for _, want := range []string{"2 runs per server", "huddle 2.50, 4.25", "reference 14.10, 15.00"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
}
