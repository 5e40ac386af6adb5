package sfu

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Peer is one participant's media: its publishing and subscribing peer
// connections, what it publishes and what it receives.
type Peer struct {
	id   string
	room *Room
	sig  Signaler
	log  *slog.Logger
	pub  *webrtc.PeerConnection
	sub  *webrtc.PeerConnection
	// estimate is the subscribing connection's bandwidth estimator; nil
	// when Config.BandwidthEstimator made none.
	estimate bitrateEstimate

	subMu     sync.Mutex     // serialises subscribe
	done      chan struct{}  // closed by Close
	views     map[string]int // the last SetView height by stream id
	screenMid string         // the publishing section of the shared screen (SetScreen)
	// subUp is whether the subscribing connection has come up: a
	// keyframe asked for before would be lost.
	subUp     atomic.Bool
	mu        sync.Mutex
	closed    bool
	published []*track
	downs     map[*track]*downTrack
	// The subscribing side has at most one offer out; a change while it
	// is out marks the side dirty, and the answer triggers the next offer.
	offering, dirty bool
	// Candidates that came before the description they belong to.
	early map[Direction][]webrtc.ICECandidateInit
}

func newPeer(r *Room, id string, sig Signaler) (*Peer, error) {
	p := &Peer{
		id: id, room: r, sig: sig, log: r.sfu.log.With("room", r.id, "participant", id),
		downs: map[*track]*downTrack{}, early: map[Direction][]webrtc.ICECandidateInit{},
		done: make(chan struct{}), views: map[string]int{},
	}
	var err error
	if p.pub, _, err = r.sfu.newConnection(false); err != nil {
		return nil, err
	}
	if p.sub, p.estimate, err = r.sfu.newConnection(true); err != nil {
		_ = p.pub.Close()
		return nil, err
	}
	go p.allocate(p.estimate)
	p.trickle(p.pub, Publish)
	p.trickle(p.sub, Subscribe)
	p.pub.OnTrack(p.onTrack)
	p.sub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		// Up from the first time it connects: a connection that is
		// disconnected for a moment (a congested link) may come back,
		// and keeps its media meanwhile.
		if s == webrtc.PeerConnectionStateConnected && !p.subUp.Swap(true) {
			go p.firstKeyframes()
		}
	})
	p.pub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			p.log.Info("publishing connection failed")
		}
	})
	return p, nil
}

func (p *Peer) trickle(pc *webrtc.PeerConnection, d Direction) {
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			p.sig.Candidate(d, c.ToJSON())
		}
	})
}

// ID returns the participant's id (the stream id of its tracks).
func (p *Peer) ID() string { return p.id }

// Publish takes the client's offer for its publishing connection and
// returns the server's answer. An offer that would publish more than
// Config.MaxTracksPerPeer tracks is refused whole.
func (p *Peer) Publish(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	if p.isClosed() {
		return webrtc.SessionDescription{}, ErrClosed
	}
	if offer.Type != webrtc.SDPTypeOffer {
		return webrtc.SessionDescription{}, ErrBadSDP
	}
	n, err := sendingSections(offer.SDP)
	if err != nil {
		return webrtc.SessionDescription{}, ErrBadSDP
	}
	if n > p.room.sfu.cfg.MaxTracksPerPeer {
		return webrtc.SessionDescription{}, ErrTooManyTracks
	}
	if err := p.pub.SetRemoteDescription(offer); err != nil {
		return webrtc.SessionDescription{}, fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.addEarly(Publish)
	answer, err := p.pub.CreateAnswer(nil)
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	if err := p.pub.SetLocalDescription(answer); err != nil {
		return webrtc.SessionDescription{}, err
	}
	sd := *p.pub.LocalDescription()
	sd.SDP = askForDTX(sd.SDP)
	return sd, nil
}

// sendingSections counts the audio and video sections a client offers
// to send on.
func sendingSections(raw string) (int, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return 0, err
	}
	n := 0
	for _, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if kind != "audio" && kind != "video" {
			continue
		}
		recvOnly := false
		for _, a := range m.Attributes {
			if a.Key == "recvonly" || a.Key == "inactive" {
				recvOnly = true
			}
		}
		if !recvOnly && m.MediaName.Port.Value != 0 {
			n++
		}
	}
	return n, nil
}

