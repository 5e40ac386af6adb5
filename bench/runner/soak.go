package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// soak is `make soak` (issue 6): cycles of N sockets connecting, joining,
// exchanging and disconnecting against one Huddle; the server's goroutines
// and memory after the last cycle must be within 10% of the first.
func soak(ctx context.Context, o options, log *slog.Logger) error {
	// A short reconnect grace lets dropped participants go between cycles;
	// the load generator waits 5 s after each cycle.
	s, err := startServer(ctx, o, "huddle", "--reconnect-grace", "2s")
	if err != nil {
		return err
	}
	defer s.stop()
	r, err := runLoad(ctx, o, s, "--mode", "soak", "--n", fmt.Sprint(o.SoakN), "--cycles", fmt.Sprint(o.SoakCycles),
		"--concurrency", "100", "--idle", "5s")
	if err != nil {
		return err
	}
	if e := r.str("error"); e != "" {
		return fmt.Errorf("soak load: %s", e)
	}
	raw, _ := json.Marshal(r["cycles"])
	var cycles []struct {
		Cycle, Connected, Failed, Goroutines int
		RSS                                  int64
	}
	if err := json.Unmarshal(raw, &cycles); err != nil || len(cycles) < 2 {
		return fmt.Errorf("soak: need at least 2 cycles, got %s", raw)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Huddle soak\n\n%s: %d cycles of %d sockets.\n\n| cycle | connected | failed | goroutines | RSS MiB |\n|---:|---:|---:|---:|---:|\n",
		time.Now().UTC().Format(time.RFC3339), len(cycles), o.SoakN)
	for _, c := range cycles {
		fmt.Fprintf(&md, "| %d | %d | %d | %d | %.1f |\n", c.Cycle, c.Connected, c.Failed, c.Goroutines, float64(c.RSS)/(1<<20))
	}
	base, last := cycles[0], cycles[len(cycles)-1]
	within := func(a, b float64) bool { return b <= a*1.10 }
	gOK := within(float64(base.Goroutines), float64(last.Goroutines))
	mOK := within(float64(base.RSS), float64(last.RSS))
	failed := 0
	for _, c := range cycles {
		failed += c.Failed
	}
	fmt.Fprintf(&md, "\ngoroutines: baseline %d, final %d (%s)\nRSS: baseline %.1f MiB, final %.1f MiB (%s)\nfailed connections: %d\n",
		base.Goroutines, last.Goroutines, verdict(gOK), float64(base.RSS)/(1<<20), float64(last.RSS)/(1<<20), verdict(mOK), failed)
	ok := gOK && mOK && failed == 0
	fmt.Fprintf(&md, "\n%s\n", map[bool]string{true: "PASS", false: "FAIL"}[ok])
	fmt.Print(md.String())
	_ = os.WriteFile(strings.TrimSuffix(o.Out, "results.md")+"soak.md", []byte(md.String()), 0o644)
	if !ok {
		return fmt.Errorf("soak FAIL")
	}
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "within 10%"
	}
	return "grew more than 10%"
}
