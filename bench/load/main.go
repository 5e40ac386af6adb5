// Command load drives a Socket.IO signaling server (Huddle or the Node.js
// reference) with many sioclient connections and prints one JSON result on
// stdout. Progress goes to stderr.
//
//	load --url http://127.0.0.1:8080 --server-pid PID --mode connect --n 10000
//	load ... --mode relay --n 1000                 # closed loop
//	load ... --mode relay --n 10000 --rate 5000    # open loop
//	load ... --mode setup --concurrency 16 --duration 10s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/huddlehq/huddle/bench/internal/procstat"
	"github.com/huddlehq/huddle/internal/jsonscan"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// config is the command line.
type config struct {
	URL         string
	ServerPID   int
	Mode        string
	Transport   string
	N           int           // sockets (connect, relay)
	Concurrency int           // dials in flight; setups in flight
	Hold        time.Duration // connect: how long all stay connected
	Idle        time.Duration // connect: idle CPU window
	Duration    time.Duration // relay, setup: measured window
	Warmup      time.Duration
	Rate        float64 // relay: offered round trips/s; 0 = closed loop
	Cycles      int     // soak: connect/exchange/disconnect cycles
	DebugURL    string  // soak: the server's --pprof-addr as a URL, for /debug/runtime-metrics
	HeapDir     string  // soak: where the server's heap profiles after cycle 2 and the last are saved; none when empty
}

// result is printed as JSON; zero fields are left out.
type result struct {
	Mode      string `json:"mode"`
	Transport string `json:"transport"`
	N         int    `json:"n,omitempty"`
	Error     string `json:"error,omitempty"`

	Connected      int     `json:"connected,omitempty"`
	Failed         int     `json:"failed"`
	ConnectSeconds float64 `json:"connect_seconds,omitempty"`
	FirstError     string  `json:"first_error,omitempty"`
	RSSBefore      int64   `json:"rss_before,omitempty"`
	RSSAfter       int64   `json:"rss_after,omitempty"`
	RSSPerSocket   float64 `json:"rss_per_socket,omitempty"`
	IdleCPUPct     float64 `json:"idle_cpu_pct"`
	HoldSeconds    float64 `json:"hold_seconds,omitempty"`
	Drops          int64   `json:"drops"`

	Roundtrips      int64   `json:"roundtrips,omitempty"`
	RoundtripsPerS  float64 `json:"roundtrips_per_s,omitempty"`
	OfferedRate     float64 `json:"offered_rate,omitempty"`
	RTTp50ms        float64 `json:"rtt_p50_ms,omitempty"`
	RTTp90ms        float64 `json:"rtt_p90_ms,omitempty"`
	RTTp99ms        float64 `json:"rtt_p99_ms,omitempty"`
	RTTmaxms        float64 `json:"rtt_max_ms,omitempty"`
	Lost            int64   `json:"lost"`
	Misrouted       int64   `json:"misrouted"`
	ServerCPUusPerM float64 `json:"server_cpu_us_per_msg,omitempty"`
	// SendLagP99ms is how late the open-loop sender itself was (its own
	// health: it should be far below the RTT figures).
	SendLagP99ms float64 `json:"send_lag_p99_ms,omitempty"`

	Setups            int64   `json:"setups,omitempty"`
	SetupsPerS        float64 `json:"setups_per_s,omitempty"`
	SetupP50ms        float64 `json:"setup_p50_ms,omitempty"`
	SetupP99ms        float64 `json:"setup_p99_ms,omitempty"`
	ServerCPUmsPerSet float64 `json:"server_cpu_ms_per_setup,omitempty"`
	SetupsPerCPUSec   float64 `json:"setups_per_cpu_s,omitempty"`
	SetupFailures     int64   `json:"setup_failures"`

	// The measured window: server and load generator CPU, and everything
	// else on the machine, as % of one core.
	WindowSeconds float64 `json:"window_seconds,omitempty"`
	ServerCPUPct  float64 `json:"server_cpu_pct"`
	LoadCPUPct    float64 `json:"load_cpu_pct,omitempty"`
	NoiseCPUPct   float64 `json:"noise_cpu_pct"`

	Cycles []cycleStat `json:"cycles,omitempty"`
}

var errUsage = errors.New("usage")

func main() { os.Exit(runMain()) }

