// Package sfutest is a real pion participant of Huddle's SFU, for tests:
// it publishes a VP8 camera and an Opus microphone on one peer connection
// and receives on another, as the web app does in SFU mode, and counts
// the RTP packets it receives per track.
package sfutest

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// Server is the server side of one participant: an *sfu.Peer, or the same
// calls sent as signaling events.
type Server interface {
	Publish(offer webrtc.SessionDescription) (webrtc.SessionDescription, error)
	Answer(answer webrtc.SessionDescription) error
	AddCandidate(d sfu.Direction, c webrtc.ICECandidateInit) error
}

// Client is one participant. It is the sfu.Signaler of its server side.
type Client struct {
	Name string
	Pub  *webrtc.PeerConnection
	Sub  *webrtc.PeerConnection

	t      testing.TB
	server Server
	ready  chan struct{} // closed by Attach: offers wait for the server side
	stop   chan struct{}
	once   sync.Once

	mu      sync.Mutex
	pending map[sfu.Direction][]webrtc.ICECandidateInit
	got     map[string]*atomic.Uint64 // packets by "stream/track"
	ended   map[string]bool

	// Offers counts the server's offers; PLIs the keyframe requests that
	// reached this client as a publisher.
	Offers atomic.Int32
	PLIs   atomic.Int32
}

// New makes a participant that gathers loopback candidates only. Attach
// must follow once its server side exists.
func New(t testing.TB, name string) *Client {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(i string) bool { return i == "lo" })
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	c := &Client{
		Name: name, t: t, ready: make(chan struct{}), stop: make(chan struct{}),
		pending: map[sfu.Direction][]webrtc.ICECandidateInit{}, got: map[string]*atomic.Uint64{}, ended: map[string]bool{},
	}
	var err error
	if c.Pub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	if c.Sub, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		t.Fatal(err)
	}
	c.Sub.OnTrack(c.receive)
	t.Cleanup(c.Close)
	return c
}

// Attach gives the client its server side; offers that came before wait
// for it.
func (c *Client) Attach(s Server) {
	c.server = s
	close(c.ready)
}

// Close stops sending and closes both connections.
func (c *Client) Close() {
	c.once.Do(func() { close(c.stop) })
	_ = c.Pub.Close()
	_ = c.Sub.Close()
}

// Offer answers the server's offer for the receiving connection, as a
// browser would, after gathering its candidates.
func (c *Client) Offer(sd webrtc.SessionDescription) {
	c.Offers.Add(1)
	go func() {
		<-c.ready
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.stopped() {
			return
		}
		if err := c.Sub.SetRemoteDescription(sd); err != nil {
			c.errorf("%s: set offer: %v", c.Name, err)
			return
		}
		c.flush(sfu.Subscribe)
		answer, err := c.Sub.CreateAnswer(nil)
		if err != nil {
			c.errorf("%s: answer: %v", c.Name, err)
			return
		}
		gathered := webrtc.GatheringCompletePromise(c.Sub)
		if err := c.Sub.SetLocalDescription(answer); err != nil {
			c.errorf("%s: set answer: %v", c.Name, err)
			return
		}
		<-gathered
		if err := c.server.Answer(*c.Sub.LocalDescription()); err != nil && !errors.Is(err, sfu.ErrClosed) {
			c.errorf("%s: server refused the answer: %v", c.Name, err)
		}
	}()
}

// Candidate adds one of the server's candidates, or keeps it until its
// connection has the server's description.
func (c *Client) Candidate(d sfu.Direction, cand webrtc.ICECandidateInit) {
	go func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		pc := c.conn(d)
		if pc.RemoteDescription() == nil {
			c.pending[d] = append(c.pending[d], cand)
			return
		}
		_ = pc.AddICECandidate(cand)
	}()
}

func (c *Client) conn(d sfu.Direction) *webrtc.PeerConnection {
	if d == sfu.Subscribe {
		return c.Sub
	}
	return c.Pub
}

// flush adds candidates that came early; c.mu is held.
func (c *Client) flush(d sfu.Direction) {
	for _, cand := range c.pending[d] {
		_ = c.conn(d).AddICECandidate(cand)
	}
	delete(c.pending, d)
}

func (c *Client) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// errorf fails the test unless it is over: closing the connections at
// its end fails whatever answer was under way.
func (c *Client) errorf(format string, args ...any) {
	if !c.stopped() {
		c.t.Errorf(format, args...)
	}
}

func (c *Client) receive(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
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

// Received is the number of RTP packets received on "stream/track" (the
// publisher's id and its track id).
func (c *Client) Received(key string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.got[key]; n != nil {
		return n.Load()
	}
	return 0
}

// Tracks is the number of tracks received so far.
func (c *Client) Tracks() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.got)
}

// Ended reports whether the track's reader ended (its sender went).
func (c *Client) Ended(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ended[key]
}

// Publish sends a VP8 camera ("cam") and an Opus microphone ("mic") with
// the client's name as stream id, a frame every 20 ms, until Close.
func (c *Client) Publish() {
	c.t.Helper()
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", c.Name)
	if err != nil {
		c.t.Fatal(err)
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", c.Name)
	if err != nil {
		c.t.Fatal(err)
	}
	for _, tr := range []webrtc.TrackLocal{video, audio} {
		sender, err := c.Pub.AddTrack(tr)
		if err != nil {
			c.t.Fatal(err)
		}
		go c.countPLIs(sender)
	}
	offer, err := c.Pub.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.Pub)
	if err := c.Pub.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	<-gathered
	<-c.ready
	answer, err := c.server.Publish(*c.Pub.LocalDescription())
	if err != nil {
		c.t.Fatalf("%s: publish: %v", c.Name, err)
	}
	c.mu.Lock()
	err = c.Pub.SetRemoteDescription(answer)
	c.flush(sfu.Publish)
	c.mu.Unlock()
	if err != nil {
		c.t.Fatal(err)
	}
	go c.sendMedia(video, audio)
}

func (c *Client) sendMedia(video, audio *webrtc.TrackLocalStaticSample) {
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

func (c *Client) countPLIs(sender *webrtc.RTPSender) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if _, ok := p.(*rtcp.PictureLossIndication); ok {
				c.PLIs.Add(1)
			}
		}
	}
}

// WaitFor fails the test unless ok becomes true within the time.
func WaitFor(t testing.TB, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
