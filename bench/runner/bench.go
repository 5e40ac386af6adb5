package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// step is one benchmark run against each server.
type step struct {
	name  string
	args  func(server string) []string
	cpuPr bool // profile Huddle's CPU in a second run of the step
	// repeats runs the step this many times per server, alternating
	// servers, and keeps each server's run with the median of medianOf.
	repeats  int
	medianOf string
}

func steps(o options) []step {
	d := fmt.Sprintf("%ds", int(o.Duration.Seconds()))
	idle := "10s"
	if o.Quick {
		idle = "3s"
	}
	return []step{
		{name: "connect", args: func(srv string) []string {
			hold := "0s"
			if srv == "huddle" {
				hold = o.Hold.String()
			}
			return []string{"--mode", "connect", "--n", fmt.Sprint(o.ConnectN), "--concurrency", "100", "--idle", idle, "--hold", hold}
		}},
		{name: "relay-closed", cpuPr: true, args: func(string) []string {
			return []string{"--mode", "relay", "--n", fmt.Sprint(o.ClosedN), "--duration", d, "--warmup", "2s"}
		}},
		// Repeated: the machine stalls a core for 15-30 ms every ~3 s
		// (bench/README.md), and whether a 10 s window holds 3 or 4 of
		// them moves either server's p99 by 2x.
		{name: "relay-open", cpuPr: true, repeats: o.OpenRepeats, medianOf: "rtt_p99_ms", args: func(string) []string {
			return []string{"--mode", "relay", "--n", fmt.Sprint(o.OpenN), "--rate", fmt.Sprint(o.Rate), "--duration", d, "--warmup", "2s", "--concurrency", "100"}
		}},
		{name: "setup", cpuPr: true, args: func(string) []string {
			return []string{"--mode", "setup", "--concurrency", "16", "--duration", d, "--warmup", "2s"}
		}},
	}
}

// results[step][server]
type results map[string]map[string]loadResult

func bench(ctx context.Context, o options, log *slog.Logger) error {
	servers := strings.Split(o.Servers, ",")
	_ = os.RemoveAll(o.PprofDir) // no stale profiles from an earlier run
	res := results{}
	var errs []string
	var notes []string
	for _, st := range steps(o) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		runs, stepErrs := runRepeated(ctx, o, st, servers, log)
		errs = append(errs, stepErrs...)
		res[st.name] = map[string]loadResult{}
		for _, name := range servers {
			if len(runs[name]) > 0 {
				res[st.name][name] = medianRun(runs[name], st.medianOf)
			}
		}
		if st.repeats > 1 {
			notes = append(notes, repeatsNote(st, servers, runs))
		}
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Huddle benchmark\n\n%s, %d cores, Go %s. Server pinned to core 0, load generator to core 1; fresh server per step.\n\n",
		time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), runtime.Version())
	writeTable(&md, o, res)
	for _, n := range notes {
		md.WriteString("\n" + n + "\n")
	}
	if len(errs) > 0 {
		md.WriteString("\n## Errors\n\n")
		for _, e := range errs {
			fmt.Fprintf(&md, "- %s\n", e)
		}
	}
	extraSteps(ctx, &md, log)
	if _, err := os.Stat(o.PprofDir); err == nil {
		fmt.Fprintf(&md, "\nHuddle CPU profiles: %s (go tool pprof -top bin/huddle FILE)\n", o.PprofDir)
	} else {
		md.WriteString("\nNo Huddle profiles captured (Huddle not run, or its binary has no --pprof-addr flag).\n")
	}
	fmt.Print(md.String())
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(o.Out, []byte(md.String()), 0o644)
}

// runRepeated runs st against each server, st.repeats times with the
// servers alternating, and returns the runs by server and what failed.
func runRepeated(ctx context.Context, o options, st step, servers []string, log *slog.Logger) (map[string][]loadResult, []string) {
	runs := map[string][]loadResult{}
	var errs []string
	for rep := range max(st.repeats, 1) {
		for _, name := range servers {
			if ctx.Err() != nil {
				return runs, errs
			}
			log.Info("step", "step", st.name, "server", name, "run", rep+1)
			r, err := runStep(ctx, o, st, name, false)
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s on %s: %v", st.name, name, err))
				continue
			}
			if rep == 0 {
				profileStep(ctx, o, st, name, log)
			}
			if e := r.str("error"); e != "" {
				errs = append(errs, fmt.Sprintf("%s on %s: %s", st.name, name, e))
			}
			runs[name] = append(runs[name], r)
		}
	}
	return runs, errs
}

