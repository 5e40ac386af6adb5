package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/bench/internal/stats"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// candidate is an ICE candidate as a browser sends it, plus the bench's
// bookkeeping: pair index, sequence number and intended send time.
type candidate struct {
	Candidate        string `json:"candidate"`
	SdpMid           string `json:"sdpMid"`
	SdpMLineIndex    int    `json:"sdpMLineIndex"`
	UsernameFragment string `json:"usernameFragment"`
	Pair             int    `json:"p"`
	Seq              int64  `json:"s"`
	Intended         int64  `json:"t"` // ns since the run's base time
}

const candidateLine = "candidate:842163049 1 udp 1677729535 192.0.2.3 54321 typ srflx raddr 10.0.0.1 rport 54321 generation 0 ufrag EsAw network-cost 999"

type outgoing struct {
	To        string    `json:"to"`
	Candidate candidate `json:"candidate"`
}

type echo struct {
	To        string          `json:"to"`
	Candidate json.RawMessage `json:"candidate"`
}

type incoming struct {
	From      string          `json:"from"`
	Candidate json.RawMessage `json:"candidate"`
}

// relayPair is two sockets in one room; A sends, B echoes.
type relayPair struct {
	idx      int
	a, b     *sioclient.Client
	aID, bID string
	prefix   []byte // A's candidate up to its sequence number
	seq      atomic.Int64
	recv     atomic.Int64

	mu      sync.Mutex
	samples []time.Duration
}

type relayPeer struct {
	pair *relayPair
	isA  bool
}

// relayRun is the shared state of one relay benchmark.
type relayRun struct {
	base       time.Time
	closedLoop bool
	// ready is set once the pairs know their ids. The clients' raw
	// connections (rawconn_linux.go) bypass the runtime's I/O annotations,
	// so without it the race detector cannot see that a pair's fields were
	// written before the first event that reads them was sent.
	ready    atomic.Bool
	stopping atomic.Bool
	// the measured window, as ns since base (intended send times)
	from, to  atomic.Int64
	misrouted atomic.Int64
	sigErrors atomic.Int64
	sendErrs  atomic.Int64
	firstErr  atomic.Value
}

func (r *relayRun) now() int64 { return int64(time.Since(r.base)) }

func (r *relayRun) send(p *relayPair, intended int64) {
	seq := p.seq.Add(1)
	arg := appendOutgoing(make([]byte, 0, len(p.prefix)+48), p.prefix, seq, intended)
	if err := p.a.EmitRaw("ice-candidate", arg); err != nil {
		r.sendErrs.Add(1)
		r.firstErr.CompareAndSwap(nil, err.Error())
	}
}

// onEvent is every client's shared event callback.
func (r *relayRun) onEvent(cl *sioclient.Client, event string, args []json.RawMessage) {
	peer, _ := cl.Value().(*relayPeer)
	if peer == nil || peer.pair == nil {
		return
	}
	switch event {
	case "ice-candidate":
	case "signaling-error":
		r.sigErrors.Add(1)
		r.firstErr.CompareAndSwap(nil, fmt.Sprintf("signaling-error %s", args))
		return
	default:
		return // user-joined and the like
	}
	if !r.ready.Load() {
		r.misrouted.Add(1) // nothing was sent yet
		return
	}
	var from string
	var cand json.RawMessage
	ok := len(args) == 1
	if ok {
		from, cand, ok = splitIncoming(args[0])
	}
	if !ok {
		r.misrouted.Add(1)
		return
	}
	p := peer.pair
	if !peer.isA {
		if from != p.aID {
			r.misrouted.Add(1)
			return
		}
		if err := cl.EmitRaw("ice-candidate", toPeer(from, "candidate", cand)); err != nil {
			r.sendErrs.Add(1)
		}
		return
	}
	now := r.now()
	pair, _, intended, ok := bookkeeping(cand)
	if from != p.bID || !ok || pair != p.idx {
		r.misrouted.Add(1)
		return
	}
	p.recv.Add(1)
	if intended >= r.from.Load() && intended < r.to.Load() {
		p.mu.Lock()
		p.samples = append(p.samples, time.Duration(now-intended))
		p.mu.Unlock()
	}
	if r.closedLoop && !r.stopping.Load() {
		r.send(p, r.now())
	}
}

