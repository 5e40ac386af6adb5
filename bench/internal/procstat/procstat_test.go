package procstat

import (
	"os"
	"testing"
	"time"
)

func TestOwnProcess(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSS %d, %v: want at least 1 MiB", rss, err)
	}
	before, err := Take(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// Burn some CPU so the counters must move (they tick every 10 ms).
	deadline := time.Now().Add(200 * time.Millisecond)
	x := 0
	for time.Now().Before(deadline) {
		x++
	}
	after, err := Take(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	w := after.Since(before)
	// Server and Self are the same process read one after the other, so
	// they may differ by a clock tick or two.
	if d := w.Server - w.Self; w.Self < 50*time.Millisecond || d < -20*time.Millisecond || d > 20*time.Millisecond {
		t.Fatalf("window %+v: want >= 50ms of own CPU", w)
	}
	if p := w.Percent(w.Self); p < 25 || p > 110 {
		t.Fatalf("own CPU %.0f%% of a core over a busy loop", p)
	}
}

func TestMissingProcess(t *testing.T) {
	if _, err := CPU(1 << 30); err == nil {
		t.Fatal("no error for a missing pid")
	}
}
