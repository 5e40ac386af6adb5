package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// soakCycle is one row of the load generator's soak output; cycle 0 is the
// fresh server. Memory is in bytes, read after two forced collections.
type soakCycle struct {
	Cycle       int   `json:"cycle"`
	Connected   int   `json:"connected"`
	Failed      int   `json:"failed"`
	Goroutines  int   `json:"goroutines"`
	Threads     int   `json:"threads"`
	LiveHeap    int64 `json:"live_heap"`
	HeapObjects int64 `json:"heap_objects"`
	HeapFree    int64 `json:"heap_free"`
	Retained    int64 `json:"retained"`
	RSS         int64 `json:"rss"`
}

// soakBounds are what the soak allows. The zero value is not useful; use
// defaultSoakBounds.
//
// Both start at cycle 2: cycle 1 is the warm-up. Maps and buffers the
// first cycle grew for 10,000 sockets keep their size (Go's maps do not
// shrink), a one-time step from the fresh server, not a leak; a leak
// repeats every cycle and shows from cycle 2 on.
type soakBounds struct {
	// SlopePerCycle bounds the least-squares slope of the live heap over
	// cycles 2..N, as a fraction of cycle 2's live heap per cycle.
	SlopePerCycle float64
	// Growth bounds the last cycle's live heap over cycle 2's, as a
	// fraction of cycle 2's: it catches a slow leak over many cycles.
	Growth float64
}

var defaultSoakBounds = soakBounds{SlopePerCycle: 0.01, Growth: 0.10}

// errSoakTooShort: a trend needs two cycles after the warm-up.
var errSoakTooShort = errors.New("soak: need the baseline and at least 3 cycles")

// soakVerdict is the judgement of one soak run.
type soakVerdict struct {
	Slope      float64 // live heap bytes per cycle, least squares over cycles 2..N
	SlopeFrac  float64 // Slope / cycle 2's live heap
	Growth     float64 // last cycle's live heap / cycle 2's - 1
	HeapOK     bool
	Goroutines bool // every cycle ended at or below the baseline's goroutines
	Failed     int
	OK         bool
}

// judgeSoak applies b to cycles (cycles[0] is the baseline).
func judgeSoak(cycles []soakCycle, b soakBounds) (soakVerdict, error) {
	var v soakVerdict
	if len(cycles) < 4 || cycles[0].Cycle != 0 {
		return v, errSoakTooShort
	}
	trend := cycles[2:]
	xs, ys := make([]float64, len(trend)), make([]float64, len(trend))
	for i, c := range trend {
		xs[i], ys[i] = float64(c.Cycle), float64(c.LiveHeap)
	}
	ref := float64(trend[0].LiveHeap)
	v.Slope = slope(xs, ys)
	v.SlopeFrac = v.Slope / ref
	v.Growth = float64(trend[len(trend)-1].LiveHeap)/ref - 1
	v.HeapOK = v.SlopeFrac <= b.SlopePerCycle && v.Growth <= b.Growth
	v.Goroutines = true
	for _, c := range cycles[1:] {
		v.Failed += c.Failed
		if c.Goroutines > cycles[0].Goroutines {
			v.Goroutines = false
		}
	}
	v.OK = v.HeapOK && v.Goroutines && v.Failed == 0
	return v, nil
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var mx, my float64
	for i := range xs {
		mx += xs[i] / n
		my += ys[i] / n
	}
	var sxy, sxx float64
	for i := range xs {
		sxy += (xs[i] - mx) * (ys[i] - my)
		sxx += (xs[i] - mx) * (xs[i] - mx)
	}
	if sxx == 0 {
		return 0
	}
	return sxy / sxx
}

