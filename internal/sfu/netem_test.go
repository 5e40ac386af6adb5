package sfu_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
)

// Congestion and loss on a real link: the subscriber runs in a network
// namespace of its own, behind a veth pair whose server end is shaped
// with tc (tbf for a bandwidth cap, netem for loss), so the SFU's
// bandwidth estimate and NACK handling meet real queues and drops.
//
// The subscriber is this test binary started again inside the namespace
// (ip netns exec), running TestNetemSubscriber: it speaks to the test
// over its stdin and stdout, one JSON message a line (netemMsg), and
// reports what it receives every 100 ms.

// netemHelper is set in the environment of the subscriber process.
const netemHelper = "HUDDLE_NETEM_SUBSCRIBER"

// netemMsg is one line between the test and the subscriber process.
type netemMsg struct {
	// Op: "offer", "candidate" and "reset" (to the subscriber), "answer"
	// and "stats" (from it).
	Op    string                   `json:"op"`
	SDP   string                   `json:"sdp,omitempty"`
	Dir   sfu.Direction            `json:"dir,omitempty"`
	Cand  *webrtc.ICECandidateInit `json:"cand,omitempty"`
	Stats map[string]recvStats     `json:"stats,omitempty"`
}

// recvStats is what the subscriber received of one track.
type recvStats struct {
	Packets  uint64 // received, retransmissions included
	HighSeq  uint64 // highest sequence number, extended over wraps
	LastSize int    // payload size of the last packet: tells the layer
	MaxGap   int64  // longest time between two packets since the last reset, ms
	Late     uint64 // packets older than the highest: retransmissions (or reordered)
}

// netns is a network namespace joined to this one by a veth pair.
type netns struct {
	name, host, peer string     // namespace, veth ends (host's, namespace's)
	hostIP, peerIP   netip.Addr // in 198.18.0.0/15 (RFC 2544, benchmarking)
}

// newNetns makes the namespace, or skips the test when this system does
// not allow it (not root, no iproute2, a container without the right).
func newNetns(t *testing.T) *netns {
	t.Helper()
	if testing.Short() {
		t.Skip("network namespace test: not with -short")
	}
	if raceDetector {
		// It measures times (a layer within 2 s, audio gaps), which the
		// race detector's slowdown on a loaded machine makes meaningless;
		// make test-go runs it again without -race.
		t.Skip("network namespace test: timing test, not under the race detector")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("network namespace test: no ip command (iproute2)")
	}
	if _, err := exec.LookPath("tc"); err != nil {
		t.Skip("network namespace test: no tc command (iproute2)")
	}
	// A /30 of 198.18.0.0/15 per process, so that two runs at once do
	// not clash.
	idx := os.Getpid() % (1 << 15)
	base := netip.AddrFrom4([4]byte{198, 18 + byte(idx>>14), byte(idx >> 6), byte(idx<<2) & 0xfc})
	n := &netns{
		name: fmt.Sprintf("hsfu%d", os.Getpid()), host: fmt.Sprintf("hsv%d", idx), peer: fmt.Sprintf("hsn%d", idx),
		hostIP: base.Next(), peerIP: base.Next().Next(),
	}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Skipf("network namespace test: ip netns add not permitted here: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		_ = exec.Command("ip", "netns", "del", n.name).Run() // takes the veth pair with it
		_ = exec.Command("ip", "link", "del", n.host).Run()
	})
	for _, args := range [][]string{
		{"link", "add", n.host, "type", "veth", "peer", "name", n.peer},
		{"link", "set", n.peer, "netns", n.name},
		{"addr", "add", n.hostIP.String() + "/30", "dev", n.host},
		{"link", "set", n.host, "up"},
		{"-n", n.name, "addr", "add", n.peerIP.String() + "/30", "dev", n.peer},
		{"-n", n.name, "link", "set", n.peer, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	} {
		n.run(t, "ip", args...)
	}
	return n
}

