package abuse

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// stormWorkers bounds the entries sent at once: enough to overlap the slow
// ones, few enough for a small machine.
const stormWorkers = 6

// TestStormLeavesServerHealthy sends the whole catalogue, each entry from
// fresh connections, while a separate meeting goes on. Each entry must get
// its reply; afterwards the meeting has lost nothing, the server is healthy
// and back to its resting goroutines and memory.
func TestStormLeavesServerHealthy(t *testing.T) {
	// Every connection comes from 127.0.0.1: no per-IP cap here (it has its
	// own test in e2e/compat/resilience.test.mjs).
	h := startHuddle(t, "--max-conns-per-ip", "0", "--max-participants-per-ip", "0", "--rooms-per-ip-per-minute", "0",
		"--max-sessions-per-ip", "0", "--max-tcp-per-ip", "0", "--log-level", "info")
	baseGoroutines, baseRSS := resting(t, h)
	t.Logf("baseline: %.0f goroutines, RSS %.1f MB", baseGoroutines, baseRSS/1e6)

	meet := startMeeting(t, h)
	entries := catalogue()
	t.Run("catalogue", func(t *testing.T) {
		runCatalogue(t, h, entries)
	})
	t.Logf("sent %d kinds of malformed input", len(entries))
	meet.finish(t)

	if !h.alive() {
		t.Fatalf("huddle died during the storm:\n%s", h.logs.tail(50))
	}
	if err := h.healthz(); err != nil {
		t.Fatalf("after the storm: %v", err)
	}
	for _, bad := range []string{"panic", "DATA RACE", "fatal error"} {
		if strings.Contains(h.logs.String(), bad) {
			t.Errorf("server output mentions %q:\n%s", bad, h.logs.tail(100))
		}
	}

	// Leak check: the connections are closed, so what they held must go.
	// Polling sessions left behind end at the ping timeout; the margin
	// covers the heartbeat goroutine they keep alive until then.
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var goroutines, rss float64
	err := eventually(ctx, 250*time.Millisecond, func() (bool, string) {
		var err error
		if goroutines, err = h.metric("go_goroutines"); err != nil {
			return false, err.Error()
		}
		return goroutines <= baseGoroutines+5, fmt.Sprintf("%.0f goroutines, baseline %.0f", goroutines, baseGoroutines)
	})
	if err != nil {
		t.Errorf("goroutines did not come back: %v", err)
	}
	limit := baseRSS*1.2 + 10e6
	err = eventually(ctx, 250*time.Millisecond, func() (bool, string) {
		var err error
		if rss, err = h.metric("process_resident_memory_bytes"); err != nil {
			return false, err.Error()
		}
		return rss <= limit, fmt.Sprintf("RSS %.1f MB, limit %.1f MB", rss/1e6, limit/1e6)
	})
	switch {
	case err != nil && raceServer():
		t.Logf("memory did not come back, not checked with a race-built server: %v", err)
	case err != nil:
		t.Errorf("memory did not come back: %v", err)
	}
	t.Logf("after: %.0f goroutines, RSS %.1f MB", goroutines, rss/1e6)
}

// resting waits for the server to settle after start and returns its
// goroutine count and resident memory.
func resting(t *testing.T, h *huddle) (goroutines, rss float64) {
	t.Helper()
	time.Sleep(200 * time.Millisecond)
	var err error
	if goroutines, err = h.metric("go_goroutines"); err != nil {
		t.Fatal(err)
	}
	if rss, err = h.metric("process_resident_memory_bytes"); err != nil {
		t.Fatal(err)
	}
	return goroutines, rss
}

// runCatalogue runs the entries a few at a time, the slow ones first, each
// as a subtest that logs what it sent and the reply it expected.
func runCatalogue(t *testing.T, h *huddle, entries []abuse) {
	work := make(chan abuse)
	var wg sync.WaitGroup
	for range stormWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				t.Run(e.name, func(t *testing.T) {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					if err := e.run(ctx, h); err != nil {
						t.Errorf("sent %s\nwant %v\ngot: %v", e.sends, e.want, err)
					}
				})
			}
		}()
	}
	for _, e := range slowFirst(entries) {
		work <- e
	}
	close(work)
	wg.Wait()
}

func slowFirst(entries []abuse) []abuse {
	out := make([]abuse, 0, len(entries))
	for _, e := range entries {
		if strings.Contains(e.name, "slowloris") {
			out = append(out, e)
		}
	}
	for _, e := range entries {
		if !strings.Contains(e.name, "slowloris") {
			out = append(out, e)
		}
	}
	return out
}

// minCatalogue is the number of kinds of malformed input the README
// promises ("at least 190"); the catalogue may grow, never shrink below it.
const minCatalogue = 190

// TestCatalogueIsATable keeps the catalogue honest: every entry says what
// it sends and what it expects, and names are unique (subtests are found by
// name).
func TestCatalogueIsATable(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range catalogue() {
		if e.name == "" || e.sends == "" || e.want.String() == "" || e.run == nil {
			t.Errorf("incomplete entry %q", e.name)
		}
		if seen[e.name] {
			t.Errorf("duplicate entry %q", e.name)
		}
		seen[e.name] = true
		t.Logf("%-58s | %-70s | %v", e.name, e.sends, e.want)
	}
	if len(seen) < minCatalogue {
		t.Errorf("only %d entries; the README promises at least %d", len(seen), minCatalogue)
	}
}
