// Command sfu benchmarks Huddle's SFU beside Galène's (the anchor in
// ../shared/anchors/galene) with one load generator: pion participants
// that publish the same generated VP8+Opus stream to both servers and
// read what the server forwards without decoding it. It prints one
// markdown table per scenario, the two servers side by side.
//
//	go run ./bench/sfu [-scenarios fanout,meetings,meeting] [-duration 10s]
//
// Each server runs fresh per scenario, pinned to core 0; the generator
// pins itself to core 1. Per scenario and server it reports the server's
// CPU per forwarded packet and forwarded packets per server CPU-second
// (from /proc/PID/stat over the measured window), the server's memory
// per subscriber, loss, the added latency from the send time carried in
// every payload's last bytes, and the time from a participant's join to
// its first forwarded packet and keyframe.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/huddlehq/huddle/bench/internal/procstat"
	"github.com/pion/webrtc/v4"
)

type options struct {
	Huddle, Galene   string
	Servers          string
	Scenarios        string
	FanoutN          int
	Meetings         int
	MeetingSize      int
	Duration, Warmup time.Duration
	Concurrency      int
	PprofDir         string
	Repeats          int
	Out              string
}

func main() {
	var o options
	flag.StringVar(&o.Huddle, "huddle", "bin/huddle", "Huddle binary")
	flag.StringVar(&o.Galene, "galene", "", "Galène's folder (binary galene, static/); empty: $SFUBENCH_GALENE, else ../shared/anchors/galene or ../../shared/anchors/galene")
	flag.StringVar(&o.Servers, "servers", "huddle,galene", "servers to measure")
	flag.StringVar(&o.Scenarios, "scenarios", "fanout,meetings,meeting", "scenarios to run")
	flag.IntVar(&o.FanoutN, "fanout-n", 200, "subscribers of the one publisher in the fanout scenario")
	flag.IntVar(&o.Meetings, "meetings", 10, "meetings of 5, all publishing, in the meetings scenario")
	flag.IntVar(&o.MeetingSize, "meeting-size", 15, "participants, all publishing, of the meeting scenario")
	flag.DurationVar(&o.Duration, "duration", 10*time.Second, "measured window per scenario and server")
	flag.DurationVar(&o.Warmup, "warmup", 3*time.Second, "time between the last join and the window")
	flag.IntVar(&o.Concurrency, "concurrency", 8, "joins in flight")
	flag.IntVar(&o.Repeats, "repeats", 1, "runs per scenario and server, servers alternating; the table shows each server's run with the median CPU per forwarded packet")
	flag.StringVar(&o.PprofDir, "pprof-dir", "", "if set, run each scenario once more on Huddle and save its CPU profile over the window and its heap after it here")
	flag.StringVar(&o.Out, "out", "", "also write the tables to this file")
	flag.Parse()
	pinToCore1()
	if o.Galene == "" {
		o.Galene = findGalene()
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error("sfu bench failed", "err", err)
		os.Exit(1)
	}
}

// pinToCore1 runs the generator again under taskset -c 1, so that its
// every thread stays off the server's core.
func pinToCore1() {
	if os.Getenv("SFUBENCH_PINNED") != "" {
		return
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Fprintln(os.Stderr, "sfu bench: taskset not found, the generator is not pinned")
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	env := append(os.Environ(), "SFUBENCH_PINNED=1")
	err = syscall.Exec(ts, append([]string{"taskset", "-c", "1", exe}, os.Args[1:]...), env)
	fmt.Fprintln(os.Stderr, "sfu bench: cannot pin:", err)
}

// findGalene looks for the anchor beside the checkout (../shared from
// /work/main, ../../shared from a worktree in /work/wt).
func findGalene() string {
	for _, d := range []string{os.Getenv("SFUBENCH_GALENE"), "../shared/anchors/galene", "../../shared/anchors/galene"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "galene")); err == nil {
			return d
		}
	}
	return "../shared/anchors/galene"
}

// gen is the generator's shared state.
type gen struct {
	api *webrtc.API
	st  *stats
}

func (s *stats) winp() *window { return &s.win }

// participant is one joined client of either server.
type participant interface {
	publisher() *publisher
	close()
}

// scenario is a set of rooms joined at once; in every room the first
// participant publishes, and the others publish when all is set.
type scenario struct {
	name, title string
	rooms       []room
}

type room struct {
	name   string
	size   int
	allPub bool // every participant publishes; else only the first
}