// profileStep profiles Huddle's CPU in a run of its own: the profiler's
// signals would otherwise cost Huddle CPU and latency the reference,
// unprofiled, does not pay.
func profileStep(ctx context.Context, o options, st step, name string, log *slog.Logger) {
	if !st.cpuPr || name != "huddle" {
		return
	}
	log.Info("profiling", "step", st.name, "server", name)
	if _, err := runStep(ctx, o, st, name, true); err != nil {
		log.Warn("profiling run failed", "step", st.name, "err", err)
	}
}

// medianRun returns the run with the median value of key (the lower
// middle one of an even count); with no key, the first run.
func medianRun(runs []loadResult, key string) loadResult {
	if key == "" {
		return runs[0]
	}
	sorted := slices.Clone(runs)
	slices.SortStableFunc(sorted, func(a, b loadResult) int { return cmp.Compare(a.num(key), b.num(key)) })
	return sorted[(len(sorted)-1)/2]
}

// repeatsNote lists every run's figure of a repeated step under the table.
func repeatsNote(st step, servers []string, runs map[string][]loadResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d runs per server, servers alternating; the table shows each server's run with the median %s. Every run's %s:",
		st.name, st.repeats, st.medianOf, st.medianOf)
	for _, name := range servers {
		var vals []string
		for _, r := range runs[name] {
			vals = append(vals, fmt.Sprintf("%.2f", r.num(st.medianOf)))
		}
		fmt.Fprintf(&b, " %s %s;", name, strings.Join(vals, ", "))
	}
	return strings.TrimSuffix(b.String(), ";") + "."
}

// runStep runs one step against a fresh server, profiling its CPU when
// withProfile is set.
func runStep(ctx context.Context, o options, st step, name string, withProfile bool) (loadResult, error) {
	s, err := startServer(ctx, o, name)
	if err != nil {
		return nil, err
	}
	defer s.stop()
	wait := func() {}
	if withProfile {
		wait = profile(o, s, st.name, "cpu", int((2*time.Second+o.Duration).Seconds())+5)
	}
	r, err := runLoad(ctx, o, s, st.args(name)...)
	wait()
	return r, err
}

// row is one line of the table.
type row struct {
	figure   string
	h, r     float64
	hOK, rOK bool // the server ran the step
	unit     string
	ratio    bool   // the target is on Huddle/reference
	target   string // shown as is
	pass     func(h, r float64) bool
	digits   int
}

