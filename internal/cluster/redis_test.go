package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisServer is a redis-server started by a test on a free loopback port,
// with no persistence, killed at the end of the test.
type redisServer struct {
	t    *testing.T
	port int
	dir  string
	args []string // more of redis-server's options (a replica's --replicaof)
	cmd  *exec.Cmd
}

func (r *redisServer) URL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// startRedis starts a redis-server, or skips the test if there is none.
func startRedis(t *testing.T, args ...string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (scripts/setup-test.sh installs it): skipping cluster test")
	}
	r := &redisServer{t: t, port: freePort(t), dir: t.TempDir(), args: args}
	r.start()
	t.Cleanup(r.kill)
	return r
}

// freePort is a loopback TCP port free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start runs redis-server on r's port and waits until it answers.
func (r *redisServer) start() {
	r.t.Helper()
	cmd := exec.Command("redis-server", append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"}, r.args...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = redisProcAttr()
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.cmd = cmd
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port), MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill sends SIGKILL (kill -9) and reaps the process.
func (r *redisServer) kill() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

func (r *redisServer) signal(sig syscall.Signal) {
	if r.cmd != nil {
		_ = r.cmd.Process.Signal(sig)
	}
}

// client is a plain client for checking keys directly.
func (r *redisServer) client() *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	r.t.Cleanup(func() { c.Close() })
	return c
}

// testConfig is quick timings for tests.
func testConfig(r *redisServer, id string) Config {
	return Config{
		RedisURL:          r.URL(),
		NodeID:            id,
		NodeURL:           "http://" + id + ".test",
		HeartbeatInterval: 50 * time.Millisecond,
		NodeTTL:           300 * time.Millisecond,
		LeaseTTL:          600 * time.Millisecond,
		RenewInterval:     150 * time.Millisecond,
		OpTimeout:         time.Second,
		StreamBlock:       200 * time.Millisecond,
	}
}

func newNode(t *testing.T, r *redisServer, id string, mod ...func(*Config)) *Cluster {
	t.Helper()
	cfg := testConfig(r, id)
	for _, m := range mod {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