// Answer takes the client's answer to the server's last offer on the
// subscribing connection.
func (p *Peer) Answer(answer webrtc.SessionDescription) error {
	if p.isClosed() {
		return ErrClosed
	}
	if answer.Type != webrtc.SDPTypeAnswer {
		return ErrBadSDP
	}
	if p.sub.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		return ErrNoOffer
	}
	if err := p.sub.SetRemoteDescription(answer); err != nil {
		if p.isClosed() {
			return ErrClosed // it left while the answer was on its way
		}
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	p.addEarly(Subscribe)
	p.mu.Lock()
	p.offering = false
	again := p.dirty
	p.mu.Unlock()
	if again {
		p.negotiate()
	}
	return nil
}

// AddCandidate adds one of the client's ICE candidates. A candidate that
// comes before its connection's remote description waits for it.
func (p *Peer) AddCandidate(d Direction, c webrtc.ICECandidateInit) error {
	pc := p.conn(d)
	if pc == nil {
		return ErrBadSDP
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	if pc.RemoteDescription() == nil {
		if len(p.early[d]) < maxEarlyCandidates {
			p.early[d] = append(p.early[d], c)
		}
		p.mu.Unlock()
		return nil
	}
	p.mu.Unlock()
	return pc.AddICECandidate(c)
}

// maxEarlyCandidates bounds what a client may park before its
// description: a real browser gathers a handful.
const maxEarlyCandidates = 64

func (p *Peer) addEarly(d Direction) {
	p.mu.Lock()
	early := p.early[d]
	delete(p.early, d)
	p.mu.Unlock()
	for _, c := range early {
		if err := p.conn(d).AddICECandidate(c); err != nil {
			p.log.Debug("early candidate refused", "direction", d, "err", err)
		}
	}
}

func (p *Peer) conn(d Direction) *webrtc.PeerConnection {
	switch d {
	case Publish:
		return p.pub
	case Subscribe:
		return p.sub
	}
	return nil
}

// Close takes the participant out of the room: its tracks go from every
// other participant, and its connections close.
func (p *Peer) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.done)
	published := p.published
	p.published = nil
	p.mu.Unlock()
	p.room.left(p)
	for _, t := range published {
		p.room.unpublished(t)
	}
	_ = p.pub.Close()
	_ = p.sub.Close()
}

func (p *Peer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// tracks returns what p publishes now.
func (p *Peer) tracks() []*track {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*track(nil), p.published...)
}

func (p *Peer) downTracks() []*downTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]*downTrack, 0, len(p.downs))
	for _, d := range p.downs {
		out = append(out, d)
	}
	return out
}

// onTrack starts forwarding a stream the participant publishes: a new
// track, or another simulcast layer of one it publishes already.
func (p *Peer) onTrack(remote *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	t := p.publishedTrack(remote.ID())
	isNew := t == nil
	if isNew {
		if len(p.published) >= p.room.sfu.cfg.MaxTracksPerPeer {
			p.mu.Unlock()
			p.log.Warn("published track ignored: too many", "track", remote.ID())
			return
		}
		t = newTrack(p, remote)
		t.screen = remote.Kind() == webrtc.RTPCodecTypeVideo && p.screenMid != "" && p.midOf(receiver) == p.screenMid
		if remote.Kind() == webrtc.RTPCodecTypeAudio {
			t.levelID = audioLevelID(receiver)
		}
		p.published = append(p.published, t)
	}
	l := t.addLayer(remote)
	p.mu.Unlock()
	p.log.Info("track published", "track", t.id, "rid", l.rid, "kind", remote.Kind().String(), "codec", remote.Codec().MimeType)
	if isNew {
		p.room.published(t)
	} else {
		t.layersChanged()
	}
	go p.forward(t, l)
}

// publishedTrack finds a published track by id; p.mu is held.
func (p *Peer) publishedTrack(id string) *track {
	for _, t := range p.published {
		if t.id == id {
			return t
		}
	}
	return nil
}

