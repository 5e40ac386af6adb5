package sfu

import (
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// A Sink receives every track published in a room, as it arrives, without
// a peer connection: a server recording is one. It is a subscriber that
// wants every track at its best: the highest simulcast layer, switched to
// at a keyframe when a better one appears, with sequence numbers and
// timestamps kept continuous across switches like a downTrack's.
//
// The forwarding loop of a track costs one atomic load more for rooms
// without a sink.
type Sink interface {
	// TrackAdded is told of a track published in the room (and, when the
	// sink is added, of every track published already). It returns where
	// the track's packets go, or nil for a track it does not want. It
	// runs on the goroutine that publishes and must not block for long.
	TrackAdded(TrackInfo) TrackWriter
}

// TrackInfo describes a published track to a Sink.
type TrackInfo struct {
	PublisherID string // the participant's id (the track's stream id)
	TrackID     string
	Kind        webrtc.RTPCodecType
	Codec       webrtc.RTPCodecCapability
	// Screen is true for a shared screen (published beside the camera).
	Screen bool
	// RequestKeyframe asks the publisher for a keyframe of the layer the
	// sink receives, at most once per Config.KeyframeInterval; a writer
	// that lost packets calls it to start decoding afresh. Nothing for
	// audio.
	RequestKeyframe func()
}

// TrackWriter receives one track's packets for a Sink.
type TrackWriter interface {
	// WriteRTP takes one packet. It is called on the track's forwarding
	// goroutine, never concurrently for one writer, and must not block:
	// a slow writer queues. The packet's header is the writer's to keep;
	// its payload is shared with the subscribers and must not be changed.
	// An error detaches the writer (Close follows).
	WriteRTP(*rtp.Packet) error
	// Close says no packet follows: the track ended, the publisher left,
	// or the sink was removed. It is called once.
	Close()
}

// AddSink starts sending the room's tracks to s: those published now and
// those published later, until remove is called (which closes the
// writers of the tracks still running). A room with a sink stays while it
// has no participant, so a sink added before anybody publishes hears of
// the first track.
func (r *Room) AddSink(s Sink) (remove func()) {
	r.mu.Lock()
	r.sinks = append(r.sinks, s)
	tracks := r.tracksLocked()
	r.mu.Unlock()
	for _, t := range tracks {
		t.addSink(s)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			r.mu.Lock()
			for i, x := range r.sinks {
				if x == s {
					r.sinks = append(r.sinks[:i:i], r.sinks[i+1:]...)
					break
				}
			}
			tracks := r.tracksLocked()
			r.mu.Unlock()
			for _, t := range tracks {
				t.removeSink(s)
			}
			r.sfu.forget(r)
		})
	}
}

// tracksLocked returns every track published in the room; r.mu is held.
func (r *Room) tracksLocked() []*track {
	var out []*track
	for _, p := range r.peers {
		out = append(out, p.tracks()...)
	}
	return out
}

func (r *Room) sinkList() []Sink {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Sink(nil), r.sinks...)
}

// sinksPublished gives a new track to the room's sinks.
func (r *Room) sinksPublished(t *track) {
	for _, s := range r.sinkList() {
		t.addSink(s)
	}
}

// sinkTrack is one track sent to one sink.
type sinkTrack struct {
	sink  Sink
	track *track
	w     TrackWriter

	mu     sync.Mutex
	gate   layerGate // its target is the best layer the track has
	closed bool
}

// best is the quality a sink wants: the highest the track has.
func best(qualities []int) int {
	if len(qualities) == 0 {
		return 0
	}
	return qualities[len(qualities)-1]
}

