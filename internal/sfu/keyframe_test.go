package sfu_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// vp8Publisher sends VP8 frames of three packets 30 times a second on
// its own track: a keyframe when keyframes() says so, else a delta
// frame. It answers no keyframe request; it counts them.
type vp8Publisher struct {
	track *webrtc.TrackLocalStaticRTP
	plis  atomic.Int32
	keys  atomic.Int32 // keyframes sent
}

func publishVP8(t *testing.T, c *sfutest.Client) *vp8Publisher {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", c.Name)
	if err != nil {
		t.Fatal(err)
	}
	p := &vp8Publisher{track: tr}
	c.PublishTracks(tr)
	for _, s := range c.Pub.GetSenders() {
		go func() {
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				for _, pkt := range pkts {
					if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
						p.plis.Add(1)
					}
				}
			}
		}()
	}
	sfutest.WaitFor(t, c.Name+"'s publishing connection", 10*time.Second, func() bool {
		return c.Pub.ConnectionState() == webrtc.PeerConnectionStateConnected
	})
	return p
}

// run sends until stop is closed.
func (p *vp8Publisher) run(stop <-chan struct{}, keyframe func(frame int) bool) {
	tick := time.NewTicker(time.Second / 30)
	defer tick.Stop()
	var seq uint16 = 1000
	var ts uint32
	for frame := 0; ; frame++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		key := keyframe(frame)
		if key {
			p.keys.Add(1)
		}
		for i := 0; i < 3; i++ {
			payload := make([]byte, 400)
			if i == 0 {
				payload[0] = 0x10 // S: start of partition 0, no extension
				payload[1] = 0x01 // P: a delta frame
				if key {
					payload[1] = 0x00
				}
			}
			_ = p.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: i == 2}, Payload: payload})
			seq++
		}
		ts += 3000
	}
}

// isKeyStart reports whether a VP8 payload (as vp8Publisher writes it)
// starts a keyframe.
func isKeyStart(p []byte) bool { return len(p) > 1 && p[0]&0x10 != 0 && p[1]&0x01 == 0 }

// A subscriber that joins after the publisher's last keyframe starts from
// that keyframe, kept by the server, without waiting for another: its
// first video packet starts a keyframe and the numbers run on without a
// gap. The publisher here sends no keyframe after the join at all (as a
// browser that has just sent one ignores requests for a while).
func TestLateJoinerStartsFromTheCachedKeyframe(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	pub := publishVP8(t, a)
	stop := make(chan struct{})
	defer close(stop)
	// Keyframes every 6 frames for the first 18, then only delta frames.
	go pub.run(stop, func(frame int) bool { return frame < 18 && frame%6 == 0 })
	sfutest.WaitFor(t, "alice's keyframes sent", 5*time.Second, func() bool { return pub.keys.Load() == 3 })
	time.Sleep(100 * time.Millisecond)

	joined := time.Now()
	c, _ := join(t, room, "carol")
	sfutest.WaitFor(t, "carol receives alice's camera", time.Second, func() bool { return c.Received("alice/cam") > 0 })
	took := time.Since(joined)
	sfutest.WaitFor(t, "more of alice's camera", 2*time.Second, func() bool { return c.Received("alice/cam") > 30 })
	if first := c.First("alice/cam"); !isKeyStart(first) {
		t.Errorf("carol's first video packet does not start a keyframe: % x", first[:2])
	}
	if n := c.Steps("alice/cam"); n != 0 {
		t.Errorf("%d of carol's %d packets do not follow the one before", n, c.Received("alice/cam"))
	}
	if n := pub.keys.Load(); n != 3 {
		t.Fatalf("alice sent %d keyframes, want 3", n)
	}
	t.Logf("carol's first packet, a keyframe, %s after joining; %d keyframe requests reached alice", took.Round(time.Millisecond), pub.plis.Load())
}

// A new subscriber's keyframe is asked for when it subscribes, before its
// connection is up, so that it is there when the connection is; not only
// once the connection is up, which adds a round trip to the publisher and
// the encoder's time to every join.
func TestKeyframeAskedBeforeTheConnectionIsUp(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	pub := publishVP8(t, a)
	stop := make(chan struct{})
	defer close(stop)
	go pub.run(stop, func(frame int) bool { return frame == 0 })
	sfutest.WaitFor(t, "alice's keyframe sent", 5*time.Second, func() bool { return pub.keys.Load() == 1 })
	time.Sleep(600 * time.Millisecond) // the keyframe throttle (500 ms) is over
	before := pub.plis.Load()

	c := sfutest.New(t, "carol")
	p, err := room.Join(c.Name, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	// Counted when carol's answer reaches the server: her subscribing
	// connection cannot be up before.
	atAnswer := make(chan int32, 1)
	c.Attach(answerSpy{Peer: p, on: func() {
		select {
		case atAnswer <- pub.plis.Load() - before:
		default:
		}
	}})
	select {
	case n := <-atAnswer:
		if n == 0 {
			t.Error("no keyframe request had reached the publisher when carol answered")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("carol did not answer")
	}
	sfutest.WaitFor(t, "carol receives alice's camera", 2*time.Second, func() bool { return c.Received("alice/cam") > 0 })
	if first := c.First("alice/cam"); !isKeyStart(first) {
		t.Errorf("carol's first video packet does not start a keyframe: % x", first[:2])
	}
}

// answerSpy is a participant's server side that calls on before it
// passes on an answer.
type answerSpy struct {
	*sfu.Peer
	on func()
}

func (s answerSpy) Answer(sd webrtc.SessionDescription) error {
	s.on()
	return s.Peer.Answer(sd)
}

// A subscriber that asks for keyframes without pause (a broken or hostile
// client, or a browser on a lossy link) reaches the publisher with at
// most one request per KeyframeInterval: each keyframe costs the
// publisher's encoder and uplink several times a delta frame.
func TestKeyframeRequestsAreThrottled(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 500 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice's camera", 10*time.Second, func() bool { return b.Received("alice/cam") > 0 })
	ssrc := receivedSSRC(t, b.Sub, "alice", "cam")
	time.Sleep(600 * time.Millisecond) // the join's own requests are over
	before := a.PLIs.Load()

	const flood = 2 * time.Second
	sent := 0
	for end := time.Now().Add(flood); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if err := b.Sub.WriteRTCP([]rtcp.Packet{
			&rtcp.PictureLossIndication{MediaSSRC: ssrc},
			&rtcp.FullIntraRequest{MediaSSRC: ssrc, FIR: []rtcp.FIREntry{{SSRC: ssrc}}},
		}); err != nil {
			t.Fatal(err)
		}
		sent += 2
	}
	time.Sleep(600 * time.Millisecond) // a request deferred to the interval's end
	got := a.PLIs.Load() - before
	// One at the start, one per interval, one deferred past the end.
	limit := int32(flood/(500*time.Millisecond)) + 2
	if got == 0 || got > limit {
		t.Errorf("%d keyframe requests sent by bob reached alice as %d; want 1 to %d", sent, got, limit)
	}
}

// receivedSSRC is the SSRC of the track stream/id that pc receives.
func receivedSSRC(t *testing.T, pc *webrtc.PeerConnection, stream, id string) uint32 {
	t.Helper()
	for _, r := range pc.GetReceivers() {
		if tr := r.Track(); tr != nil && tr.StreamID() == stream && tr.ID() == id {
			return uint32(tr.SSRC())
		}
	}
	t.Fatalf("no received track %s/%s", stream, id)
	return 0
}
