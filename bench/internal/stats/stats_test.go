package stats

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPercentilesOfOneToHundred(t *testing.T) {
	var s []time.Duration
	for _, i := range rand.Perm(100) {
		s = append(s, time.Duration(i+1)*time.Millisecond)
	}
	got := Summarize(s)
	want := Summary{Count: 100, P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, P999: 100 * time.Millisecond, Max: 100 * time.Millisecond}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestEdgeCases(t *testing.T) {
	if got := Summarize(nil); got != (Summary{}) {
		t.Fatalf("empty: %+v", got)
	}
	if got := Summarize([]time.Duration{7}); got.P50 != 7 || got.P99 != 7 || got.Max != 7 {
		t.Fatalf("one sample: %+v", got)
	}
}