// addSink starts sending t to s, unless it does already or t has ended.
// t.sinkMu is held throughout, so that a track added by AddSink and by
// its publication at once is told to the sink once.
func (t *track) addSink(s Sink) {
	t.sinkMu.Lock()
	defer t.sinkMu.Unlock()
	if t.sinksEnded || t.hasSinkLocked(s) {
		return
	}
	st := &sinkTrack{sink: s, track: t, gate: newLayerGate(best(t.qualities()), t.simulcast)}
	w := s.TrackAdded(TrackInfo{
		PublisherID: t.owner.id, TrackID: t.id, Kind: t.kind, Codec: t.codec, Screen: t.screen,
		RequestKeyframe: st.requestKeyframe,
	})
	if w == nil {
		return
	}
	st.w = w
	var next []*sinkTrack
	if old := t.sinks.Load(); old != nil {
		next = append(next, *old...)
	}
	t.storeSinksLocked(append(next, st))
	// A video writer has nothing to decode until a keyframe comes.
	t.forceKeyframe(st.gate.target)
}

// hasSinkLocked reports whether s has a writer of t; t.sinkMu is held.
func (t *track) hasSinkLocked(s Sink) bool {
	if p := t.sinks.Load(); p != nil {
		for _, st := range *p {
			if st.sink == s {
				return true
			}
		}
	}
	return false
}

// removeSink detaches s's writer from t and closes it.
func (t *track) removeSink(s Sink) {
	t.sinkMu.Lock()
	var gone *sinkTrack
	if p := t.sinks.Load(); p != nil {
		var next []*sinkTrack
		for _, st := range *p {
			if st.sink == s {
				gone = st
			} else {
				next = append(next, st)
			}
		}
		t.storeSinksLocked(next)
	}
	t.sinkMu.Unlock()
	if gone != nil {
		gone.close()
	}
}

// endSinks closes every sink writer of a track that ended; none is
// added after.
func (t *track) endSinks() {
	t.sinkMu.Lock()
	t.sinksEnded = true
	var all []*sinkTrack
	if p := t.sinks.Load(); p != nil {
		all = *p
	}
	t.sinks.Store(nil)
	t.sinkMu.Unlock()
	for _, st := range all {
		st.close()
	}
}

// storeSinksLocked stores the list, nil when empty so that the forwarding
// loop skips it with one load; t.sinkMu is held.
func (t *track) storeSinksLocked(next []*sinkTrack) {
	if len(next) == 0 {
		t.sinks.Store(nil)
		return
	}
	t.sinks.Store(&next)
}

// sinksRelayer lets every sink choose again among the layers.
func (t *track) sinksRelayer() {
	if p := t.sinks.Load(); p != nil {
		for _, st := range *p {
			st.relayer()
		}
	}
}

// write passes a packet of the given layer on if it is the one the sink
// receives, switching layers at a keyframe of the wanted one.
func (st *sinkTrack) write(quality int, pkt *rtp.Packet) {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	if !st.gate.admit(quality, pkt.Payload) {
		st.mu.Unlock()
		return
	}
	out := *pkt
	st.gate.rw.rewrite(&out, st.track.codec.ClockRate)
	err := st.w.WriteRTP(&out)
	if err != nil {
		st.closed = true
	}
	st.mu.Unlock()
	if err != nil {
		st.track.owner.log.Warn("sink writer failed; detached", "track", st.track.id, "err", err)
		st.track.removeSinkTrack(st)
		st.w.Close()
	}
}

// relayer moves the target to the best layer the track has now.
func (st *sinkTrack) relayer() {
	want := best(st.track.qualities())
	st.mu.Lock()
	changed := st.gate.aim(want, st.track.simulcast)
	st.mu.Unlock()
	if changed {
		st.track.requestKeyframe(want)
	}
}

func (st *sinkTrack) requestKeyframe() {
	st.mu.Lock()
	q := st.gate.target
	st.mu.Unlock()
	st.track.requestKeyframe(q)
}

// close closes the writer once.
func (st *sinkTrack) close() {
	st.mu.Lock()
	was := st.closed
	st.closed = true
	st.mu.Unlock()
	if !was {
		st.w.Close()
	}
}

// removeSinkTrack detaches one writer (its Close is the caller's).
func (t *track) removeSinkTrack(gone *sinkTrack) {
	t.sinkMu.Lock()
	defer t.sinkMu.Unlock()
	if p := t.sinks.Load(); p != nil {
		var next []*sinkTrack
		for _, st := range *p {
			if st != gone {
				next = append(next, st)
			}
		}
		t.storeSinksLocked(next)
	}
}
