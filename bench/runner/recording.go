package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// recordingStep runs bench/recording (issue 16: the CPU and memory of
// recording N tracks and of composing one 720p file, per minute of
// meeting; under two minutes) and appends its tables, markdown already.
func recordingStep(ctx context.Context, md *strings.Builder, log *slog.Logger) {
	const title = "Server recording (bench/recording)"
	if !fileExists("bench/recording/recording_test.go") {
		fmt.Fprintf(md, "\n## %s\n\nbench/recording is not there: skipped.\n", title)
		return
	}
	log.Info("step", "step", title)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	out, err := filepath.Abs("bench/out/recording.md")
	if err != nil {
		fmt.Fprintf(md, "\n## %s\n\n%v\n", title, err)
		return
	}
	_ = os.Remove(out)
	cmd := exec.CommandContext(ctx, "go", "test", "-count=1", "-v", "-run", "^TestRecordingCost$", "-timeout", "5m", "./bench/recording")
	cmd.Env = append(os.Environ(), "HUDDLE_BENCH_RECORDING="+out)
	logs, runErr := cmd.CombinedOutput()
	table, err := os.ReadFile(out)
	if err != nil || runErr != nil {
		fmt.Fprintf(md, "\n## %s\n\nfailed: %v %v\n\n```\n%s\n```\n", title, runErr, err, tail(string(logs), 2000))
		return
	}
	md.Write(table)
}

// tail is the end of s, at most n bytes.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