func writeTable(md *strings.Builder, o options, res results) {
	// get reads a figure; "a+b" sums two.
	get := func(step, srv, key string) (float64, bool) {
		r, ok := res[step][srv]
		if !ok {
			return 0, false
		}
		sum := 0.0
		for _, k := range strings.Split(key, "+") {
			sum += r.num(k)
		}
		return sum, true
	}
	mk := func(figure, step, key string, scale float64, unit string, digits int) row {
		h, hok := get(step, "huddle", key)
		r, rok := get(step, "reference", key)
		return row{figure: figure, h: h * scale, r: r * scale, hOK: hok, rOK: rok, unit: unit, digits: digits}
	}
	withTarget := func(x row, ratio bool, target string, pass func(h, r float64) bool) row {
		x.ratio, x.target, x.pass = ratio, target, pass
		return x
	}
	perCPU := func(figure, step, key string) row {
		// a per-second figure divided by the server's CPU share
		x := mk(figure, step, key, 1, "/CPU-s", 0)
		hc, _ := get(step, "huddle", "server_cpu_pct")
		rc, _ := get(step, "reference", "server_cpu_pct")
		if hc > 0 {
			x.h = x.h / (hc / 100)
		}
		if rc > 0 {
			x.r = x.r / (rc / 100)
		}
		return x
	}
	n := float64(o.ConnectN)
	rows := []row{
		{figure: fmt.Sprintf("**connect %d sockets (rooms of 2)**", o.ConnectN)},
		withTarget(mk("sockets connected and joined", "connect", "connected", 1, "", 0), false, fmt.Sprintf("all %d", o.ConnectN), func(h, _ float64) bool { return h == n }),
		mk("time to connect all", "connect", "connect_seconds", 1, "s", 1),
		withTarget(mk("server memory per socket", "connect", "rss_per_socket", 1.0/1024, "KiB", 1), true, "≤ 0.33x", func(h, r float64) bool { return h <= r/3 }),
		withTarget(mk("server CPU while idle", "connect", "idle_cpu_pct", 1, "% core", 2), false, "< 2%", func(h, _ float64) bool { return h < 2 }),
		withTarget(mk(fmt.Sprintf("drops during the hold (Huddle %s)", o.Hold), "connect", "drops", 1, "", 0), false, "0", func(h, _ float64) bool { return h == 0 }),
		mk("noise: other processes' CPU", "connect", "noise_cpu_pct", 1, "% core", 0),

		{figure: fmt.Sprintf("**relay, closed loop, %d sockets**", o.ClosedN)},
		mk("round trips/s (raw)", "relay-closed", "roundtrips_per_s", 1, "/s", 0),
		perCPU("round trips per server CPU-second", "relay-closed", "roundtrips_per_s"),
		withTarget(mk("server CPU per relayed message", "relay-closed", "server_cpu_us_per_msg", 1, "µs", 1), true, "≤ 0.33x", func(h, r float64) bool { return h <= r/3 }),
		mk("RTT p50", "relay-closed", "rtt_p50_ms", 1, "ms", 2),
		mk("RTT p99", "relay-closed", "rtt_p99_ms", 1, "ms", 2),
		withTarget(mk("lost + misrouted", "relay-closed", "lost+misrouted", 1, "", 0), false, "0", func(h, r float64) bool { return h == 0 }),
		mk("server CPU", "relay-closed", "server_cpu_pct", 1, "% core", 0),
		mk("load generator CPU", "relay-closed", "load_cpu_pct", 1, "% core", 0),
		mk("noise: other processes' CPU", "relay-closed", "noise_cpu_pct", 1, "% core", 0),

		{figure: fmt.Sprintf("**relay, open loop, %d sockets at %.0f round trips/s**", o.OpenN, o.Rate)},
		mk("round trips/s achieved", "relay-open", "roundtrips_per_s", 1, "/s", 0),
		withTarget(mk("RTT p50", "relay-open", "rtt_p50_ms", 1, "ms", 3), false, "< 1 ms", func(h, _ float64) bool { return h < 1 }),
		mk("RTT p90", "relay-open", "rtt_p90_ms", 1, "ms", 3),
		withTarget(mk("RTT p99", "relay-open", "rtt_p99_ms", 1, "ms", 3), true, "≤ 0.25x", func(h, r float64) bool { return h <= r/4 }),
		mk("RTT max", "relay-open", "rtt_max_ms", 1, "ms", 1),
		withTarget(mk("lost + misrouted", "relay-open", "lost+misrouted", 1, "", 0), false, "0", func(h, r float64) bool { return h == 0 }),
		mk("server CPU per relayed message", "relay-open", "server_cpu_us_per_msg", 1, "µs", 1),
		mk("load generator's own send lag p99", "relay-open", "send_lag_p99_ms", 1, "ms", 3),
		mk("noise: other processes' CPU", "relay-open", "noise_cpu_pct", 1, "% core", 0),

		{figure: "**call setup (fresh connections, join, 3 KB offer/answer, 8+8 candidates), 16 in flight**"},
		mk("setups/s (raw)", "setup", "setups_per_s", 1, "/s", 0),
		withTarget(mk("setups per server CPU-second", "setup", "setups_per_cpu_s", 1, "", 0), true, "≥ 3x", func(h, r float64) bool { return h >= 3*r }),
		mk("setup time p50", "setup", "setup_p50_ms", 1, "ms", 1),
		mk("setup time p99", "setup", "setup_p99_ms", 1, "ms", 1),
		mk("server CPU", "setup", "server_cpu_pct", 1, "% core", 0),
		mk("noise: other processes' CPU", "setup", "noise_cpu_pct", 1, "% core", 0),
	}
	md.WriteString("| figure | Huddle | reference | ratio H/R | target |\n|---|---:|---:|---:|---|\n")
	for _, x := range rows {
		if strings.HasPrefix(x.figure, "**") {
			fmt.Fprintf(md, "| %s | | | | |\n", x.figure)
			continue
		}
		cell := func(v float64, ok bool) string {
			if !ok {
				return "–"
			}
			return strings.TrimSpace(fmt.Sprintf("%.*f %s", x.digits, v, x.unit))
		}
		ratio := ""
		if x.hOK && x.rOK && x.r != 0 {
			ratio = fmt.Sprintf("%.2fx", x.h/x.r)
		}
		target := x.target
		if x.pass != nil && x.hOK && (x.rOK || !x.ratio) {
			if x.pass(x.h, x.r) {
				target += " ✅"
			} else {
				target += " ❌"
			}
		}
		fmt.Fprintf(md, "| %s | %s | %s | %s | %s |\n", x.figure, cell(x.h, x.hOK), cell(x.r, x.rOK), ratio, target)
	}
	md.WriteString("\nRatios are Huddle/reference. \"per server CPU-second\" divides a rate by the server's measured CPU share, so it does not depend on how busy the machine was; \"noise\" is the CPU other processes used during the measured window (from /proc/stat, less the server and the load generator).\n")
}