// runRelay bounces ice-candidate events between the two sockets of each
// pair, closed loop (one in flight per pair) or open loop at --rate.
func runRelay(ctx context.Context, c config, log *slog.Logger, res *result) error {
	r := &relayRun{base: time.Now(), closedLoop: c.Rate <= 0}
	r.from.Store(1 << 62)
	r.to.Store(1 << 62)
	pairs := make([]*relayPair, c.N/2)
	for i := range pairs {
		pairs[i] = &relayPair{idx: i}
	}
	salt := rand.Uint32()
	var drops atomic.Int64
	var closing atomic.Bool
	p := dialAll(ctx, c.URL, c.N, c.Concurrency, func(i int) sioclient.Options {
		o := c.options()
		o.Value = &relayPeer{pair: pairs[i/2], isA: i%2 == 0}
		o.OnEvent = r.onEvent
		o.OnDisconnect = func(*sioclient.Client, error) {
			if !closing.Load() {
				drops.Add(1)
			}
		}
		return o
	}, func(i int, cl *sioclient.Client) error { return joinAck(ctx, cl, fmt.Sprintf("r%x-%d", salt, i/2)) })
	defer func() { closing.Store(true); p.closeAll() }()
	res.Failed = int(p.failed.Load())
	res.Connected = c.N - res.Failed
	res.FirstError = p.firstError()
	var active []*relayPair
	for i, pr := range pairs {
		pr.a, pr.b = p.clients[2*i], p.clients[2*i+1]
		if pr.a != nil && pr.b != nil {
			pr.aID, pr.bID = pr.a.ID(), pr.b.ID()
			pr.prefix = candidatePrefix(pr.bID, pr.idx)
			active = append(active, pr)
		}
	}
	if len(active) == 0 {
		return fmt.Errorf("no pair connected: %s", res.FirstError)
	}
	r.ready.Store(true)
	log.Info("pairs ready", "pairs", len(active), "failed sockets", res.Failed)

	start := r.now()
	r.from.Store(start + int64(c.Warmup))
	r.to.Store(start + int64(c.Warmup+c.Duration))
	var m *measure
	var err error
	measured := make(chan struct{})
	go func() {
		defer close(measured)
		defer pauseGC()() // before the warmup, which absorbs the collection it starts with
		sleep(ctx, c.Warmup)
		m, err = startMeasure(c.ServerPID)
		sleep(ctx, c.Duration)
	}()
	if r.closedLoop {
		for _, pr := range active {
			r.send(pr, r.now())
		}
		<-measured
	} else {
		res.OfferedRate = c.Rate
		lag, perr := r.openLoop(ctx, active, c.Rate, measured)
		if perr != nil {
			return perr
		}
		res.SendLagP99ms = ms(stats.Summarize(lag).P99)
	}
	if err != nil {
		return err
	}
	w, err := m.end(res)
	if err != nil {
		return err
	}
	r.stopping.Store(true)
	drain(active, 5*time.Second)

	var all []time.Duration
	var sent, recv int64
	for _, pr := range active {
		pr.mu.Lock()
		all = append(all, pr.samples...)
		pr.mu.Unlock()
		sent += pr.seq.Load()
		recv += pr.recv.Load()
	}
	s := stats.Summarize(all)
	res.Roundtrips = int64(s.Count)
	res.RoundtripsPerS = float64(s.Count) / c.Duration.Seconds()
	res.RTTp50ms, res.RTTp90ms, res.RTTp99ms, res.RTTmaxms = ms(s.P50), ms(s.P90), ms(s.P99), ms(s.Max)
	res.Lost = sent - recv
	res.Misrouted = r.misrouted.Load()
	res.Drops = drops.Load()
	if s.Count > 0 {
		res.ServerCPUusPerM = float64(w.Server) / float64(time.Microsecond) / float64(2*s.Count)
	}
	if e, _ := r.firstErr.Load().(string); e != "" && res.FirstError == "" {
		res.FirstError = e
	}
	log.Info("relay done", "roundtrips/s", res.RoundtripsPerS, "p50", s.P50, "p99", s.P99, "lost", res.Lost, "misrouted", res.Misrouted)
	if errs := r.sigErrors.Load() + r.sendErrs.Load(); errs > 0 {
		return fmt.Errorf("%d signaling or send errors, first: %s", errs, res.FirstError)
	}
	return ctx.Err()
}

// pauseGC turns the generator's garbage collector off until the returned
// function runs: a collection of 10,000 clients' heap takes the
// generator's one core for tens of milliseconds, and every reply that
// arrives meanwhile would be stamped late, as if the server were slow.
// A 4 GiB memory limit still collects should the window be long.
func pauseGC() (resume func()) {
	runtime.GC()
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(4 << 30)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

// openLoop sends round trips at rate across the pairs until measured is
// closed. Each send carries its intended time, so a late send (the sender
// or the server stalled) counts its delay: no coordinated omission.
// It returns how late each send was.
func (r *relayRun) openLoop(ctx context.Context, pairs []*relayPair, rate float64, measured <-chan struct{}) (lag []time.Duration, err error) {
	interval := float64(time.Second) / rate
	tick, err := newPacer(100 * time.Microsecond)
	if err != nil {
		return nil, err
	}
	defer tick.stop()
	begin := r.now()
	var k int64
	for {
		select {
		case <-measured:
			return lag, nil
		case <-ctx.Done():
			return lag, nil
		default:
		}
		now := r.now()
		due := int64(float64(now-begin) / interval)
		for ; k < due; k++ {
			intended := begin + int64(float64(k)*interval)
			r.send(pairs[k%int64(len(pairs))], intended)
			lag = append(lag, time.Duration(r.now()-intended))
		}
		tick.wait()
	}
}

// drain waits until every pair has its echoes back, or timeout.
func drain(pairs []*relayPair, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		done := true
		for _, pr := range pairs {
			if pr.recv.Load() < pr.seq.Load() {
				done = false
				break
			}
		}
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}
