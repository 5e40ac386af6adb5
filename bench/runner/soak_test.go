package main

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// soakRun makes a baseline and one cycle per live heap in heaps (bytes),
// all connected, goroutines at 17.
func soakRun(heaps ...int64) []soakCycle {
	cs := []soakCycle{{Cycle: 0, Goroutines: 17, LiveHeap: 300 << 10}}
	for i, h := range heaps {
		cs = append(cs, soakCycle{Cycle: i + 1, Connected: 10000, Goroutines: 17, LiveHeap: h, RSS: int64(50+i%3*10) << 20})
	}
	return cs
}

func TestSlope(t *testing.T) {
	for _, c := range []struct {
		xs, ys []float64
		want   float64
	}{
		{[]float64{1, 2, 3}, []float64{5, 5, 5}, 0},
		{[]float64{1, 2, 3, 4}, []float64{10, 12, 14, 16}, 2},
		{[]float64{1, 2, 3}, []float64{1, 4, 1}, 0},
		{[]float64{1, 2, 3}, []float64{3, 1, 2}, -0.5},
		{[]float64{2, 2}, []float64{1, 9}, 0}, // no spread in x
	} {
		if got := slope(c.xs, c.ys); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("slope(%v, %v) = %v, want %v", c.xs, c.ys, got, c.want)
		}
	}
}

func TestJudgeSoak(t *testing.T) {
	const h = 1679 << 10
	flat := make([]int64, 10)
	leak := make([]int64, 10)  // +2 % per cycle: 64 bytes per socket would be 37 %
	slow := make([]int64, 30)  // +0.5 % per cycle: under the slope bound, but 14 % over 29 cycles
	noisy := make([]int64, 10) // ±3 % around flat, no trend
	step := make([]int64, 10)  // a one-time step after cycle 1, then flat
	for i := range flat {
		flat[i] = h
		leak[i] = h + int64(i)*h/50
		noisy[i] = h + int64([]int{3, -3, 2, -2, 0, 3, -3, 1, -1, 0}[i])*h/100
		step[i] = h * 5 / 4
	}
	step[0] = h
	for i := range slow {
		slow[i] = h + int64(i)*h/200
	}
	goroutineLeak := soakRun(flat...)
	goroutineLeak[7].Goroutines = 18
	failed := soakRun(flat...)
	failed[3].Failed, failed[3].Connected = 1, 9999

	for _, c := range []struct {
		name   string
		cycles []soakCycle
		heapOK bool
		ok     bool
	}{
		{"flat", soakRun(flat...), true, true},
		{"noisy, no trend", soakRun(noisy...), true, true},
		{"one-time step after cycle 1", soakRun(step...), true, true},
		{"leak of 2 % per cycle", soakRun(leak...), false, false},
		{"slow leak over 30 cycles", soakRun(slow...), false, false},
		{"a goroutine more than the baseline", goroutineLeak, true, false},
		{"a failed connection", failed, true, false},
	} {
		v, err := judgeSoak(c.cycles, defaultSoakBounds)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v.HeapOK != c.heapOK || v.OK != c.ok {
			t.Errorf("%s: heap ok %v, ok %v, want %v, %v (%+v)", c.name, v.HeapOK, v.OK, c.heapOK, c.ok, v)
		}
	}
	v, _ := judgeSoak(soakRun(leak...), defaultSoakBounds)
	if want := 0.02 / 1.02; math.Abs(v.SlopeFrac-want) > 0.0001 {
		t.Errorf("leak slope %.4f of cycle 2 per cycle, want %.4f", v.SlopeFrac, want)
	}
	if _, err := judgeSoak(soakRun(h, h), defaultSoakBounds); !errors.Is(err, errSoakTooShort) {
		t.Errorf("one cycle: %v", err)
	}
	if _, err := judgeSoak(soakRun(flat...)[1:], defaultSoakBounds); !errors.Is(err, errSoakTooShort) {
		t.Errorf("no baseline: %v", err)
	}
}

// RSS is shown, never judged: RSS jumping by half with a flat live heap
// passes.
func TestSoakRSSIsNotTheVerdict(t *testing.T) {
	cs := soakRun(1<<20, 1<<20, 1<<20)
	cs[3].RSS = cs[1].RSS * 3 / 2
	v, err := judgeSoak(cs, defaultSoakBounds)
	if err != nil || !v.OK {
		t.Fatalf("%+v %v", v, err)
	}
	report := soakReport(cs, v, defaultSoakBounds, 10000, time.Unix(0, 0))
	for _, want := range []string{"| 3 | 10000 | 0 | 17 | 0 | 1024 |", "RSS (not judged)", "PASS"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
}