func (n *netns) run(t *testing.T, cmd string, args ...string) {
	t.Helper()
	if out, err := exec.Command(cmd, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", cmd, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
}

// shape sets the queueing discipline of what the server sends to the
// namespace ("tbf rate 600kbit ...", "netem loss 5%"); none lifts it.
func (n *netns) shape(t *testing.T, qdisc ...string) {
	t.Helper()
	if len(qdisc) == 0 {
		_ = exec.Command("tc", "qdisc", "del", "dev", n.host, "root").Run()
		return
	}
	n.run(t, "tc", append([]string{"qdisc", "replace", "dev", n.host, "root"}, qdisc...)...)
}

// randomLoss drops this share of the UDP packets that reach the
// namespace (0: none): netem's loss where the kernel has netem, else an
// nftables rule in the namespace (numgen random), the same on the wire.
func (n *netns) randomLoss(t *testing.T, percent int) {
	t.Helper()
	if percent == 0 {
		n.shape(t)
		_ = exec.Command("ip", "netns", "exec", n.name, "nft", "delete", "table", "inet", "hsfuloss").Run()
		return
	}
	loss := fmt.Sprintf("%d%%", percent)
	if err := exec.Command("tc", "qdisc", "replace", "dev", n.host, "root", "netem", "loss", loss).Run(); err == nil {
		return
	}
	t.Logf("no netem in this kernel: %d %% loss with nftables in the namespace", percent)
	for _, rule := range []string{
		"add table inet hsfuloss",
		"add chain inet hsfuloss in { type filter hook input priority 0; }",
		fmt.Sprintf("add rule inet hsfuloss in meta l4proto udp numgen random mod 100 < %d drop", percent),
	} {
		out, err := exec.Command("ip", "netns", "exec", n.name, "nft", rule).CombinedOutput()
		if err != nil {
			t.Skipf("neither netem nor nftables to drop packets: nft %s: %v: %s", rule, err, bytes.TrimSpace(out))
		}
	}
}

// remoteSubscriber is the test's side of the subscriber process: the
// sfu.Signaler of its peer, and the latest stats it reported.
type remoteSubscriber struct {
	t    *testing.T
	cmd  *exec.Cmd
	logs bytes.Buffer // the process's stderr

	wmu sync.Mutex
	enc *json.Encoder

	mu    sync.Mutex
	stats map[string]recvStats
}

func (r *remoteSubscriber) send(m netemMsg) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	_ = r.enc.Encode(m)
}

func (r *remoteSubscriber) Offer(sd webrtc.SessionDescription) {
	r.send(netemMsg{Op: "offer", SDP: sd.SDP})
}

func (r *remoteSubscriber) Candidate(d sfu.Direction, c webrtc.ICECandidateInit) {
	r.send(netemMsg{Op: "candidate", Dir: d, Cand: &c})
}

// track returns the last stats of "stream/track".
func (r *remoteSubscriber) track(key string) recvStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats[key]
}

// startSubscriber runs the subscriber process in the namespace and joins
// it to room as id.
func startSubscriber(t *testing.T, n *netns, room *sfu.Room, id string) (*remoteSubscriber, *sfu.Peer) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r := &remoteSubscriber{t: t, stats: map[string]recvStats{}}
	r.cmd = exec.Command("ip", "netns", "exec", n.name, exe, "-test.run=^TestNetemSubscriber$", "-test.timeout=10m")
	r.cmd.Env = append(os.Environ(), netemHelper+"="+id)
	r.cmd.Stderr = &syncWriter{w: &r.logs, mu: &r.mu}
	stdin, err := r.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.enc = json.NewEncoder(stdin)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p, err := room.Join(id, r)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.read(stdout, p)
	}()
	t.Cleanup(func() {
		p.Close()
		_ = stdin.Close() // the subscriber ends at the end of its input
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = r.cmd.Process.Kill()
		}
		_ = r.cmd.Wait()
		if t.Failed() {
			r.mu.Lock()
			t.Logf("subscriber's log:\n%s", r.logs.String())
			r.mu.Unlock()
		}
	})
	return r, p
}

// read takes the subscriber's lines; lines that are not JSON are the
// test framework's own.
func (r *remoteSubscriber) read(out io.Reader, p *sfu.Peer) {
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m netemMsg
		if !bytes.HasPrefix(sc.Bytes(), []byte("{")) || json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		switch m.Op {
		case "answer":
			if err := p.Answer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
				r.t.Logf("subscriber's answer refused: %v", err)
			}
		case "candidate":
			if m.Cand != nil {
				_ = p.AddCandidate(m.Dir, *m.Cand)
			}
		case "stats":
			r.mu.Lock()
			r.stats = m.Stats
			r.mu.Unlock()
		}
	}
}

type syncWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// The layers alice publishes: about 130 kbit/s, 420 kbit/s and 950
// kbit/s: under the 600 kbit/s cap only h and q fit.
var netemLayers = []sfutest.Layer{{RID: "q", Packets: 1, Size: 300}, {RID: "h", Packets: 1, Size: 1000}, {RID: "f", Packets: 2, Size: 1150}}

// layerOf names the layer a payload size belongs to.
func layerOf(size int) string {
	for _, l := range netemLayers {
		if l.Size == size {
			return l.RID
		}
	}
	return "?"
}

// lossBetween is the share of packets missing between two reports of a
// track, after retransmissions.
func lossBetween(a, b recvStats) float64 {
	expected := b.HighSeq - a.HighSeq
	if expected == 0 {
		return 1
	}
	got := b.Packets - a.Packets
	if got >= expected {
		return 0
	}
	return 1 - float64(got)/float64(expected)
}

// netemRoom is an SFU on loopback and on the host's end of n's veth
// pair, alice publishing netemLayers on loopback, and a subscriber in
// the namespace that shows her in a big tile.
func netemRoom(t *testing.T, n *netns) *remoteSubscriber {
	t.Helper()
	s, err := sfu.New(sfu.Config{UDPPort: freePort(t, "udp"), Interfaces: []string{"lo", n.host}, IncludeLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	a.PublishLayers(netemLayers...)
	sub, p := startSubscriber(t, n, room, "sub")
	p.SetView("alice", 720)
	return sub
}

// A subscriber whose link is capped at 600 kbit/s moves to a lower layer
// within 2 s, loses little once moved, and its audio never pauses; it
// moves back up within 10 s of the cap lifting.
func TestCongestionInANetworkNamespace(t *testing.T) {
	n := newNetns(t)
	sub := netemRoom(t, n)
	layer := func() string { return layerOf(sub.track("alice/cam").LastSize) }
	// The top layer, steadily for 2 s, before the cap.
	var since time.Time
	sfutest.WaitFor(t, "the subscriber receives the top layer for 2 s", 30*time.Second, func() bool {
		if layer() != "f" {
			since = time.Time{}
		} else if since.IsZero() {
			since = time.Now()
		}
		return !since.IsZero() && time.Since(since) >= 2*time.Second
	})

	// The cap. tbf's queue holds 200 ms, as a home router's might.
	sub.send(netemMsg{Op: "reset"})
	time.Sleep(150 * time.Millisecond)
	n.shape(t, "tbf", "rate", "600kbit", "burst", "16kb", "latency", "200ms")
	capped := time.Now()
	sfutest.WaitFor(t, "a lower layer under the 600 kbit/s cap", 2*time.Second, func() bool { return layer() != "f" })
	t.Logf("capped: layer %s after %s", layer(), time.Since(capped).Round(10*time.Millisecond))
	time.Sleep(time.Until(capped.Add(5 * time.Second)))
	from := sub.track("alice/cam")
	// The layers seen under the cap, every 100 ms, for the log: the
	// estimate may try the top layer again now and then.
	var layers []string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if l := layer(); len(layers) == 0 || layers[len(layers)-1] != l {
			layers = append(layers, l)
		}
	}
	to := sub.track("alice/cam")
	mic := sub.track("alice/mic")
	loss := lossBetween(from, to)
	t.Logf("capped, from 5 s to 10 s: layers %v, video loss %.2f %%, longest audio gap %d ms", layers, loss*100, mic.MaxGap)
	if loss > 0.02 {
		t.Errorf("video loss %.2f %% under the cap after 5 s, want under 2 %%", loss*100)
	}
	if mic.MaxGap > 300 {
		t.Errorf("audio paused for %d ms under the cap", mic.MaxGap)
	}

	// The cap lifts.
	n.shape(t)
	lifted := time.Now()
	sfutest.WaitFor(t, "back to the top layer once the cap lifts", 10*time.Second, func() bool { return layer() == "f" })
	t.Logf("cap lifted: layer f after %s", time.Since(lifted).Round(10*time.Millisecond))
}

// With 5 % random loss on the way to the subscriber, NACKs answered from
// the server's cache keep the video whole.
func TestLossInANetworkNamespace(t *testing.T) {
	n := newNetns(t)
	sub := netemRoom(t, n)
	sfutest.WaitFor(t, "the subscriber receives video", 20*time.Second, func() bool { return sub.track("alice/cam").Packets > 100 })
	n.randomLoss(t, 5)
	time.Sleep(2 * time.Second)
	from := sub.track("alice/cam")
	time.Sleep(5 * time.Second)
	to := sub.track("alice/cam")
	loss := lossBetween(from, to)
	t.Logf("5 %% loss: %d packets, %d of them retransmitted, %.2f %% missing after retransmissions, layer %s", to.Packets-from.Packets, to.Late-from.Late, loss*100, layerOf(to.LastSize))
	if to.Packets-from.Packets < 100 {
		t.Errorf("video stalled under 5 %% loss: %d packets in 5 s", to.Packets-from.Packets)
	}
	if loss > 0.01 {
		t.Errorf("%.2f %% of video packets missing under 5 %% loss, want under 1 %% (NACKs answered)", loss*100)
	}
	n.randomLoss(t, 0)
}

// TestNetemSubscriber is the subscriber process of the tests above; on
// its own it skips.
func TestNetemSubscriber(t *testing.T) {
	id := os.Getenv(netemHelper)
	if id == "" {
		t.Skip("the subscriber process of the network namespace tests")
	}
	// Every interface of the namespace, not loopback: the server is on
	// the other end of the veth pair.
	c := sfutest.New(t, id, func(se *webrtc.SettingEngine, _ *webrtc.Configuration) {
		se.SetInterfaceFilter(func(string) bool { return true })
		se.SetIncludeLoopbackCandidate(false)
	})
	out := &stdoutSignals{enc: json.NewEncoder(os.Stdout)}
	c.Attach(out)
	rec := &recorder{tracks: map[string]*recvStats{}, last: map[string]time.Time{}}
	c.Sub.OnTrack(rec.receive)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				out.send(netemMsg{Op: "stats", Stats: rec.snapshot()})
			}
		}
	}()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m netemMsg
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			t.Fatalf("bad line from the test: %q", sc.Text())
		}
		switch m.Op {
		case "offer":
			c.Offer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m.SDP})
		case "candidate":
			c.Candidate(m.Dir, *m.Cand)
		case "reset":
			rec.reset()
		}
	}
}

