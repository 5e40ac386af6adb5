package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/bench/internal/stats"
	"github.com/huddlehq/huddle/internal/sioclient"
)

var errSetupTimeout = errors.New("setup step timed out")

// fakeSDP is a session description of about n bytes, shaped like a
// browser's audio+video offer.
func fakeSDP(kind string, n int) map[string]string {
	var b strings.Builder
	b.WriteString("v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=msid-semantic: WMS stream\r\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "a=rtpmap:%d VP8/90000\r\na=rtcp-fb:%d goog-remb\r\na=rtcp-fb:%d transport-cc\r\na=fmtp:%d apt=%d\r\n", 96+i%32, 96+i%32, 96+i%32, 97+i%32, 96+i%32)
	}
	return map[string]string{"type": kind, "sdp": b.String()[:n]}
}

// The setup's payloads, encoded once: the generator should spend its CPU
// on connections and messages, not on encoding the same JSON again.
var (
	offerJSON      = mustJSON(fakeSDP("offer", 3000))
	answerJSON     = mustJSON(fakeSDP("answer", 3000))
	candidatesJSON = func() (c [8]json.RawMessage) {
		for i := range c {
			c[i] = mustJSON(candidate{Candidate: candidateLine, SdpMid: "0", UsernameFragment: "EsAw", Seq: int64(i)})
		}
		return c
	}()
)

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// fromPeer reports whether an event's argument names peer id in its
// "from" (relays) or "id" (user-joined) field. Both servers write that
// field first, which is read without decoding the rest (a 3 KB SDP);
// anything else is decoded.
func fromPeer(arg []byte, id string) bool {
	for _, key := range []string{`{"from":"`, `{"id":"`} {
		if rest, ok := bytes.CutPrefix(arg, []byte(key)); ok && len(rest) > len(id) &&
			string(rest[:len(id)]) == id && rest[len(id)] == '"' {
			return true
		}
	}
	var m struct {
		From string `json:"from"`
		ID   string `json:"id"`
	}
	return json.Unmarshal(arg, &m) == nil && (m.From == id || m.ID == id)
}

type event struct {
	name string
	args []json.RawMessage
}

// inbox collects a client's events for a goroutine that waits on them.
type inbox chan event

func (in inbox) on(c *sioclient.Client, names ...string) {
	for _, n := range names {
		c.On(n, func(args []json.RawMessage) {
			select {
			case in <- event{n, args}:
			default: // the setup already failed and stopped reading
			}
		})
	}
}

// wait returns the next event, which must be want and come from `from`.
func (in inbox) wait(ctx context.Context, want, from string) error {
	select {
	case ev := <-in:
		if ev.name != want {
			return fmt.Errorf("got %s %.200s, want %s", ev.name, ev.args, want)
		}
		if len(ev.args) != 1 || !fromPeer(ev.args[0], from) {
			return fmt.Errorf("%s from the wrong peer: %.200s (want %s)", want, ev.args, from)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: waiting for %s", errSetupTimeout, want)
	}
}

// setupOnce is one call setup with fresh connections, as two browsers do it.
func setupOnce(ctx context.Context, url string, opts sioclient.Options, room string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	aIn, bIn := make(inbox, 64), make(inbox, 64)
	a, err := sioclient.Dial(ctx, url, opts)
	if err != nil {
		return err
	}
	defer a.Close()
	aIn.on(a, "user-joined", "answer", "ice-candidate", "signaling-error")
	b, err := sioclient.Dial(ctx, url, opts)
	if err != nil {
		return err
	}
	defer b.Close()
	bIn.on(b, "offer", "ice-candidate", "signaling-error")
	if err := joinAck(ctx, a, room); err != nil {
		return err
	}
	if err := joinAck(ctx, b, room); err != nil {
		return err
	}
	aID, bID := a.ID(), b.ID()
	if err := aIn.wait(ctx, "user-joined", bID); err != nil {
		return err
	}
	if err := a.EmitRaw("offer", toPeer(bID, "offer", offerJSON)); err != nil {
		return err
	}
	if err := bIn.wait(ctx, "offer", aID); err != nil {
		return err
	}
	if err := b.EmitRaw("answer", toPeer(aID, "answer", answerJSON)); err != nil {
		return err
	}
	if err := aIn.wait(ctx, "answer", bID); err != nil {
		return err
	}
	for _, c := range candidatesJSON {
		if err := a.EmitRaw("ice-candidate", toPeer(bID, "candidate", c)); err != nil {
			return err
		}
		if err := b.EmitRaw("ice-candidate", toPeer(aID, "candidate", c)); err != nil {
			return err
		}
	}
	for range 8 {
		if err := aIn.wait(ctx, "ice-candidate", bID); err != nil {
			return err
		}
		if err := bIn.wait(ctx, "ice-candidate", aID); err != nil {
			return err
		}
	}
	return nil
}

// runSetup runs call setups back to back from --concurrency workers and
// measures those that start inside the window.
func runSetup(ctx context.Context, c config, log *slog.Logger, res *result) error {
	salt := rand.Uint32()
	var (
		mu       sync.Mutex
		samples  []time.Duration
		failures atomic.Int64
		firstErr atomic.Value
		seq      atomic.Int64
	)
	base := time.Now()
	from, to := base.Add(c.Warmup), base.Add(c.Warmup+c.Duration)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var m *measure
	var merr error
	go func() {
		sleep(ctx, c.Warmup)
		mu.Lock()
		m, merr = startMeasure(c.ServerPID)
		mu.Unlock()
	}()
	var wg sync.WaitGroup
	for range max(1, c.Concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				start := time.Now()
				if !start.Before(to) {
					return
				}
				err := setupOnce(ctx, c.URL, c.options(), fmt.Sprintf("s%x-%d", salt, seq.Add(1)))
				took := time.Since(start)
				if start.Before(from) {
					continue
				}
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				mu.Lock()
				samples = append(samples, took)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if merr != nil || m == nil {
		return fmt.Errorf("measure: %v", merr)
	}
	w, err := m.end(res)
	if err != nil {
		return err
	}
	s := stats.Summarize(samples)
	res.Setups = int64(s.Count)
	res.SetupsPerS = float64(s.Count) / w.Wall.Seconds()
	res.SetupP50ms, res.SetupP99ms = ms(s.P50), ms(s.P99)
	res.SetupFailures = failures.Load()
	res.FirstError, _ = firstErr.Load().(string)
	if s.Count > 0 && w.Server > 0 {
		res.ServerCPUmsPerSet = ms(w.Server) / float64(s.Count)
		res.SetupsPerCPUSec = float64(s.Count) / w.Server.Seconds()
	}
	log.Info("setup done", "setups/s", res.SetupsPerS, "p50", s.P50, "p99", s.P99, "failures", res.SetupFailures)
	if res.SetupFailures > 0 {
		return fmt.Errorf("%d setups failed, first: %s", res.SetupFailures, res.FirstError)
	}
	return ctx.Err()
}
