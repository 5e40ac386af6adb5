package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/huddlehq/huddle/bench/internal/procstat"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// cycleStat is the server's state after one soak cycle; cycle 0 is the
// fresh server before the first. The memory figures are read after the
// server forced two collections (/debug/runtime-metrics?gc=1).
type cycleStat struct {
	Cycle      int `json:"cycle"`
	Connected  int `json:"connected"`
	Failed     int `json:"failed"`
	Goroutines int `json:"goroutines"`
	// Threads is /sched/threads/total:threads. Go never ends an OS thread
	// it started; each new one is a few KiB of live heap for good.
	Threads int `json:"threads"`
	// LiveHeap is /gc/heap/live:bytes: what the heap still holds; a leak
	// shows here.
	LiveHeap int64 `json:"live_heap"`
	// HeapObjects is /memory/classes/heap/objects:bytes.
	HeapObjects int64 `json:"heap_objects"`
	// HeapFree is /memory/classes/heap/free:bytes: freed heap the runtime
	// keeps mapped and has not yet returned to the OS. It is in RSS.
	HeapFree int64 `json:"heap_free"`
	// Retained is /memory/classes/total:bytes less
	// /memory/classes/heap/released:bytes: all the memory the Go runtime
	// holds from the OS (heap, stacks, metadata), which RSS follows.
	Retained int64 `json:"retained"`
	// RSS is the process's VmRSS, for information.
	RSS int64 `json:"rss"`
}

// errNoDebugURL: the soak's verdict is the live heap, read from the
// server's pprof address.
var errNoDebugURL = errors.New("soak needs --debug-url (the server's --pprof-addr)")

// runSoak reads the fresh server (cycle 0), then --cycles times connects N
// sockets, has every pair exchange an offer, an answer and a chat message,
// disconnects them (half leave first, half just drop), waits --idle and
// reads the server's goroutines and memory.
func runSoak(ctx context.Context, c config, log *slog.Logger, res *result) error {
	if c.DebugURL == "" {
		return fmt.Errorf("%w: %w", errUsage, errNoDebugURL)
	}
	base, err := readServer(c, 0)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	res.Cycles = append(res.Cycles, base)
	logCycle(log, base)
	// The fresh server's profile too: the first heap profile served
	// allocates for good (gzip's CRC table), which is then before the
	// trend and not in it.
	if c.HeapDir != "" {
		if err := saveHeapProfile(c, 0); err != nil {
			log.Warn("heap profile not saved", "cycle", 0, "err", err)
		}
	}
	for cycle := 1; cycle <= c.Cycles && ctx.Err() == nil; cycle++ {
		st, err := soakCycle(ctx, c, cycle)
		if err != nil {
			return fmt.Errorf("cycle %d: %w", cycle, err)
		}
		res.Cycles = append(res.Cycles, st)
		res.Failed += st.Failed
		logCycle(log, st)
		if c.HeapDir != "" && (cycle == 2 || cycle == c.Cycles) {
			if err := saveHeapProfile(c, cycle); err != nil {
				log.Warn("heap profile not saved", "cycle", cycle, "err", err)
			}
		}
	}
	return ctx.Err()
}

// saveHeapProfile saves the server's heap profile as soak.cycleN.heap.pb.gz
// in c.HeapDir. It follows readServer's forced collections, so its in-use
// figures are what those left; the profiles of cycle 2 and the last, diffed
// with go tool pprof -diff_base, show where a growing live heap grows
// (with GODEBUG=memprofilerate=512 in the server's environment to record
// small allocations, not one per 512 KiB on average).
func saveHeapProfile(c config, cycle int) error {
	res, err := debugClient.Get(c.DebugURL + "/debug/pprof/heap")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /debug/pprof/heap: %s", res.Status)
	}
	if err := os.MkdirAll(c.HeapDir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(c.HeapDir, fmt.Sprintf("soak.cycle%d.heap.pb.gz", cycle)))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, res.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func logCycle(log *slog.Logger, st cycleStat) {
	log.Info("soak cycle", "cycle", st.Cycle, "connected", st.Connected, "failed", st.Failed, "goroutines", st.Goroutines,
		"threads", st.Threads, "live_heap_kib", st.LiveHeap>>10, "rss_mib", st.RSS>>20)
}

func soakCycle(ctx context.Context, c config, cycle int) (cycleStat, error) {
	salt := rand.Uint32()
	p := dialAll(ctx, c.URL, c.N, c.Concurrency, func(int) sioclient.Options { return c.options() },
		func(i int, cl *sioclient.Client) error { return joinAck(ctx, cl, fmt.Sprintf("k%x-%d", salt, i/2)) })
	failed := int(p.failed.Load())

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
	st, err := readServer(c, cycle)
	st.Failed, st.Connected = failed, c.N-failed
	return st, err
}

// debugClient does not keep connections alive, so that its own idle
// connection is not a goroutine in the server's count.
var debugClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

// readServer reads the server's runtime metrics after a forced GC, and its
// RSS.
func readServer(c config, cycle int) (cycleStat, error) {
	st := cycleStat{Cycle: cycle}
	m, err := runtimeMetrics(c.DebugURL)
	if err != nil {
		return st, err
	}
	st.Goroutines = int(m["/sched/goroutines:goroutines"])
	st.Threads = int(m["/sched/threads/total:threads"])
	st.LiveHeap = int64(m["/gc/heap/live:bytes"])
	st.HeapObjects = int64(m["/memory/classes/heap/objects:bytes"])
	st.HeapFree = int64(m["/memory/classes/heap/free:bytes"])
	st.Retained = int64(m["/memory/classes/total:bytes"] - m["/memory/classes/heap/released:bytes"])
	if st.Goroutines == 0 || st.LiveHeap == 0 {
		return st, fmt.Errorf("runtime metrics lack goroutines or the live heap: %v", m)
	}
	st.RSS, err = procstat.RSS(c.ServerPID)
	return st, err
}

// runtimeMetrics GETs the server's /debug/runtime-metrics?gc=1.
func runtimeMetrics(debugURL string) (map[string]float64, error) {
	res, err := debugClient.Get(debugURL + "/debug/runtime-metrics?gc=1")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /debug/runtime-metrics: %s", res.Status)
	}
	var reply struct {
		GC      int                `json:"gc"`
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.NewDecoder(res.Body).Decode(&reply); err != nil {
		return nil, fmt.Errorf("GET /debug/runtime-metrics: %w", err)
	}
	if reply.GC == 0 {
		return nil, errors.New("GET /debug/runtime-metrics?gc=1: the server did not collect first")
	}
	return reply.Metrics, nil
}
