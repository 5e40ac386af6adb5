package sfu_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// newTestSFU is an SFU that gathers loopback candidates only.
func newTestSFU(t *testing.T, cfg sfu.Config) *sfu.SFU {
	t.Helper()
	cfg.IncludeLoopback = true
	cfg.Interfaces = []string{"lo"}
	s, err := sfu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// join makes a participant of room with its server side.
func join(t *testing.T, room *sfu.Room, name string) (*sfutest.Client, *sfu.Peer) {
	t.Helper()
	c := sfutest.New(t, name)
	return c, attach(t, room, c)
}

// attach joins an existing client to room under its name.
func attach(t *testing.T, room *sfu.Room, c *sfutest.Client) *sfu.Peer {
	t.Helper()
	p, err := room.Join(c.Name, c)
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(p)
	t.Cleanup(p.Close)
	return p
}

func TestForwardsMediaBothWays(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	b.Publish()
	for _, tc := range []struct {
		who *sfutest.Client
		key string
	}{{b, "alice/cam"}, {b, "alice/mic"}, {a, "bob/cam"}, {a, "bob/mic"}} {
		sfutest.WaitFor(t, tc.who.Name+" receives "+tc.key, 10*time.Second, func() bool { return tc.who.Received(tc.key) > 20 })
	}
	if n := a.Received("alice/cam"); n != 0 {
		t.Errorf("alice received %d packets of her own camera", n)
	}
}

func TestLateJoinerGetsKeyframeAndMedia(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 200 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	a.Publish()
	time.Sleep(500 * time.Millisecond) // alice's publishing connection settles
	before := a.PLIs.Load()
	joined := time.Now()
	c, _ := join(t, room, "carol")
	sfutest.WaitFor(t, "a keyframe request reaches the publisher", time.Second, func() bool { return a.PLIs.Load() > before })
	sfutest.WaitFor(t, "carol receives alice's camera", 5*time.Second, func() bool { return c.Received("alice/cam") > 0 })
	t.Logf("late joiner: keyframe requested and first packet within %s", time.Since(joined).Round(time.Millisecond))
}

func TestLeaveRemovesTracks(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, ap := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })
	offers := b.Offers.Load()
	ap.Close()
	sfutest.WaitFor(t, "bob gets a new offer", 5*time.Second, func() bool { return b.Offers.Load() > offers })
	sfutest.WaitFor(t, "alice's camera ends for bob", 5*time.Second, func() bool { return b.Ended("alice/cam") })
	if ids := room.Peers(); len(ids) != 1 || ids[0] != "bob" {
		t.Errorf("room peers after alice left: %v", ids)
	}
	bp.Close()
	if n := s.Rooms(); n != 0 {
		t.Errorf("%d rooms left after everyone left", n)
	}
}

func TestMediaStaysInItsRoom(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	a, _ := join(t, s.Room("r1"), "alice")
	b, _ := join(t, s.Room("r1"), "bob")
	eve, _ := join(t, s.Room("r2"), "eve")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })
	time.Sleep(300 * time.Millisecond)
	if n := eve.Tracks(); n != 0 || eve.Offers.Load() != 0 {
		t.Errorf("a participant of another room got %d tracks and %d offers", n, eve.Offers.Load())
	}
}

func TestRefusesTooManyTracks(t *testing.T) {
	s := newTestSFU(t, sfu.Config{MaxTracksPerPeer: 2})
	a, ap := join(t, s.Room("r1"), "alice")
	for i := 0; i < 3; i++ {
		if _, err := a.Pub.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	offer, err := a.Pub.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ap.Publish(offer); !errors.Is(err, sfu.ErrTooManyTracks) {
		t.Errorf("offer of 3 tracks with a limit of 2: %v, want ErrTooManyTracks", err)
	}
}

func TestRefusesBadDescriptions(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	a, ap := join(t, s.Room("r1"), "alice")
	for _, sd := range []webrtc.SessionDescription{
		{Type: webrtc.SDPTypeOffer, SDP: "garbage"},
		{Type: webrtc.SDPTypeOffer, SDP: strings.Repeat("m=video 9 UDP 96\r\n", 3)},
		{Type: webrtc.SDPTypeAnswer, SDP: "v=0\r\n"},
	} {
		if _, err := ap.Publish(sd); err == nil {
			t.Errorf("publish of %q accepted", sd.SDP)
		}
	}
	if err := ap.Answer(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: "v=0\r\n"}); !errors.Is(err, sfu.ErrNoOffer) {
		t.Errorf("answer with no offer out: %v, want ErrNoOffer", err)
	}
	if _, err := s.Room("r1").Join("alice", a); !errors.Is(err, sfu.ErrDuplicate) {
		t.Errorf("second join of one id: %v, want ErrDuplicate", err)
	}
	ap.Close()
	if _, err := ap.Publish(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer}); !errors.Is(err, sfu.ErrClosed) {
		t.Errorf("publish after close: %v, want ErrClosed", err)
	}
}

