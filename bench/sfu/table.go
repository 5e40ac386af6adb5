package main

import (
	"fmt"
	"strings"
	"time"
)

// Targets of issue 13.
const (
	targetCPURatio  = 0.5     // Huddle's CPU per forwarded packet over Galène's, at most
	targetPktPerCPU = 200_000 // forwarded packets per server CPU-second, at least
)

// writeTable prints one scenario, Huddle and Galène side by side.
func writeTable(md *strings.Builder, sc scenario, res map[string]*result) {
	h, g := res["huddle"], res["galene"]
	fmt.Fprintf(md, "\n### %s\n\n", sc.title)
	md.WriteString("| figure | Huddle | Galène | ratio H/G | target |\n|---|---:|---:|---:|---|\n")
	type getter func(r *result) (float64, string)
	row := func(figure string, get getter, target string, pass func(h, g float64) bool) {
		cell := func(r *result) (float64, string, bool) {
			if r == nil || (r.err != "" && r.participants == 0) {
				return 0, "–", false
			}
			v, s := get(r)
			return v, s, true
		}
		hv, hs, hok := cell(h)
		gv, gs, gok := cell(g)
		ratio := ""
		if hok && gok && gv != 0 {
			ratio = fmt.Sprintf("%.2fx", hv/gv)
		}
		if pass != nil && hok {
			if pass(hv, gv) && (gok || !strings.Contains(target, "x")) {
				target += " ✅"
			} else {
				target += " ❌"
			}
		}
		fmt.Fprintf(md, "| %s | %s | %s | %s | %s |\n", figure, hs, gs, ratio, target)
	}
	num := func(f func(r *result) float64, format string) getter {
		return func(r *result) (float64, string) { v := f(r); return v, fmt.Sprintf(format, v) }
	}
	ms := func(f func(r *result) time.Duration) getter {
		return func(r *result) (float64, string) {
			d := f(r)
			if d < 0 {
				return 0, "never"
			}
			return float64(d) / 1e6, fmt.Sprintf("%.2f ms", float64(d)/1e6)
		}
	}
	row("participants joined (receiving)", func(r *result) (float64, string) {
		return float64(r.participants), fmt.Sprintf("%d (%d)", r.participants, r.subscribers)
	}, "", nil)
	row("(receiver, track) pairs flowing", func(r *result) (float64, string) {
		return float64(r.pairs), fmt.Sprintf("%d / %d", r.pairs, r.pairsWanted)
	}, "", nil)
	row("forwarded packets/s", num(func(r *result) float64 { return r.fwdPerSec }, "%.0f"), "", nil)
	row("server CPU", num(func(r *result) float64 { return r.serverCPU }, "%.0f %% core"), "", nil)
	row("**server CPU per forwarded packet**", num(func(r *result) float64 { return r.cpuPerPkt }, "%.2f µs"),
		"≤ 0.5x", func(h, g float64) bool { return g > 0 && h <= targetCPURatio*g })
	row("**forwarded packets per server CPU-second**", num(func(r *result) float64 { return r.pktPerCPUs }, "%.0f"),
		"≥ 200,000", func(h, _ float64) bool { return h >= targetPktPerCPU })
	opt := func(f func(r *result) float64, format string) getter {
		return func(r *result) (float64, string) {
			v := f(r)
			if v < 0 {
				return 0, "–"
			}
			return v, fmt.Sprintf(format, v)
		}
	}
	row("server send system calls per forwarded packet", opt(func(r *result) float64 { return r.sendsPerPkt }, "%.2f"), "< 0.2 at fan-out ≥ 16", nil)
	row("server heap allocations per forwarded packet", opt(func(r *result) float64 { return r.mallocsPerPkt }, "%.2f"), "0", nil)
	row("server memory per receiving participant", num(func(r *result) float64 { return r.rssPerSub / 1024 }, "%.0f KiB"), "", nil)
	row("packet loss", num(func(r *result) float64 { return r.loss }, "%.2f %%"), "", nil)
	row("UDP drops at full receive buffers: server's sockets", num(func(r *result) float64 { return float64(r.srvDrops) }, "%.0f"), "", nil)
	row("UDP drops at full receive buffers: generator's sockets", num(func(r *result) float64 { return float64(r.genDrops) }, "%.0f"), "", nil)
	row("latency through the server p50", ms(func(r *result) time.Duration { return r.latP50 }), "", nil)
	row("latency through the server p99", ms(func(r *result) time.Duration { return r.latP99 }), "", nil)
	row("join to first forwarded packet p50", ms(func(r *result) time.Duration { return r.firstP50 }), "", nil)
	row("join to first forwarded packet p95", ms(func(r *result) time.Duration { return r.firstP95 }), "", nil)
	row("join to first keyframe p50", ms(func(r *result) time.Duration { return r.keyP50 }), "", nil)
	row("join to first keyframe p95", ms(func(r *result) time.Duration { return r.keyP95 }), "", nil)
	row("generator CPU (must stay under ~85 %)", num(func(r *result) float64 { return r.genCPU }, "%.0f %% core"), "", nil)
	row("noise: other processes' CPU", num(func(r *result) float64 { return r.noiseCPU }, "%.0f %% core"), "", nil)
	for _, name := range []string{"huddle", "galene"} {
		if r := res[name]; r != nil && r.err != "" {
			fmt.Fprintf(md, "\n%s: %s\n", name, r.err)
		}
	}
}

// writeRuns lists every run's CPU per forwarded packet and loss under a
// repeated scenario's table.
func writeRuns(md *strings.Builder, servers []string, runs map[string][]*result) {
	md.WriteString("\nEvery run (servers alternating), CPU per forwarded packet / loss / join to first keyframe p50:")
	for _, name := range servers {
		var v []string
		for _, r := range runs[name] {
			v = append(v, fmt.Sprintf("%.2f µs / %.2f %% / %.0f ms", r.cpuPerPkt, r.loss, float64(r.keyP50)/float64(time.Millisecond)))
		}
		fmt.Fprintf(md, " %s %s;", name, strings.Join(v, ", "))
	}
	md.WriteString(" the table shows each server's median run, leaving out runs that lost more than 1 % when one did not.\n")
}