// soak is `make soak` (issue 6, issue 18): cycles of N sockets connecting,
// joining, exchanging and disconnecting against one Huddle. The verdict is
// the server's live heap after a forced GC (read from its pprof address),
// its goroutines and the failed connections; RSS is shown, not judged.
func soak(ctx context.Context, o options, log *slog.Logger) error {
	if o.SoakCycles < 3 {
		return fmt.Errorf("%w: got --soak-cycles %d", errSoakTooShort, o.SoakCycles)
	}
	// A short reconnect grace lets dropped participants go between cycles;
	// the load generator waits 5 s after each cycle.
	s, err := startServer(ctx, o, "huddle", "--reconnect-grace", "2s")
	if err != nil {
		return err
	}
	defer s.stop()
	if s.pprof == "" {
		return fmt.Errorf("soak: %s has no --pprof-addr, which the soak reads the live heap from", o.Huddle)
	}
	r, err := runLoad(ctx, o, s, "--mode", "soak", "--n", fmt.Sprint(o.SoakN), "--cycles", fmt.Sprint(o.SoakCycles),
		"--concurrency", "100", "--idle", "5s", "--debug-url", s.pprof, "--heap-dir", o.PprofDir)
	if err != nil {
		return err
	}
	if e := r.str("error"); e != "" {
		return fmt.Errorf("soak load: %s", e)
	}
	raw, _ := json.Marshal(r["cycles"])
	var cycles []soakCycle
	if err := json.Unmarshal(raw, &cycles); err != nil {
		return fmt.Errorf("soak: cycles %s: %w", raw, err)
	}
	v, err := judgeSoak(cycles, defaultSoakBounds)
	if err != nil {
		return err
	}
	report := soakReport(cycles, v, defaultSoakBounds, o.SoakN, time.Now())
	fmt.Print(report)
	_ = os.WriteFile(strings.TrimSuffix(o.Out, "results.md")+"soak.md", []byte(report), 0o644)
	if !v.OK {
		return fmt.Errorf("soak FAIL")
	}
	return nil
}

const mib = 1 << 20

// soakReport is bench/out/soak.md.
func soakReport(cycles []soakCycle, v soakVerdict, b soakBounds, n int, now time.Time) string {
	var md strings.Builder
	fmt.Fprintf(&md, "# Huddle soak\n\n%s: %d cycles of %d sockets; cycle 0 is the fresh server. Memory after two forced GCs.\n\n",
		now.UTC().Format(time.RFC3339), len(cycles)-1, n)
	md.WriteString("| cycle | connected | failed | goroutines | threads | live heap KiB | heap objects KiB | heap free MiB | Go retained MiB | RSS MiB |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, c := range cycles {
		fmt.Fprintf(&md, "| %d | %d | %d | %d | %d | %d | %d | %.1f | %.1f | %.1f |\n", c.Cycle, c.Connected, c.Failed, c.Goroutines, c.Threads,
			c.LiveHeap>>10, c.HeapObjects>>10, float64(c.HeapFree)/mib, float64(c.Retained)/mib, float64(c.RSS)/mib)
	}
	first, second, last := cycles[1], cycles[2], cycles[len(cycles)-1]
	fmt.Fprintf(&md, "\nlive heap: cycle 1 %d KiB, cycle 2 %d KiB, last %d KiB; trend over cycles 2..%d %+.1f KiB/cycle = %+.2f%% of cycle 2 per cycle (bound %.0f%%), cycle 2 to last %+.1f%% (bound %.0f%%): %s\n",
		first.LiveHeap>>10, second.LiveHeap>>10, last.LiveHeap>>10, last.Cycle,
		v.Slope/1024, 100*v.SlopeFrac, 100*b.SlopePerCycle, 100*v.Growth, 100*b.Growth, okWord(v.HeapOK))
	fmt.Fprintf(&md, "goroutines: baseline %d, cycles %d..%d, last %d (every cycle at or below the baseline: %s)\n",
		cycles[0].Goroutines, minGoroutines(cycles[1:]), maxGoroutines(cycles[1:]), last.Goroutines, okWord(v.Goroutines))
	fmt.Fprintf(&md, "failed connections: %d (%s)\n", v.Failed, okWord(v.Failed == 0))
	fmt.Fprintf(&md, "RSS (not judged): cycle 1 %.1f MiB, last %.1f MiB. RSS follows what the Go runtime retains, which includes freed heap its scavenger has not yet returned to the OS (heap free above; it returns it lazily, a few MiB at a time in the background) and the heap grown for the cycle's peak, so two RSS readings say little about a leak; the live heap after a forced GC does.\n",
		float64(first.RSS)/mib, float64(last.RSS)/mib)
	fmt.Fprintf(&md, "\n%s\n", map[bool]string{true: "PASS", false: "FAIL"}[v.OK])
	return md.String()
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "FAIL"
}

func minGoroutines(cs []soakCycle) int {
	m := cs[0].Goroutines
	for _, c := range cs {
		m = min(m, c.Goroutines)
	}
	return m
}

func maxGoroutines(cs []soakCycle) int {
	m := cs[0].Goroutines
	for _, c := range cs {
		m = max(m, c.Goroutines)
	}
	return m
}