func TestPeerStats(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, ap := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })
	sfutest.WaitFor(t, "alice's published bytes counted", 5*time.Second, func() bool { return ap.Stats().PublishedBytes > 0 })
	sfutest.WaitFor(t, "bytes forwarded to bob counted", 5*time.Second, func() bool { return bp.Stats().ForwardedBytes > 0 })
	// pion's receiver report interceptor sends one a second.
	sfutest.WaitFor(t, "bob's receiver reports read", 5*time.Second, func() bool { return bp.Stats().Reported })
	// The round trip needs a report echoing a sender report (one a second).
	sfutest.WaitFor(t, "a round trip from bob's reports", 5*time.Second, func() bool { return bp.Stats().RTT > 0 })
	st := bp.Stats()
	t.Logf("bob: %+v", st)
	if st.Loss < 0 || st.Loss > 0.5 || st.RTT < 0 || st.RTT > time.Second {
		t.Errorf("bob's stats on loopback: loss %v, rtt %v", st.Loss, st.RTT)
	}
	if st := ap.Stats(); st.ForwardedBytes != 0 || st.Reported {
		t.Errorf("alice receives nothing, yet: %+v", st)
	}
}

// A shared screen is published beside the camera, on its own section:
// subscribers receive it under the publisher's id and ScreenSuffix, the
// camera keeps going, and each can be hidden on its own (its view id).
func TestScreenIsForwardedBesideTheCamera(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, ap := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	a.Publish() // sections 0 and 1: camera and microphone
	ap.SetScreen("2")
	screen, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "screen", "alice")
	if err != nil {
		t.Fatal(err)
	}
	a.PublishTracks(screen)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		frame := make([]byte, 1200) // every frame a keyframe
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			_ = screen.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
		}
	}()
	screenKey := "alice" + sfu.ScreenSuffix + "/screen"
	sfutest.WaitFor(t, "bob receives alice's screen as a screen", 10*time.Second, func() bool { return b.Received(screenKey) > 20 })
	sfutest.WaitFor(t, "and her camera beside it", 5*time.Second, func() bool { return b.Received("alice/cam") > 20 })
	if n := b.Received("alice/screen"); n != 0 {
		t.Errorf("the screen also came as a second camera: %d packets", n)
	}
	// Hiding the screen stops it alone; hiding the camera stops it alone.
	bp.SetView("alice"+sfu.ScreenSuffix, 0)
	stalled := func(key string) bool {
		n := b.Received(key)
		time.Sleep(300 * time.Millisecond)
		return b.Received(key) == n
	}
	sfutest.WaitFor(t, "the hidden screen stops", 3*time.Second, func() bool { return stalled(screenKey) })
	if stalled("alice/cam") {
		t.Error("hiding the screen stopped the camera")
	}
	bp.SetView("alice"+sfu.ScreenSuffix, 720)
	bp.SetView("alice", 0)
	sfutest.WaitFor(t, "the hidden camera stops", 3*time.Second, func() bool { return stalled("alice/cam") })
	sfutest.WaitFor(t, "the screen shown again flows", 3*time.Second, func() bool { return !stalled(screenKey) })
}

// A joiner's first offer carries every track already in the room: one
// offer, not one for the first track and another a round trip later.
func TestJoinerGetsTheRoomInOneOffer(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	b.Publish()
	for _, key := range []string{"bob/cam", "bob/mic"} {
		sfutest.WaitFor(t, "alice receives "+key, 10*time.Second, func() bool { return a.Received(key) > 0 })
	}
	c, _ := join(t, room, "carol")
	for _, key := range []string{"alice/cam", "alice/mic", "bob/cam", "bob/mic"} {
		sfutest.WaitFor(t, "carol receives "+key, 10*time.Second, func() bool { return c.Received(key) > 0 })
	}
	if n := c.Offers.Load(); n != 1 {
		t.Errorf("carol got %d offers, want 1 with the four tracks", n)
	}
}

// TestOpusFECAndDTXNegotiated: the answer to a publisher asks for Opus
// in-band FEC (a lost packet is rebuilt from the next one) and DTX
// (silence sends next to nothing), and so does the offer to a subscriber.
func TestOpusFECAndDTXNegotiated(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice's microphone", 10*time.Second, func() bool { return b.Received("alice/mic") > 0 })
	for what, sd := range map[string]*webrtc.SessionDescription{
		"the answer to alice's publishing offer": a.Pub.RemoteDescription(),
		"the offer to bob":                       b.Sub.RemoteDescription(),
	} {
		fmtp := opusFmtp(sd.SDP)
		for _, want := range []string{"useinbandfec=1", "usedtx=1"} {
			if !strings.Contains(fmtp, want) {
				t.Errorf("%s: Opus fmtp %q lacks %s", what, fmtp, want)
			}
		}
	}
}

// opusFmtp returns the fmtp line of the Opus payload type in sdp.
func opusFmtp(sdp string) string {
	pt := ""
	for _, l := range strings.Split(sdp, "\r\n") {
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok && strings.Contains(strings.ToLower(rest), " opus/") {
			pt, _, _ = strings.Cut(rest, " ")
		}
		if rest, ok := strings.CutPrefix(l, "a=fmtp:"+pt+" "); ok && pt != "" {
			return rest
		}
	}
	return ""
}
