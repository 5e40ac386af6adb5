package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/bench/internal/procstat"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// cycleStat is the server's state after one soak cycle.
type cycleStat struct {
	Cycle      int   `json:"cycle"`
	Connected  int   `json:"connected"`
	Failed     int   `json:"failed"`
	Goroutines int   `json:"goroutines"`
	RSS        int64 `json:"rss"`
}

// runSoak connects N sockets, has every pair exchange an offer, an answer
// and a chat message, disconnects them (half leave first, half just drop)
// and reads the server's goroutines and memory, --cycles times.
func runSoak(ctx context.Context, c config, log *slog.Logger, res *result) error {
	for cycle := 1; cycle <= c.Cycles && ctx.Err() == nil; cycle++ {
		st, err := soakCycle(ctx, c, cycle)
		if err != nil {
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		res.Cycles = append(res.Cycles, st)
		res.Failed += st.Failed
		log.Info("soak cycle", "cycle", cycle, "connected", st.Connected, "failed", st.Failed, "goroutines", st.Goroutines, "rss_mib", st.RSS>>20)
	}
	return ctx.Err()
}

func soakCycle(ctx context.Context, c config, cycle int) (cycleStat, error) {
	st := cycleStat{Cycle: cycle}
	salt := rand.Uint32()
	p := dialAll(ctx, c.URL, c.N, c.Concurrency, func(int) sioclient.Options { return c.options() },
		func(i int, cl *sioclient.Client) error { return joinAck(ctx, cl, fmt.Sprintf("k%x-%d", salt, i/2)) })
	st.Failed = int(p.failed.Load())
	st.Connected = c.N - st.Failed

	var wg sync.WaitGroup
	sem := make(chan struct{}, c.Concurrency)
	for i := 0; i+1 < len(p.clients); i += 2 {
		a, b := p.clients[i], p.clients[i+1]
		if a == nil || b == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ectx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			a.EmitWithAck(ectx, "offer", map[string]any{"to": b.ID(), "offer": offerJSON})
			b.EmitWithAck(ectx, "answer", map[string]any{"to": a.ID(), "answer": answerJSON})
			a.EmitWithAck(ectx, "chat-message", map[string]string{"text": "hello"})
			if i%4 == 0 {
				a.EmitWithAck(ectx, "leave-room")
				b.EmitWithAck(ectx, "leave-room")
			}
		}()
	}
	wg.Wait()
	p.closeAll()
	sleep(ctx, c.Idle) // past the reconnect grace the soak runs the server with
	var err error
	if st.Goroutines, err = goroutines(c.URL); err != nil {
		return st, err
	}
	st.RSS, err = procstat.RSS(c.ServerPID)
	return st, err
}

// goroutines reads go_goroutines from the server's /metrics.
func goroutines(url string) (int, error) {
	res, err := http.Get(url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", res.Status)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no go_goroutines in /metrics")
}
