package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/bench/internal/procstat"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// runConnect connects N sockets joined in rooms of two, then measures the
// server's memory per socket and idle CPU, and counts drops over the hold.
func runConnect(ctx context.Context, c config, log *slog.Logger, res *result) error {
	rssBefore, err := procstat.RSS(c.ServerPID)
	if err != nil {
		return err
	}
	var closing atomic.Bool
	var drops atomic.Int64
	opts := c.options()
	opts.OnDisconnect = func(_ *sioclient.Client, err error) {
		if !closing.Load() {
			drops.Add(1)
		}
	}
	salt := rand.Uint32()
	start := time.Now()
	p := dialAll(ctx, c.URL, c.N, c.Concurrency, func(int) sioclient.Options { return opts },
		func(i int, cl *sioclient.Client) error { return joinAck(ctx, cl, fmt.Sprintf("c%x-%d", salt, i/2)) })
	defer func() { closing.Store(true); p.closeAll() }()
	res.ConnectSeconds = time.Since(start).Seconds()
	res.Failed = int(p.failed.Load())
	res.Connected = c.N - res.Failed
	res.FirstError = p.firstError()
	log.Info("connected", "n", res.Connected, "failed", res.Failed, "seconds", res.ConnectSeconds)

	time.Sleep(2 * time.Second) // let the server settle before reading memory
	res.RSSBefore = rssBefore
	if res.RSSAfter, err = procstat.RSS(c.ServerPID); err != nil {
		return err
	}
	if res.Connected > 0 {
		res.RSSPerSocket = float64(res.RSSAfter-rssBefore) / float64(res.Connected)
	}

	holdStart := time.Now()
	m, err := startMeasure(c.ServerPID)
	if err != nil {
		return err
	}
	sleep(ctx, c.Idle)
	w, err := m.end(res)
	if err != nil {
		return err
	}
	res.IdleCPUPct = w.Percent(w.Server)
	log.Info("idle", "server_cpu_pct", res.IdleCPUPct)
	if rest := c.Hold - time.Since(holdStart); rest > 0 {
		sleep(ctx, rest)
	}
	res.HoldSeconds = time.Since(holdStart).Seconds()
	res.Drops = drops.Load()
	return ctx.Err()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