// extraSteps runs the TURN, SFU and browser benchmarks when their owners have
// written them, and appends what they print.
func extraSteps(ctx context.Context, md *strings.Builder, log *slog.Logger) {
	run := func(title string, timeout time.Duration, name string, args ...string) []byte {
		log.Info("step", "step", title)
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		fmt.Fprintf(md, "\n## %s\n\n```\n%s```\n", title, out)
		if err != nil {
			fmt.Fprintf(md, "\n%s failed: %v\n", title, err)
		}
		return out
	}
	switch {
	case fileExists("bench/turn/run.sh"):
		run("TURN relay (bench/turn)", 5*time.Minute, "bench/turn/run.sh")
	case fileExists("bench/turn/main.go"):
		run("TURN relay (bench/turn)", 5*time.Minute, "go", "run", "./bench/turn")
	default:
		md.WriteString("\n## TURN relay\n\nbench/turn is not there yet: skipped.\n")
	}
	sfuStep(ctx, md, log)
	clusterStep(ctx, md, log)
	recordingStep(ctx, md, log)
	// The browser step prints its figure as a test diagnostic line; the
	// README's target (median under 500 ms) is judged here, where timing
	// belongs, not in make test.
	out := run("Browser: Join to first remote frame (e2e/browser/join-latency.test.mjs)", 10*time.Minute,
		"env", "HUDDLE_LATENCY_CALLS=10", "node", "--test", "--test-reporter=tap", "e2e/browser/join-latency.test.mjs")
	md.WriteString(joinLatencyVerdict(out))
}

// joinLatencyTargets are the targets for the median time from Join to a
// frame of every other participant, by case (see join-latency.test.mjs):
// the README's for a call of two, the SFU issue's through the SFU.
var joinLatencyTargets = []struct {
	what   string
	median float64 // ms
}{
	{"2nd of 2, peer to peer", 500},
	{"3rd of 3, mesh", 0},
	{"3rd of 3, SFU", 400},
}

// joinLatencyMax is the longest any joiner may wait, in every case.
const joinLatencyMax = 1000.0 // ms

var joinLatencyLine = regexp.MustCompile(`join-to-first-remote-frame \(([^)]+)\): median (\d+) ms, p90 (\d+) ms, max (\d+) ms`)

// joinLatencyVerdict reads the browser step's figures and says, per case,
// whether they meet the targets; a case that printed none fails.
func joinLatencyVerdict(out []byte) string {
	got := map[string][3]float64{}
	for _, m := range joinLatencyLine.FindAllSubmatch(out, -1) {
		var f [3]float64
		for i := range f {
			f[i], _ = strconv.ParseFloat(string(m[i+2]), 64)
		}
		got[string(m[1])] = f
	}
	var b strings.Builder
	b.WriteString("\n| Join to a frame of everyone | median | p90 | max | target |\n| --- | --- | --- | --- | --- |\n")
	for _, tc := range joinLatencyTargets {
		f, ok := got[tc.what]
		if !ok {
			fmt.Fprintf(&b, "| %s | none printed | | | ❌ |\n", tc.what)
			continue
		}
		mark, target := "✅", fmt.Sprintf("max < %.0f ms", joinLatencyMax)
		if tc.median > 0 {
			target = fmt.Sprintf("median < %.0f ms, ", tc.median) + target
		}
		if (tc.median > 0 && f[0] >= tc.median) || f[2] >= joinLatencyMax {
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %s | %.0f ms | %.0f ms | %.0f ms | %s %s |\n", tc.what, f[0], f[1], f[2], target, mark)
	}
	return b.String()
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
