package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startSentinel starts a Redis Sentinel (redis-server --sentinel) that
// watches the master on masterPort as "huddle", alone (quorum 1), taking
// it for down after half a second, and waits until it knows the master's
// replica. It returns the Sentinel's port.
func startSentinel(t *testing.T, masterPort int) int {
	t.Helper()
	port := freePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf") // Sentinel rewrites it
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\nloglevel warning\n"+
		"sentinel monitor huddle 127.0.0.1 %d 1\nsentinel down-after-milliseconds huddle 500\n"+
		"sentinel failover-timeout huddle 5000\n", port, dir, masterPort)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", conf, "--sentinel")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = redisProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := redis.NewSentinelClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port)})
	t.Cleanup(func() { sc.Close() })
	waitFor(t, 15*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		replicas, err := sc.Replicas(ctx, "huddle").Result()
		return err == nil && len(replicas) > 0
	})
	return port
}

// A node given a Sentinel (?master_name=) follows the master it names:
// when the master is killed (kill -9) and the Sentinel promotes its
// replica, the node's room lease is renewed and its events flow through
// the new master, with no restart and no event lost from those sent
// during the failover.
func TestSentinelFailover(t *testing.T) {
	master := startRedis(t, "--repl-diskless-sync-delay", "0") // the replica syncs at once
	replica := startRedis(t, "--replicaof", "127.0.0.1", fmt.Sprint(master.port))
	waitFor(t, 10*time.Second, func() bool {
		info, err := replica.client().Info(context.Background(), "replication").Result()
		return err == nil && strings.Contains(info, "master_link_status:up")
	})
	sentinel := startSentinel(t, master.port)
	viaSentinel := func(cfg *Config) {
		cfg.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0?master_name=huddle", sentinel)
		// The lease outlives the failover (the Sentinel's half second to
		// call the master down, then the promotion).
		cfg.LeaseTTL, cfg.RenewInterval = 10*time.Second, 300*time.Millisecond
	}
	a, b := newNode(t, master, "a", viaSentinel), newNode(t, master, "b", viaSentinel)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lease, err := a.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	ch := b.Subscribe(ctx)
	publishN(t, a, "b", 1, 10)
	expectEvents(t, ch, "a", 1, 10)

	killed := time.Now()
	master.kill()
	publishN(t, a, "b", 11, 10) // during the failover: they wait in a's buffer
	expectEvents(t, ch, "a", 11, 10)
	flowing := time.Since(killed)
	info, err := replica.client().Info(ctx, "replication").Result()
	if err != nil || !strings.Contains(info, "role:master") {
		t.Fatalf("the replica was not promoted: %v\n%s", err, info)
	}
	if err := lease.Renew(ctx); err != nil {
		t.Fatalf("a's lease after the failover: %v", err)
	}
	if owner, _, err := b.Owner(ctx, "r"); err != nil || owner != "a" {
		t.Fatalf("owner after the failover %q, %v; want a", owner, err)
	}
	if _, err := b.Claim(ctx, "r2"); err != nil {
		t.Fatalf("a new room after the failover: %v", err)
	}
	expectNone(t, ch, 300*time.Millisecond)
	t.Logf("events flowing again %v after the master was killed", flowing.Round(10*time.Millisecond))
}
