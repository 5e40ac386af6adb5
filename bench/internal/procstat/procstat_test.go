package procstat

import (
	"os"
	"syscall"
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
	// Burn CPU until the kernel has counted 100 ms of it (the counters
	// tick every 10 ms): on a loaded machine that takes longer than 100 ms
	// of wall time, so it is measured, not assumed.
	start := ownCPU(t)
	x := 0
	for deadline := time.Now().Add(10 * time.Second); ownCPU(t)-start < 100*time.Millisecond && time.Now().Before(deadline); {
		for i := 0; i < 1_000_000; i++ {
			x++
		}
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
	if p := w.Percent(w.Self); p <= 0 || p > 110 {
		t.Fatalf("own CPU %.0f%% of a core over a busy loop", p)
	}
}

func TestMissingProcess(t *testing.T) {
	if _, err := CPU(1 << 30); err == nil {
		t.Fatal("no error for a missing pid")
	}
}

// ownCPU is this process's user and system time as getrusage counts it.
func ownCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
