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
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
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
	size    map[string]*atomic.Int64  // payload size of the last packet
	jumps   map[string]*atomic.Int64  // sequence numbers far from the last one
	behind  map[string]*atomic.Int64  // packets older than the newest seen: resent or reordered
	steps   map[string]*atomic.Int64  // packets whose sequence number does not follow the last one's
	first   map[string][]byte         // the payload of the first packet
	ended   map[string]bool

	// Offers counts the server's offers; PLIs the keyframe requests that
	// reached this client as a publisher.
	Offers atomic.Int32
	PLIs   atomic.Int32

	screen *webrtc.RTPSender // ShareScreen's, named to the server on each offer
}

// Option changes how a Client connects: the networks it may use
// (SettingEngine), its ICE servers and transport policy (Configuration).
type Option func(*webrtc.SettingEngine, *webrtc.Configuration)

// New makes a participant that gathers loopback candidates only. Attach
// must follow once its server side exists. It has the codecs and
// interceptors a browser has: NACK, reports, TWCC, the simulcast header
// extensions and audio levels.
func New(t testing.TB, name string, options ...Option) *Client {
	return NewWithMedia(t, name, BrowserMedia, options...)
}

// BrowserMedia registers what a browser has (New's media).
func BrowserMedia(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	if err := m.RegisterDefaultCodecs(); err != nil {
		return err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return err
	}
	return webrtc.RegisterDefaultInterceptors(m, ir)
}

// NewWithMedia is New with the codecs, header extensions and interceptors
// that media registers, for a participant unlike a browser.
func NewWithMedia(t testing.TB, name string, media func(*webrtc.MediaEngine, *interceptor.Registry) error, options ...Option) *Client {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(i string) bool { return i == "lo" })
	var conf webrtc.Configuration
	for _, o := range options {
		o(&se, &conf)
	}
	m, ir := &webrtc.MediaEngine{}, &interceptor.Registry{}
	if err := media(m, ir); err != nil {
		t.Fatal(err)
	}
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir))
	c := &Client{
		Name: name, t: t, ready: make(chan struct{}), stop: make(chan struct{}),
		pending: map[sfu.Direction][]webrtc.ICECandidateInit{}, got: map[string]*atomic.Uint64{}, ended: map[string]bool{},
		size: map[string]*atomic.Int64{}, jumps: map[string]*atomic.Int64{}, behind: map[string]*atomic.Int64{},
		steps: map[string]*atomic.Int64{}, first: map[string][]byte{},
	}
	var err error
	if c.Pub, err = api.NewPeerConnection(conf); err != nil {
		t.Fatal(err)
	}
	if c.Sub, err = api.NewPeerConnection(conf); err != nil {
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
// its end fails whatever answer was under way (the test's cleanups may
// close them before this client's own Close runs).
func (c *Client) errorf(format string, args ...any) {
	for _, a := range args {
		if err, ok := a.(error); ok && errors.Is(err, webrtc.ErrConnectionClosed) {
			return
		}
	}
	if !c.stopped() {
		c.t.Errorf(format, args...)
	}
}

func (c *Client) receive(tr *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	key := tr.StreamID() + "/" + tr.ID()
	// Reading the receiver's RTCP lets the sender reports through pion's
	// report interceptor, so that its receiver reports echo them (LSR), as
	// a browser's do: the server's round-trip figures need that.
	go func() {
		for {
			if _, _, err := recv.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	c.mu.Lock()
	n, size, jumps, behind, steps := c.got[key], c.size[key], c.jumps[key], c.behind[key], c.steps[key]
	if n == nil {
		n, size, jumps, behind, steps = &atomic.Uint64{}, &atomic.Int64{}, &atomic.Int64{}, &atomic.Int64{}, &atomic.Int64{}
		c.got[key], c.size[key], c.jumps[key], c.behind[key], c.steps[key] = n, size, jumps, behind, steps
	}
	delete(c.ended, key)
	c.mu.Unlock()
	var last, newest uint16
	for i := 0; ; i++ {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			c.mu.Lock()
			c.ended[key] = true
			c.mu.Unlock()
			return
		}
		// A layer switch that is not rewritten jumps to another stream's
		// numbers (anywhere in 65536); a packet lost or reordered on a
		// loaded machine moves them by a few only, and is not counted.
		if d := int16(pkt.SequenceNumber - last - 1); i > 0 && (d > maxGap || d < -maxGap) {
			jumps.Add(1)
		}
		if i > 0 && pkt.SequenceNumber != last+1 {
			steps.Add(1)
		}
		if i == 0 {
			c.mu.Lock()
			if c.first[key] == nil {
				c.first[key] = append([]byte{}, pkt.Payload...)
			}
			c.mu.Unlock()
		}
		if d := int16(pkt.SequenceNumber - newest); i > 0 && d <= 0 {
			behind.Add(1)
		} else {
			newest = pkt.SequenceNumber
		}
		last = pkt.SequenceNumber
		size.Store(int64(len(pkt.Payload)))
		n.Add(1)
	}
}

// First is the payload of the first packet received on a track, nil
// before one.
func (c *Client) First(key string) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.first[key]
}

// Steps counts the packets of a track whose sequence number is not the
// one after the last packet's: any loss, reordering or jump.
func (c *Client) Steps(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.steps[key]; s != nil {
		return int(s.Load())
	}
	return 0
}

// LastSize is the payload size of the last packet received on a track.
func (c *Client) LastSize(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.size[key]; s != nil {
		return int(s.Load())
	}
	return 0
}

// maxGap is the largest step between two sequence numbers that loss or
// reordering explains; anything larger is a jump.
const maxGap = 64

// Jumps counts the packets of a track whose sequence number is far from
// the one before: a layer switch that is not rewritten shows here.
func (c *Client) Jumps(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if j := c.jumps[key]; j != nil {
		return int(j.Load())
	}
	return 0
}

// Behind counts the packets of a track that came after a newer one: a
// retransmission answering a NACK, or reordering.
func (c *Client) Behind(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.behind[key]; b != nil {
		return int(b.Load())
	}
	return 0
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
	c.negotiatePublish()
	go c.sendMedia(video, audio)
}

// PublishTracks adds these tracks and negotiates them with the server;
// the test sends on them itself.
func (c *Client) PublishTracks(tracks ...webrtc.TrackLocal) {
	c.t.Helper()
	for _, tr := range tracks {
		if _, err := c.Pub.AddTrack(tr); err != nil {
			c.t.Fatal(err)
		}
	}
	c.negotiatePublish()
}

// negotiatePublish offers the publishing connection to the server and
// sets its answer.
func (c *Client) negotiatePublish() {
	c.t.Helper()
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
	c.nameScreen()
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

// SimulcastSizes are the VP8 payload sizes PublishSimulcast sends on its
// layers q, h and f: a receiver tells the layer by the size.
var SimulcastSizes = map[string]int{"q": 200, "h": 500, "f": 1000}

// PublishSimulcast sends a VP8 camera ("cam") as three simulcast layers,
// q, h and f, one packet per layer and frame every 20 ms, a keyframe
// every 10 frames, plus an Opus microphone ("mic").
func (c *Client) PublishSimulcast() {
	c.t.Helper()
	c.PublishLayers(Layer{"q", 1, SimulcastSizes["q"]}, Layer{"h", 1, SimulcastSizes["h"]}, Layer{"f", 1, SimulcastSizes["f"]})
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
