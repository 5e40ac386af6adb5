package main

import (
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// clusterStep measures cluster mode (issue 17) with the tests in
// internal/server that start a real redis-server and the nodes
// (cluster_bench_test.go): a relayed round trip on one node and across
// two, side by side, with the Redis commands each costs; and the live heap
// per socket of three nodes against one. It appends their tables.
func clusterStep(ctx context.Context, md *strings.Builder, log *slog.Logger) {
	const title = "Cluster (internal/server TestClusterRelayLatency, TestClusterMemoryPerSocket)"
	if _, err := exec.LookPath("redis-server"); err != nil {
		fmt.Fprintf(md, "\n## %s\n\nredis-server is not installed (scripts/setup-test.sh installs it): skipped.\n", title)
		return
	}
	log.Info("step", "step", title)
	ctx, cancel := context.WithTimeout(ctx, 6*time.Minute)
	defer cancel()
	heaps, _ := filepath.Abs("bench/out/pprof/cluster") // go test runs in the package's directory
	goTestTable(ctx, md, title, "bench/out/cluster.md", "HUDDLE_CLUSTER_BENCH_OUT",
		[]string{"HUDDLE_CLUSTER_BENCH=1", "HUDDLE_CLUSTER_BENCH_RATE=1000", "HUDDLE_CLUSTER_BENCH_N=3000",
			"HUDDLE_CLUSTER_BENCH_SOCKETS=6000,7500,9500,12000", "HUDDLE_CLUSTER_BENCH_PPROF=" + heaps},
		"-run", "^TestCluster(RelayLatency|MemoryPerSocket)$", "./internal/server")
}