// forward runs for the life of one layer; when a track's last layer
// ends, the track goes from the subscribers.
func (p *Peer) forward(t *track, l *layer) {
	t.forward(l)
	if t.removeLayer(l) {
		t.layersChanged()
		return
	}
	p.mu.Lock()
	for i, x := range p.published {
		if x == t {
			p.published = append(p.published[:i], p.published[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	p.room.unpublished(t)
}

// firstKeyframeRetry is how long a new subscriber waits for its first
// keyframe before asking again: Chrome ignores a keyframe request that
// comes within 300 ms of the one before (another subscriber's, or a layer
// switch's), so one request may not be enough.
const firstKeyframeRetry = 350 * time.Millisecond

// firstKeyframes starts every video once the subscribing connection is
// up (what was forwarded before was lost, keyframes included): from a
// recent keyframe in the packet cache, which the request made when the
// video was subscribed to (Peer.addDown) has usually brought by then, or
// else by asking the publisher for one now, and again for the videos
// still without one, of every layer this time (two more tries): the
// target may have moved meanwhile, or be a layer the browser does not
// answer for.
func (p *Peer) firstKeyframes() {
	for _, d := range p.downTracks() {
		d.start()
	}
	for try := 0; try < 3; try++ {
		waiting := false
		for _, d := range p.downTracks() {
			if d.started() {
				continue
			}
			if try == 0 {
				d.forceFirstKeyframes()
			} else {
				d.track.forceEveryKeyframe()
			}
			waiting = true
		}
		if !waiting {
			return
		}
		select {
		case <-p.done:
			return
		case <-time.After(firstKeyframeRetry):
		}
	}
}

// SetScreen names the section (mid) of the publishing connection that
// carries the participant's shared screen, so that it is forwarded as a
// screen beside the camera (stream id: the participant's id and
// ScreenSuffix) and never as a second camera. It is told before the offer
// that adds the section; "" for none.
func (p *Peer) SetScreen(mid string) {
	p.mu.Lock()
	p.screenMid = mid
	p.mu.Unlock()
}

// midOf finds the mid of the publishing section a receiver belongs to.
func (p *Peer) midOf(r *webrtc.RTPReceiver) string {
	for _, tr := range p.pub.GetTransceivers() {
		if tr.Receiver() == r {
			return tr.Mid()
		}
	}
	return ""
}

// SetView says how the participant shows another participant's video:
// in a tile of this height in CSS pixels, which picks the simulcast layer
// it receives, or not at all (0: scrolled off, hidden, tab in the
// background), which stops that video until it is shown again. Audio
// always flows. The id is a participant's for its camera, or that id and
// ScreenSuffix for its shared screen.
func (p *Peer) SetView(id string, height int) {
	p.mu.Lock()
	p.views[id] = height // for tracks it publishes later
	p.mu.Unlock()
	for _, d := range p.downTracks() {
		if d.track.streamID() == id {
			d.setView(height)
		}
	}
}

// subscribe starts sending t to p.
func (p *Peer) subscribe(t *track) {
	if p.addDown(t) {
		p.negotiate()
	}
}

// subscribeAll starts sending every one of tracks to p, with one offer:
// a joiner's first offer carries the whole room, not one track and the
// rest a round trip later.
func (p *Peer) subscribeAll(tracks []*track) {
	added := false
	for _, t := range tracks {
		added = p.addDown(t) || added
	}
	if added {
		p.negotiate()
	}
}

// addDown makes t's sender to p, and reports whether it did; the offer
// that carries it is the caller's.
func (p *Peer) addDown(t *track) bool {
	// A track can be offered twice at once (the participant joins while
	// the track is published): one subscription at a time per peer.
	p.subMu.Lock()
	defer p.subMu.Unlock()
	p.mu.Lock()
	if p.closed || p.downs[t] != nil {
		p.mu.Unlock()
		return false
	}
	p.mu.Unlock()
	d, err := newDownTrack(p, t)
	if err != nil {
		p.log.Warn("cannot subscribe", "track", t.id, "err", err)
		return false
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		d.stop()
		return false
	}
	p.downs[t] = d
	height, viewed := p.views[t.streamID()]
	p.mu.Unlock()
	if viewed {
		d.setView(height)
	}
	t.attach(d)
	if !p.subUp.Load() {
		// Asked now, while the offer, the answer and the connection's
		// set-up take their 0.1-0.3 s, the keyframe is in the cache when
		// the connection comes up (firstKeyframes), instead of a round
		// trip to the publisher after it.
		d.requestFirstKeyframes()
	}
	return true
}

// unsubscribe stops sending t to p.
func (p *Peer) unsubscribe(t *track) {
	p.mu.Lock()
	d := p.downs[t]
	delete(p.downs, t)
	closed := p.closed
	p.mu.Unlock()
	if d == nil {
		return
	}
	t.detach(d)
	d.stop()
	if !closed {
		p.negotiate()
	}
}

// negotiate sends a new offer on the subscribing connection, or marks
// that one is needed once the offer out is answered.
func (p *Peer) negotiate() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if p.offering {
		p.dirty = true
		p.mu.Unlock()
		return
	}
	p.offering, p.dirty = true, false
	p.mu.Unlock()
	offer, err := p.sub.CreateOffer(nil)
	if err == nil {
		err = p.sub.SetLocalDescription(offer)
	}
	if err != nil {
		if !strings.Contains(err.Error(), "closed") {
			p.log.Warn("cannot offer", "err", err)
		}
		p.mu.Lock()
		p.offering = false
		p.mu.Unlock()
		return
	}
	p.sig.Offer(*p.sub.LocalDescription())
}