// runMain is main, returning the exit code so that deferred work (the
// profile) is done first.
func runMain() int {
	// The generator's own GC pauses would show up as server latency (it
	// stamps sends and receives): collect less often unless GOGC says
	// otherwise. Measured: its send lag p99 at 10,000 sockets and 5,000
	// round trips/s fell from 9.4 ms to 1.4 ms.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	var c config
	flag.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "server URL")
	flag.IntVar(&c.ServerPID, "server-pid", 0, "server process id, for its CPU and memory (required)")
	flag.StringVar(&c.Mode, "mode", "connect", "connect, relay, setup or soak")
	flag.StringVar(&c.Transport, "transport", "websocket", "websocket or polling")
	flag.IntVar(&c.N, "n", 500, "sockets")
	flag.IntVar(&c.Concurrency, "concurrency", 64, "dials (connect, relay) or setups (setup) in flight")
	flag.DurationVar(&c.Hold, "hold", 0, "connect: keep all sockets connected this long and count drops")
	flag.DurationVar(&c.Idle, "idle", 10*time.Second, "connect: window for idle server CPU")
	flag.DurationVar(&c.Duration, "duration", 10*time.Second, "relay, setup: measured window")
	flag.DurationVar(&c.Warmup, "warmup", 2*time.Second, "relay, setup: unmeasured start")
	flag.Float64Var(&c.Rate, "rate", 0, "relay: offered round trips per second (0: closed loop)")
	flag.IntVar(&c.Cycles, "cycles", 10, "soak: cycles")
	flag.StringVar(&c.HeapDir, "heap-dir", "", "soak: save the server's heap profiles after cycle 2 and the last cycle here, for go tool pprof -diff_base")
	flag.StringVar(&c.DebugURL, "debug-url", "", "soak: URL of the server's --pprof-addr, read for the live heap after a forced GC (required)")
	cpuProfile := flag.String("cpuprofile", "", "write the load generator's own CPU profile to this file")
	flag.Parse()
	if *cpuProfile != "" {
		stop, err := startCPUProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer stop()
	}

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	res, err := run(c, log)
	if err != nil {
		res.Error = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	if err != nil {
		log.Error("load failed", "err", err)
		return 1
	}
	return 0
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func run(c config, log *slog.Logger) (result, error) {
	res := result{Mode: c.Mode, Transport: c.Transport, N: c.N}
	if c.ServerPID <= 0 {
		return res, fmt.Errorf("%w: --server-pid is required", errUsage)
	}
	if c.Transport != "websocket" && c.Transport != "polling" {
		return res, fmt.Errorf("%w: --transport websocket or polling", errUsage)
	}
	if c.N < 2 || c.N%2 != 0 {
		return res, fmt.Errorf("%w: --n must be even and at least 2", errUsage)
	}
	if err := raiseFileLimit(); err != nil {
		log.Warn("cannot raise the open files limit", "err", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch c.Mode {
	case "connect":
		return res, runConnect(ctx, c, log, &res)
	case "relay":
		return res, runRelay(ctx, c, log, &res)
	case "setup":
		return res, runSetup(ctx, c, log, &res)
	case "soak":
		return res, runSoak(ctx, c, log, &res)
	}
	return res, fmt.Errorf("%w: unknown --mode %q", errUsage, c.Mode)
}

// raiseFileLimit lifts the soft open-files limit to the hard one: each
// socket is a file.
func raiseFileLimit() error {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return err
	}
	l.Cur = l.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
}

func (c config) options() sioclient.Options {
	return sioclient.Options{Transport: sioclient.Transport(c.Transport), NetDial: dialRaw}
}

// measure records the window between its creation and end into res.
type measure struct {
	pid    int
	before procstat.Sample
}

func startMeasure(pid int) (*measure, error) {
	s, err := procstat.Take(pid)
	return &measure{pid: pid, before: s}, err
}

func (m *measure) end(res *result) (procstat.Window, error) {
	s, err := procstat.Take(m.pid)
	if err != nil {
		return procstat.Window{}, err
	}
	w := s.Since(m.before)
	res.WindowSeconds = w.Wall.Seconds()
	res.ServerCPUPct = w.Percent(w.Server)
	res.LoadCPUPct = w.Percent(w.Self)
	res.NoiseCPUPct = w.Percent(w.Others)
	return w, nil
}

// pool of connected clients, dialled with bounded concurrency.
type pool struct {
	clients  []*sioclient.Client
	failed   atomic.Int64
	firstErr atomic.Value
	drops    atomic.Int64
}

// dialAll connects n clients; mk makes each one's options (index i). A
// failed dial leaves a nil entry.
func dialAll(ctx context.Context, url string, n, concurrency int, mk func(i int) sioclient.Options, after func(i int, c *sioclient.Client) error) *pool {
	p := &pool{clients: make([]*sioclient.Client, n)}
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range max(1, concurrency) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				c, err := sioclient.Dial(dctx, url, mk(i))
				if err == nil && after != nil {
					err = after(i, c)
					if err != nil {
						c.Close()
					}
				}
				cancel()
				if err != nil {
					p.failed.Add(1)
					p.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				p.clients[i] = c
			}
		}()
	}
	wg.Wait()
	return p
}

func (p *pool) firstError() string {
	s, _ := p.firstErr.Load().(string)
	return s
}

// closeAll disconnects every client, a few at a time.
func (p *pool) closeAll() {
	var wg sync.WaitGroup
	ch := make(chan *sioclient.Client)
	for range runtime.GOMAXPROCS(0) * 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range ch {
				c.Close()
			}
		}()
	}
	for _, c := range p.clients {
		if c != nil {
			ch <- c
		}
	}
	close(ch)
	wg.Wait()
}

// joiners numbers the load's participants: each needs its own name (a
// newcomer may not take the host's).
var joiners atomic.Uint64

// joinAck asks to join room and checks the ack says ok.
func joinAck(ctx context.Context, c *sioclient.Client, room string) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	name := "bench " + strconv.FormatUint(joiners.Add(1), 10)
	args, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": room, "name": name})
	if err != nil {
		return fmt.Errorf("join-room: %w", err)
	}
	if len(args) != 1 || !ackOK(args[0]) {
		return fmt.Errorf("join-room refused: %s", args)
	}
	return nil
}

// ackOK reports whether an ack is a JSON object whose "ok" is true. It
// scans the ack once rather than decoding it (the load generator reads
// thousands a second); a key with escapes is left to encoding/json.
func ackOK(ack []byte) bool {
	ok, escaped := false, false
	valid := jsonscan.ObjectFields(ack, func(k, v []byte) {
		switch {
		case bytes.EqualFold(k, []byte("ok")): // encoding/json matches keys so
			ok = string(v) == "true"
		case bytes.IndexByte(k, '\\') >= 0:
			escaped = true
		}
	})
	if valid && escaped {
		var a struct {
			OK bool `json:"ok"`
		}
		return json.Unmarshal(ack, &a) == nil && a.OK
	}
	return valid && ok
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
