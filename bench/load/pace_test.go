package main

import (
	"testing"
	"time"
)

// TestPacerWaits checks that the pacer waits for its interval: an open
// loop whose pauses returned at once would spin, and one whose pauses
// never returned would send nothing. The upper bound is loose; it is not
// a timing test.
func TestPacerWaits(t *testing.T) {
	const interval, waits = 2 * time.Millisecond, 20
	p, err := newPacer(interval)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop()
	start := time.Now()
	for range waits {
		p.wait()
	}
	took := time.Since(start)
	if took < (waits-1)*interval || took > 5*time.Second {
		t.Fatalf("%d waits of %v took %v", waits, interval, took)
	}
}
