package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"
)

// sfuStep runs bench/sfu (Huddle's SFU beside Galène, issue 13) and
// appends its tables as they are: they are markdown already.
func sfuStep(ctx context.Context, md *strings.Builder, log *slog.Logger) {
	const title = "SFU: Huddle and Galène (bench/sfu)"
	if !fileExists("bench/sfu/main.go") {
		fmt.Fprintf(md, "\n## %s\n\nbench/sfu is not there: skipped.\n", title)
		return
	}
	log.Info("step", "step", title)
	ctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	defer cancel()
	// Built first, so that compiling is not part of the first window.
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", "bench/out/sfu", "./bench/sfu").CombinedOutput(); err != nil {
		fmt.Fprintf(md, "\n## %s\n\nbuild failed: %v\n%s\n", title, err, out)
		return
	}
	// Three runs per server, alternating: the machine is shared, and a
	// neighbour's burst in one window moves one run's figures.
	cmd := exec.CommandContext(ctx, "bench/out/sfu", "-repeats", "3", "-pprof-dir", "bench/out/pprof/sfu")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	fmt.Fprintf(md, "\n## %s\n\n%s", title, out)
	if err != nil {
		fmt.Fprintf(md, "\n%s failed: %v\n", title, err)
	}
}
