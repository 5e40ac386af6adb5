package main

import (
	"context"
	"fmt"
	"log/slog"
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
	goTestTable(ctx, md, title, "bench/out/recording.md", "HUDDLE_BENCH_RECORDING", nil,
		"-run", "^TestRecordingCost$", "./bench/recording")
}