func scenarios(o options) []scenario {
	var out []scenario
	for _, s := range strings.Split(o.Scenarios, ",") {
		switch s {
		case "fanout":
			out = append(out, scenario{name: s, title: fmt.Sprintf("one publisher to %d subscribers", o.FanoutN),
				rooms: []room{{name: "fan", size: o.FanoutN + 1}}})
		case "meetings":
			sc := scenario{name: s, title: fmt.Sprintf("%d meetings of 5, all publishing", o.Meetings)}
			for i := range o.Meetings {
				sc.rooms = append(sc.rooms, room{name: fmt.Sprintf("m%d", i), size: 5, allPub: true})
			}
			out = append(out, sc)
		case "meeting":
			out = append(out, scenario{name: s, title: fmt.Sprintf("one meeting of %d, all publishing", o.MeetingSize),
				rooms: []room{{name: "big", size: o.MeetingSize, allPub: true}}})
		}
	}
	return out
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	servers := strings.Split(o.Servers, ",")
	var md strings.Builder
	fmt.Fprintf(&md, "SFU benchmark, %s: server pinned to core 0, generator to core 1, fresh server per scenario, %s window after %s warmup.\n",
		time.Now().UTC().Format(time.RFC3339), o.Duration, o.Warmup)
	fmt.Fprintf(&md, "Media per publisher: VP8 30 fps, 2.8-3.8 KB delta frames in <=1150-byte packets, a 15 KB keyframe every 2 s (~850 kbit/s, ~97 packets/s), Opus 20 ms frames of 100-140 bytes (50 packets/s).\n")
	for _, sc := range scenarios(o) {
		runs := map[string][]*result{}
		for rep := range max(o.Repeats, 1) {
			for _, name := range servers {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				log.Info("scenario", "scenario", sc.name, "server", name, "run", rep+1)
				r, err := runScenario(ctx, o, sc, name, false, log)
				if err != nil {
					log.Warn("scenario failed", "scenario", sc.name, "server", name, "err", err)
					r = &result{err: err.Error()}
				}
				runs[name] = append(runs[name], r)
				// Let the last server's sockets and goroutines go.
				time.Sleep(2 * time.Second)
			}
		}
		if o.PprofDir != "" && slices.Contains(servers, "huddle") {
			// A run of its own: the profiler's signals cost Huddle CPU
			// that Galène, unprofiled, would not pay.
			log.Info("profiling", "scenario", sc.name, "server", "huddle")
			if _, err := runScenario(ctx, o, sc, "huddle", true, log); err != nil {
				log.Warn("profiling run failed", "err", err)
			}
		}
		res := map[string]*result{}
		for name, rs := range runs {
			res[name] = medianRun(rs)
		}
		writeTable(&md, sc, res)
		if o.Repeats > 1 {
			writeRuns(&md, servers, runs)
		}
	}
	fmt.Print(md.String())
	if o.Out != "" {
		_ = os.MkdirAll(filepath.Dir(o.Out), 0o755)
		return os.WriteFile(o.Out, []byte(md.String()), 0o644)
	}
	return nil
}

// result is one scenario on one server.
type result struct {
	err                         string
	participants, subscribers   int
	pairs, pairsWanted          int // (subscriber, track) pairs receiving
	fwdPerSec                   float64
	serverCPU, genCPU, noiseCPU float64 // % of a core
	cpuPerPkt                   float64 // µs
	pktPerCPUs                  float64
	rssPerSub                   float64 // bytes
	loss                        float64 // %
	latP50, latP99              time.Duration
	firstP50, firstP95          time.Duration
	keyP50, keyP95              time.Duration
	joins                       int
	srvDrops, genDrops          uint64 // UDP receive-buffer drops in the window
	// sendsPerPkt: the server's send system calls per forwarded packet;
	// mallocsPerPkt: its heap allocations per forwarded packet (Huddle
	// only). -1: not measured.
	sendsPerPkt, mallocsPerPkt float64
}

