package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startReference runs bench/reference/server.mjs with generous limits.
func startReference(t *testing.T) (url string, pid int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	script, _ := filepath.Abs("../reference/server.mjs")
	cmd := exec.Command("node", script, "--port", fmt.Sprint(port), "--events-per-second", "100000", "--event-burst", "100000")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("node: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url = fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(url + "/healthz"); err == nil {
			res.Body.Close()
			return url, cmd.Process.Pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("reference server did not start:\n%s", out.String())
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// The modes run end to end against the real reference server, small and
// short; the checks are on correctness, not speed.
func TestModesAgainstReference(t *testing.T) {
	url, pid := startReference(t)
	base := config{URL: url, ServerPID: pid, Transport: "websocket", N: 20, Concurrency: 4,
		Idle: 300 * time.Millisecond, Duration: 500 * time.Millisecond, Warmup: 200 * time.Millisecond, Cycles: 2}
	ctx := context.Background()

	t.Run("connect", func(t *testing.T) {
		res := result{}
		if err := runConnect(ctx, base, quiet(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Connected != 20 || res.Failed != 0 || res.Drops != 0 || res.RSSAfter <= 0 {
			t.Fatalf("%+v", res)
		}
	})
	for _, rate := range []float64{0, 200} {
		t.Run(fmt.Sprintf("relay rate %v", rate), func(t *testing.T) {
			c := base
			c.Rate = rate
			res := result{}
			if err := runRelay(ctx, c, quiet(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Roundtrips == 0 || res.Lost != 0 || res.Misrouted != 0 || res.RTTp50ms <= 0 || res.RTTp99ms < res.RTTp50ms {
				t.Fatalf("%+v", res)
			}
			if rate > 0 && (res.RoundtripsPerS < rate/2 || res.RoundtripsPerS > rate*1.5) {
				t.Fatalf("open loop at %v/s measured %v/s", rate, res.RoundtripsPerS)
			}
		})
	}
	t.Run("setup", func(t *testing.T) {
		c := base
		c.Concurrency = 2
		res := result{}
		if err := runSetup(ctx, c, quiet(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Setups == 0 || res.SetupFailures != 0 || res.SetupP50ms <= 0 {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("polling connect", func(t *testing.T) {
		c := base
		c.Transport = "polling"
		c.N = 6
		res := result{}
		if err := runConnect(ctx, c, quiet(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Connected != 6 || res.Drops != 0 {
			t.Fatalf("%+v", res)
		}
	})
}

// A relay to a peer in another room must be refused by the server, and the
// load generator must report it rather than count it as relayed.
func TestSetupDetectsRefusal(t *testing.T) {
	url, _ := startReference(t)
	err := setupOnce(context.Background(), url, (config{Transport: "websocket"}).options(), "bad room id!")
	if err == nil || !strings.Contains(err.Error(), "invalid-room") {
		t.Fatalf("setup into an invalid room: %v", err)
	}
}
