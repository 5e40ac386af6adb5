package sfu

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// newTestSFU is an SFU that gathers loopback candidates only.
func newTestSFU(t *testing.T, cfg Config) *SFU {
	t.Helper()
	cfg.IncludeLoopback = true
	cfg.Interfaces = []string{"lo"}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client is a real pion participant: it publishes on one connection and
// receives on the other, as a browser of the SFU protocol does.
type client struct {
	t    *testing.T
	name string
	peer *Peer
	api  *webrtc.API
	pub  *webrtc.PeerConnection
	sub  *webrtc.PeerConnection

	mu      sync.Mutex
	pending map[Direction][]webrtc.ICECandidateInit
	got     map[string]*atomic.Uint64 // packets received by "stream/track"
	ended   map[string]bool           // tracks whose reader ended
	offers  atomic.Int32
	plis    atomic.Int32 // keyframe requests the publisher received
	stop    chan struct{}
	joined  chan struct{} // closed once peer is set: Join already offers
}

func newClient(t *testing.T, room *Room, name string) *client {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(i string) bool { return i == "lo" })
	c := &client{
		t: t, name: name, api: webrtc.NewAPI(webrtc.WithSettingEngine(se)),
		pending: map[Direction][]webrtc.ICECandidateInit{}, got: map[string]*atomic.Uint64{},
		ended: map[string]bool{}, stop: make(chan struct{}), joined: make(chan struct{}),
	}
	var err error
	if c.pub, err = c.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if c.sub, err = c.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	c.sub.OnTrack(c.receive)
	if c.peer, err = room.Join(name, c); err != nil {
		t.Fatal(err)
	}
	close(c.joined)
	t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.peer.Close()
	_ = c.pub.Close()
	_ = c.sub.Close()
}

// Offer answers the server's offer for the receiving connection, as a
// browser would, after gathering its candidates.
func (c *client) Offer(sd webrtc.SessionDescription) {
	c.offers.Add(1)
	go func() {
		<-c.joined
		c.mu.Lock()
		defer c.mu.Unlock()
		select {
		case <-c.stop:
			return // the test is over
		default:
		}
		if err := c.sub.SetRemoteDescription(sd); err != nil {
			c.errorf("%s: set offer: %v", c.name, err)
			return
		}
		c.flush(Subscribe)
		answer, err := c.sub.CreateAnswer(nil)
		if err != nil {
			c.errorf("%s: answer: %v", c.name, err)
			return
		}
		gathered := webrtc.GatheringCompletePromise(c.sub)
		if err := c.sub.SetLocalDescription(answer); err != nil {
			c.errorf("%s: set answer: %v", c.name, err)
			return
		}
		<-gathered
		if err := c.peer.Answer(*c.sub.LocalDescription()); err != nil && !errors.Is(err, ErrClosed) {
			c.errorf("%s: server refused the answer: %v", c.name, err)
		}
	}()
}

// errorf fails the test unless it is over: closing the connections at
// its end fails whatever answer was under way.
func (c *client) errorf(format string, args ...any) {
	select {
	case <-c.stop:
	default:
		c.t.Errorf(format, args...)
	}
}

func (c *client) Candidate(d Direction, cand webrtc.ICECandidateInit) {
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		pc := c.pub
		if d == Subscribe {
			pc = c.sub
		}
		if pc.RemoteDescription() == nil {
			c.pending[d] = append(c.pending[d], cand)
			return
		}
		_ = pc.AddICECandidate(cand)
	}()
}

// flush adds candidates that came early; c.mu is held.
func (c *client) flush(d Direction) {
	pc := c.pub
	if d == Subscribe {
		pc = c.sub
	}
	for _, cand := range c.pending[d] {
		_ = pc.AddICECandidate(cand)
	}
	delete(c.pending, d)
}

func (c *client) receive(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	key := tr.StreamID() + "/" + tr.ID()
	c.mu.Lock()
	n := c.got[key]
	if n == nil {
		n = &atomic.Uint64{}
		c.got[key] = n
	}
	delete(c.ended, key)
	c.mu.Unlock()
	for {
		if _, _, err := tr.ReadRTP(); err != nil {
			c.mu.Lock()
			c.ended[key] = true
			c.mu.Unlock()
			return
		}
		n.Add(1)
	}
}

func (c *client) received(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.got[key]; n != nil {
		return n.Load()
	}
	return 0
}

func (c *client) hasEnded(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended[key]
}

// publish sends a VP8 camera and an Opus microphone track through the
// SFU, a frame every 20 ms, until the client closes.
func (c *client) publish() {
	c.t.Helper()
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", c.name)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		sender, err := c.pub.AddTrack(tr)
		if err != nil {
			c.t.Fatal(err)
		}
		go c.countPLIs(sender)
	}
	offer, err := c.pub.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pub)
	if err := c.pub.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	<-gathered
	answer, err := c.peer.Publish(*c.pub.LocalDescription())
	if err != nil {
		c.t.Fatalf("%s: publish: %v", c.name, err)
	}
	c.mu.Lock()
	err = c.pub.SetRemoteDescription(answer)
	c.flush(Publish)
	c.mu.Unlock()
	if err != nil {
		c.t.Fatal(err)
	}
	go c.sendMedia(video, audio)
}