func runScenario(ctx context.Context, o options, sc scenario, name string, profile bool, log *slog.Logger) (r *result, err error) {
	srv, err := startServer(ctx, o, name, sc, profile)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && !srv.alive() {
			// The server died: say how, with the end of its log.
			err = fmt.Errorf("%w; %s exited: %s\n%s", err, name, srv.exit(), srv.logs.String())
		}
		srv.stop()
	}()
	api, err := newAPI()
	if err != nil {
		return nil, err
	}
	g := &gen{api: api, st: &stats{}}
	time.Sleep(time.Second)
	base, err := procstat.Take(srv.pid())
	if err != nil {
		return nil, err
	}

	var (
		mu    sync.Mutex
		parts []participant
		rcvs  []*receiver
		errs  []error
	)
	defer func() {
		for _, p := range parts {
			p.close()
		}
	}()
	sem := make(chan struct{}, o.Concurrency)
	rooms := make([][]*receiver, len(sc.rooms))
	pubs := make([][]*publisher, len(sc.rooms))
	join := func(ri, i int, watch uint32) (participant, *receiver, error) {
		rm := sc.rooms[ri]
		rcv := newReceiver(g.st, watch)
		rcv.joinStart = time.Now()
		jctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		p, err := srv.join(jctx, g, rm.name, fmt.Sprintf("%s-%d", rm.name, i), i == 0 || rm.allPub, rcv)
		return p, rcv, err
	}
	var wg sync.WaitGroup
	for ri, rm := range sc.rooms {
		rooms[ri] = make([]*receiver, rm.size)
		pubs[ri] = make([]*publisher, rm.size)
		wg.Go(func() {
			sem <- struct{}{}
			p0, r0, err := join(ri, 0, 0)
			<-sem
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			mu.Lock()
			parts = append(parts, p0)
			rcvs = append(rcvs, r0)
			rooms[ri][0], pubs[ri][0] = r0, p0.publisher()
			mu.Unlock()
			watch := p0.publisher().id
			// In a meeting where all publish, people join one after the
			// other: with joins overlapping, Galène did not offer some
			// publishers' streams to some joiners at all (16 of 132 in a
			// meeting of 12), which measures a race and not forwarding.
			// Subscribers of the fanout join concurrently.
			var rw sync.WaitGroup
			for i := 1; i < rm.size; i++ {
				if rm.allPub {
					rw.Wait()
				}
				rw.Go(func() {
					sem <- struct{}{}
					p, r, err := join(ri, i, watch)
					<-sem
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
						return
					}
					parts = append(parts, p)
					rcvs = append(rcvs, r)
					rooms[ri][i], pubs[ri][i] = r, p.publisher()
				})
			}
			rw.Wait()
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		log.Warn("joins failed", "n", len(errs), "first", errs[0])
	}

	// Wait until every receiver gets every track it should.
	want := 0
	wantOf := func(ri, i int) int {
		n := 0
		for j, p := range pubs[ri] {
			if j != i && p != nil {
				n += 2
			}
		}
		return n
	}
	for ri := range rooms {
		for i, r := range rooms[ri] {
			if r != nil {
				want += wantOf(ri, i)
			}
		}
	}
	have := func() int {
		n := 0
		for ri := range rooms {
			for i, r := range rooms[ri] {
				if r != nil {
					n += min(r.seen(), wantOf(ri, i))
				}
			}
		}
		return n
	}
	deadline := time.Now().Add(30 * time.Second)
	for have() < want && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	log.Info("joined", "participants", len(parts), "pairs", have(), "want", want)
	time.Sleep(o.Warmup)

	var profDone chan struct{}
	if o.PprofDir != "" && srv.pprof != "" {
		// Heap before and after the window: go tool pprof -base
		// .heap0 .heap shows what the window's forwarding allocated.
		saveHeap(srv.pprof, filepath.Join(o.PprofDir, sc.name+".heap0.pb.gz"))
		profDone = make(chan struct{})
		go func() {
			defer close(profDone)
			saveProfile(srv.pprof, filepath.Join(o.PprofDir, sc.name+".cpu.pb.gz"), o.Duration)
		}()
	}
	s0, err := procstat.Take(srv.pid())
	if err != nil {
		return nil, err
	}
	srvDrops0, _ := udpDrops(srv.pid())
	genDrops0, _ := udpDrops(os.Getpid())
	malloc0 := int64(-1)
	if name == "huddle" {
		malloc0 = mallocs(srv.url)
	}
	sends := countSends(ctx, srv.pid(), o.Duration)
	g.st.win.open(time.Now().UnixNano())
	select {
	case <-time.After(o.Duration):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	g.st.win.close(time.Now().UnixNano())
	s1, err := procstat.Take(srv.pid())
	if err != nil {
		return nil, err
	}
	srvDrops1, _ := udpDrops(srv.pid())
	genDrops1, _ := udpDrops(os.Getpid())
	malloc1, scrape := int64(-1), int64(0)
	if malloc0 >= 0 {
		malloc1 = mallocs(srv.url)
		// A scrape allocates objects itself (the metrics' text: 800-2,000
		// on an idle server, measured with successive reads), counted by
		// the next read: a second read at once measures one scrape, and
		// the window's count loses it.
		if again := mallocs(srv.url); again >= malloc1 {
			scrape = again - malloc1
		}
	}
	nsends := sends()
	time.Sleep(time.Second) // packets of the window still in flight
	if profDone != nil {
		<-profDone
		saveHeap(srv.pprof, filepath.Join(o.PprofDir, sc.name+".heap.pb.gz"))
	}
	w := s1.Since(s0)

	r = &result{participants: len(parts), pairs: have(), pairsWanted: want,
		srvDrops: srvDrops1 - srvDrops0, genDrops: genDrops1 - genDrops0}
	var expected uint64
	for ri := range pubs {
		members := 0
		for _, x := range rooms[ri] {
			if x != nil {
				members++
			}
		}
		for _, p := range pubs[ri] {
			if p != nil {
				expected += p.sent.Load() * uint64(members-1)
			}
		}
	}
	for ri := range rooms {
		for i, x := range rooms[ri] {
			if x != nil && wantOf(ri, i) > 0 {
				r.subscribers++
			}
		}
	}
	got := g.st.inWindow.Load()
	r.fwdPerSec = float64(got) / w.Wall.Seconds()
	r.serverCPU, r.genCPU, r.noiseCPU = w.Percent(w.Server), w.Percent(w.Self), w.Percent(w.Others)
	if got > 0 {
		r.cpuPerPkt = float64(w.Server.Microseconds()) / float64(got)
	}
	if w.Server > 0 {
		r.pktPerCPUs = float64(got) / w.Server.Seconds()
	}
	r.sendsPerPkt, r.mallocsPerPkt = -1, -1
	if got > 0 && nsends >= 0 {
		r.sendsPerPkt = float64(nsends) / float64(got)
	}
	if got > 0 && malloc0 >= 0 && malloc1 >= malloc0 {
		r.mallocsPerPkt = float64(max(0, malloc1-malloc0-scrape)) / float64(got)
	}
	if r.subscribers > 0 {
		r.rssPerSub = float64(s1.ServerRSS-base.ServerRSS) / float64(r.subscribers)
	}
	if expected > 0 {
		r.loss = 100 * (1 - float64(got)/float64(expected))
	}
	r.latP50, r.latP99 = g.st.lat.quantile(0.5), g.st.lat.quantile(0.99)
	var first, key []time.Duration
	for _, x := range rcvs {
		if x.watch == 0 {
			continue
		}
		r.joins++
		if v := x.firstPkt.Load(); v > 0 {
			first = append(first, time.Duration(v))
		}
		if v := x.firstKey.Load(); v > 0 {
			key = append(key, time.Duration(v))
		}
	}
	r.firstP50, r.firstP95 = pct(first, 0.5, r.joins), pct(first, 0.95, r.joins)
	r.keyP50, r.keyP95 = pct(key, 0.5, r.joins), pct(key, 0.95, r.joins)
	log.Info("measured", "scenario", sc.name, "server", name, "fwd_per_s", int(r.fwdPerSec), "server_cpu", fmt.Sprintf("%.0f%%", r.serverCPU),
		"gen_cpu", fmt.Sprintf("%.0f%%", r.genCPU), "loss", fmt.Sprintf("%.2f%%", r.loss), "lat_p50", r.latP50, "lat_p99", r.latP99,
		"first_pkt_p50", r.firstP50.Round(time.Millisecond), "first_key_p50", r.keyP50.Round(time.Millisecond), "first_key_p95", r.keyP95.Round(time.Millisecond))
	if len(errs) > 0 {
		r.err = fmt.Sprintf("%d joins failed, first: %v", len(errs), errs[0])
	}
	return r, nil
}

// medianRun is the run with the median CPU per forwarded packet (the
// lower middle of an even count). Runs that failed to measure are left
// out, and so are runs that lost more than 1 % when another did not: a
// neighbour held the server's core in them, and the queues, not the
// forwarding, set their figures.
func medianRun(rs []*result) *result {
	ok := slices.DeleteFunc(slices.Clone(rs), func(r *result) bool { return r.cpuPerPkt == 0 })
	if len(ok) == 0 {
		return rs[0]
	}
	if clean := slices.DeleteFunc(slices.Clone(ok), func(r *result) bool { return r.loss > 1 }); len(clean) > 0 {
		ok = clean
	}
	slices.SortStableFunc(ok, func(a, b *result) int { return cmp.Compare(a.cpuPerPkt, b.cpuPerPkt) })
	return ok[(len(ok)-1)/2]
}

// pct is the q-quantile of the join times over n joiners; joiners that
// never got a packet count as slower than all (infinite).
func pct(d []time.Duration, q float64, n int) time.Duration {
	if n == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(q * float64(n-1))
	if i >= len(d) {
		return -1
	}
	return d[i]
}

// server is one started SFU process.
type server struct {
	name  string
	cmd   *exec.Cmd
	url   string
	pprof string
	dir   string
	logs  tailBuffer
	join  func(ctx context.Context, g *gen, room, name string, publish bool, rcv *receiver) (participant, error)
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// alive reports whether the server process still runs (not a zombie).
func (s *server) alive() bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// exit waits for a dead server and returns how it ended.
func (s *server) exit() string {
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
		return s.cmd.ProcessState.String()
	case <-time.After(2 * time.Second):
		return "unknown"
	}
}

func (s *server) stop() {
	if s.cmd.ProcessState != nil { // already waited for
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func startServer(ctx context.Context, o options, name string, sc scenario, profile bool) (*server, error) {
	port, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	s := &server{name: name, url: "http://" + addr}
	var args []string
	health := s.url + "/healthz"
	switch name {
	case "huddle":
		// A free media port, not the default 7882 (and no ICE-TCP port,
		// which the generator does not use): another Huddle on
		// the machine (a test, a developer's server) may hold it.
		udp, err := freePort("udp")
		if err != nil {
			return nil, err
		}
		args = []string{"-c", "0", o.Huddle, "--addr", addr, "--sfu-udp", fmt.Sprint(udp), "--sfu-tcp", "0", "--turn=false", "--media", "sfu", "--log-level", "warn",
			"--max-conns-per-ip", "0", "--max-sessions-per-ip", "0", "--max-tcp-per-ip", "0", "--max-participants-per-ip", "0",
			"--rooms-per-ip-per-minute", "0", "--max-participants", "1000", "--events-per-second", "1000000", "--event-burst", "1000000"}
		if profile {
			pp, err := freePort("tcp")
			if err != nil {
				return nil, err
			}
			s.pprof = fmt.Sprintf("http://127.0.0.1:%d", pp)
			args = append(args, "--pprof-addr", fmt.Sprintf("127.0.0.1:%d", pp))
		}
		s.join = func(ctx context.Context, g *gen, room, n string, publish bool, rcv *receiver) (participant, error) {
			return joinHuddle(ctx, g, s.url, room, n, publish, rcv)
		}
	case "galene":
		udp, err := freePort("udp")
		if err != nil {
			return nil, err
		}
		if s.dir, err = os.MkdirTemp("", "sfubench-galene-"); err != nil {
			return nil, err
		}
		groups := filepath.Join(s.dir, "groups")
		_ = os.MkdirAll(groups, 0o755)
		for _, rm := range sc.rooms {
			f, body := galeneGroupFile(rm.name)
			if err := os.WriteFile(filepath.Join(groups, f), body, 0o644); err != nil {
				return nil, err
			}
		}
		args = []string{"-c", "0", filepath.Join(o.Galene, "galene"), "-insecure", "-http", addr, "-turn", "", "-udp-range", fmt.Sprint(udp),
			"-groups", groups, "-static", filepath.Join(o.Galene, "static"), "-data", filepath.Join(s.dir, "data"), "-recordings", filepath.Join(s.dir, "rec")}
		health = s.url + "/group/" + sc.rooms[0].name + "/.status"
		s.join = func(ctx context.Context, g *gen, room, n string, publish bool, rcv *receiver) (participant, error) {
			return joinGalene(ctx, g, s.url, room, n, publish, rcv)
		}
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	s.cmd = exec.Command("taskset", args...)
	// The servers' logs (Galène's say every closed socket) are shown only
	// when the start fails.
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(health)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("%s did not start: %v\n%s", name, err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func saveProfile(base, path string, d time.Duration) {
	fetchTo(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(d.Seconds())), path)
}

// saveHeap saves the server's heap profile, for its memory per subscriber.
// saveHeap saves the heap profile after a collection (gc=1): without one
// the profile is as of the last collection, which in a server that
// allocates little may be from before the joins, and the joins then
// showed in the window's allocations.
func saveHeap(base, path string) { fetchTo(base+"/debug/pprof/heap?gc=1", path) }

func fetchTo(url, path string) {
	_ = os.MkdirAll(filepath.Dir(path), 0o755)
	res, err := http.Get(url)
	if err != nil {
		return
	}
	defer res.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, res.Body)
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = append(t.b[:0], t.b[len(t.b)-8<<10:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