// stdoutSignals is the subscriber process's server side: the test.
type stdoutSignals struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (s *stdoutSignals) send(m netemMsg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.enc.Encode(m)
}

func (s *stdoutSignals) Publish(webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	return webrtc.SessionDescription{}, fmt.Errorf("the subscriber process does not publish")
}

func (s *stdoutSignals) Answer(a webrtc.SessionDescription) error {
	s.send(netemMsg{Op: "answer", SDP: a.SDP})
	return nil
}

func (s *stdoutSignals) AddCandidate(d sfu.Direction, c webrtc.ICECandidateInit) error {
	s.send(netemMsg{Op: "candidate", Dir: d, Cand: &c})
	return nil
}

// recorder keeps recvStats per track.
type recorder struct {
	mu     sync.Mutex
	tracks map[string]*recvStats
	last   map[string]time.Time
}

func (r *recorder) receive(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := tr.StreamID() + "/" + tr.ID()
	r.mu.Lock()
	st := r.tracks[key]
	if st == nil {
		st = &recvStats{}
		r.tracks[key] = st
	}
	r.mu.Unlock()
	var cycles uint64
	var prev uint16
	first := true
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		r.mu.Lock()
		if !first {
			// Extend the sequence number; a retransmission comes from
			// behind and leaves the highest where it is.
			if pkt.SequenceNumber < prev && prev-pkt.SequenceNumber > 1<<15 {
				cycles++
			}
		}
		ext := cycles<<16 | uint64(pkt.SequenceNumber)
		if ext > st.HighSeq || first {
			st.HighSeq = ext
			prev = pkt.SequenceNumber
		} else {
			st.Late++
		}
		first = false
		st.Packets++
		st.LastSize = len(pkt.Payload)
		if last, ok := r.last[key]; ok {
			st.MaxGap = max(st.MaxGap, now.Sub(last).Milliseconds())
		}
		r.last[key] = now
		r.mu.Unlock()
	}
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, st := range r.tracks {
		st.MaxGap = 0
	}
}

func (r *recorder) snapshot() map[string]recvStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]recvStats, len(r.tracks))
	for k, st := range r.tracks {
		out[k] = *st
	}
	return out
}