func (c *client) sendMedia(video, audio *webrtc.TrackLocalStaticSample) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	frame := make([]byte, 1000) // a VP8 payload of a realistic size
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		_ = video.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
		_ = audio.WriteSample(media.Sample{Data: frame[:80], Duration: 20 * time.Millisecond})
	}
}

func (c *client) countPLIs(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				c.plis.Add(1)
			}
		}
	}
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestForwardsMediaBothWays(t *testing.T) {
	s := newTestSFU(t, Config{})
	room := s.Room("r1")
	a := newClient(t, room, "alice")
	b := newClient(t, room, "bob")
	a.publish()
	b.publish()
	for _, tc := range []struct {
		who *client
		key string
	}{{b, "alice/cam"}, {b, "alice/mic"}, {a, "bob/cam"}, {a, "bob/mic"}} {
		waitFor(t, tc.who.name+" receives "+tc.key, 10*time.Second, func() bool { return tc.who.received(tc.key) > 20 })
	}
	if n := a.received("alice/cam"); n != 0 {
		t.Errorf("alice received %d packets of her own camera", n)
	}
}

func TestLateJoinerGetsKeyframeAndMedia(t *testing.T) {
	s := newTestSFU(t, Config{KeyframeInterval: 200 * time.Millisecond})
	room := s.Room("r1")
	a := newClient(t, room, "alice")
	a.publish()
	time.Sleep(500 * time.Millisecond) // alice's publishing connection settles
	before := a.plis.Load()
	joined := time.Now()
	c := newClient(t, room, "carol")
	waitFor(t, "a keyframe request reaches the publisher", time.Second, func() bool { return a.plis.Load() > before })
	waitFor(t, "carol receives alice's camera", 5*time.Second, func() bool { return c.received("alice/cam") > 0 })
	t.Logf("late joiner: keyframe requested and first packet within %s", time.Since(joined).Round(time.Millisecond))
}

func TestLeaveRemovesTracks(t *testing.T) {
	s := newTestSFU(t, Config{})
	room := s.Room("r1")
	a := newClient(t, room, "alice")
	b := newClient(t, room, "bob")
	a.publish()
	waitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.received("alice/cam") > 10 })
	offers := b.offers.Load()
	a.peer.Close()
	waitFor(t, "bob gets a new offer", 5*time.Second, func() bool { return b.offers.Load() > offers })
	waitFor(t, "alice's camera ends for bob", 5*time.Second, func() bool { return b.hasEnded("alice/cam") })
	if ids := room.Peers(); len(ids) != 1 || ids[0] != "bob" {
		t.Errorf("room peers after alice left: %v", ids)
	}
	b.peer.Close()
	if n := s.Rooms(); n != 0 {
		t.Errorf("%d rooms left after everyone left", n)
	}
}

func TestMediaStaysInItsRoom(t *testing.T) {
	s := newTestSFU(t, Config{})
	a := newClient(t, s.Room("r1"), "alice")
	b := newClient(t, s.Room("r1"), "bob")
	eve := newClient(t, s.Room("r2"), "eve")
	a.publish()
	waitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.received("alice/cam") > 10 })
	time.Sleep(300 * time.Millisecond)
	eve.mu.Lock()
	n := len(eve.got)
	eve.mu.Unlock()
	if n != 0 || eve.offers.Load() != 0 {
		t.Errorf("a participant of another room got %d tracks and %d offers", n, eve.offers.Load())
	}
}

func TestRefusesTooManyTracks(t *testing.T) {
	s := newTestSFU(t, Config{MaxTracksPerPeer: 2})
	a := newClient(t, s.Room("r1"), "alice")
	for i := 0; i < 3; i++ {
		if _, err := a.pub.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := a.pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.peer.Publish(offer); !errors.Is(err, ErrTooManyTracks) {
		t.Errorf("offer of 3 tracks with a limit of 2: %v, want ErrTooManyTracks", err)
	}
}

func TestRefusesBadDescriptions(t *testing.T) {
	s := newTestSFU(t, Config{})
	a := newClient(t, s.Room("r1"), "alice")
	for _, sd := range []webrtc.SessionDescription{
		{Type: webrtc.SDPTypeOffer, SDP: "garbage"},
		{Type: webrtc.SDPTypeOffer, SDP: strings.Repeat("m=video 9 UDP 96\r\n", 3)},
		{Type: webrtc.SDPTypeAnswer, SDP: "v=0\r\n"},
	} {
		if _, err := a.peer.Publish(sd); err == nil {
			t.Errorf("publish of %q accepted", sd.SDP)
		}
	}
	if err := a.peer.Answer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "v=0\r\n"}); !errors.Is(err, ErrNoOffer) {
		t.Errorf("answer with no offer out: %v, want ErrNoOffer", err)
	}
	if _, err := s.Room("r1").Join("alice", a); !errors.Is(err, ErrDuplicate) {
		t.Errorf("second join of one id: %v, want ErrDuplicate", err)
	}
	a.peer.Close()
	if _, err := a.peer.Publish(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer}); !errors.Is(err, ErrClosed) {
		t.Errorf("publish after close: %v, want ErrClosed", err)
	}
}
