package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// track is one published track and the subscribers it is sent to. A
// simulcast track has several layers (the same picture at several sizes,
// each its own RTP stream); each subscriber gets one of them.
type track struct {
	id    string // the publisher's track id, kept for the subscribers
	owner *Peer
	kind  webrtc.RTPCodecType
	codec webrtc.RTPCodecCapability
	// simulcast is true when layers can be switched: VP8 only, where a
	// switch waits for a keyframe the server can recognise.
	simulcast bool
	// levelID is the audio-level extension's id on the publisher's
	// connection (speakers.go); 0: none.
	levelID uint8
	// screen is true for a shared screen, published beside the camera
	// (Peer.SetScreen): subscribers see it under its own stream id.
	screen bool

	mu       sync.Mutex // serialises changes to downs and layers
	layers   []*layer   // by quality, lowest first
	measured layerRates
	downs    atomic.Pointer[[]*downTrack]
	// sinks are the room's sinks that take this track (sink.go); nil
	// when none, so a room without one pays a single load per packet.
	sinks      atomic.Pointer[[]*sinkTrack]
	sinkMu     sync.Mutex // serialises changes to sinks
	sinksEnded bool       // the track ended: no sink is added

	// quiet is set on an audio track with levels whose participant is
	// not among the loudest of a large room (speakers.go): its packets
	// go to no subscriber. skipped counts those packets, by which the
	// forwarded ones' sequence numbers are lowered; only the track's one
	// forwarding goroutine uses it (audio has one layer).
	quiet     atomic.Bool
	skipped   uint16
	resent    atomic.Uint64 // packets sent again on a subscriber's NACK
	malformed atomic.Uint64 // packets from the publisher that did not parse
	stopCheck atomic.Int64  // when the layers were last looked at (stopped.go)
	packets   atomic.Uint64 // of all layers, counted for stopped.go
}

// layer is one RTP stream of a track.
type layer struct {
	rid     string
	quality int // see ridQuality
	remote  *webrtc.TrackRemote
	// lastKeyframe is when a keyframe was last asked of this layer (Unix
	// nanoseconds), for the throttle.
	lastKeyframe atomic.Int64
	// deferred is set while a request that came too soon after the last
	// one waits to be sent at the end of the interval.
	deferred atomic.Bool
	packets  atomic.Uint64
	bytes    atomic.Uint64 // RTP payload and header, for its bitrate
	// lastPacket is when the layer's last packet came, and stoppedAt when
	// it was taken for stopped, 0 while it flows (Unix nanoseconds);
	// packetsAtLast is the track's count at its last packet (stopped.go).
	lastPacket, stoppedAt atomic.Int64
	packetsAtLast         atomic.Uint64
	// cache answers the subscribers' NACKs; nil for audio, for which
	// NACK is not negotiated.
	cache *packetCache
}

// ScreenSuffix ends the stream id under which subscribers receive a
// participant's shared screen; the camera and microphone come under the
// participant's id alone. It is also the view id of the screen (SetView).
const ScreenSuffix = "~screen"

// streamID is the stream id subscribers see this track under, and the id
// their views name it by.
func (t *track) streamID() string {
	if t.screen {
		return t.owner.id + ScreenSuffix
	}
	return t.owner.id
}

func newTrack(owner *Peer, remote *webrtc.TrackRemote) *track {
	codec := remote.Codec().RTPCodecCapability
	t := &track{
		id: remote.ID(), owner: owner, kind: remote.Kind(), codec: codec,
		simulcast: codec.MimeType == webrtc.MimeTypeVP8,
	}
	t.downs.Store(&[]*downTrack{})
	return t
}

// addLayer adds one of the track's RTP streams and returns it.
func (t *track) addLayer(remote *webrtc.TrackRemote) *layer {
	l := &layer{rid: remote.RID(), quality: ridQuality(remote.RID()), remote: remote}
	l.lastPacket.Store(time.Now().UnixNano()) // its first packet is being read
	if t.kind == webrtc.RTPCodecTypeVideo {
		l.cache = newPacketCache()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	i := 0
	for i < len(t.layers) && t.layers[i].quality <= l.quality {
		i++
	}
	t.layers = append(t.layers[:i], append([]*layer{l}, t.layers[i:]...)...)
	return l
}

// removeLayer forgets a layer whose stream ended; it reports whether the
// track has layers left.
func (t *track) removeLayer(l *layer) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, x := range t.layers {
		if x == l {
			t.layers = append(t.layers[:i], t.layers[i+1:]...)
			break
		}
	}
	return len(t.layers) > 0
}

// layersChanged lets every subscriber choose again among the layers.
func (t *track) layersChanged() {
	for _, d := range *t.downs.Load() {
		d.relayer()
	}
	t.sinksRelayer()
}

// qualities returns the qualities of the track's layers, lowest first.
func (t *track) qualities() []int {
	rates := t.rates()
	t.mu.Lock()
	defer t.mu.Unlock()
	q := make([]int, 0, len(t.layers))
	for _, l := range t.layers {
		// A layer measured at 0 bit/s, or without a packet for a while
		// (stopped.go), has stopped: a browser short of CPU or bandwidth
		// drops its top layers. Aiming at it would wait for a keyframe
		// that never comes.
		if r, measured := rates[l.quality]; (measured && r == 0) || l.stoppedAt.Load() != 0 {
			continue
		}
		q = append(q, l.quality)
	}
	if len(q) == 0 {
		for _, l := range t.layers {
			q = append(q, l.quality)
		}
	}
	return q
}

func (t *track) layerOf(quality int) *layer {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.layers {
		if l.quality == quality {
			return l
		}
	}
	return nil
}

// attach and detach copy the list, so that the forwarding loops read it
// without a lock.
func (t *track) attach(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := append(append(make([]*downTrack, 0, len(old)+1), old...), d)
	t.downs.Store(&next)
}

func (t *track) detach(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

// receiveMTU is the largest packet read from a publisher; pion's own
// limit is 1460.
const receiveMTU = 1500

// forward reads one layer's packets and hands each to every subscriber,
// which keeps those of the layer it receives, until the stream ends. It
// reads into one buffer and one packet, reused: the subscribers' writes
// are done with them when they return. A packet pion cannot parse is
// dropped.
func (t *track) forward(l *layer) {
	buf := make([]byte, receiveMTU)
	var pkt rtp.Packet
	batches := &t.owner.room.sfu.batches
	for {
		n, _, err := l.remote.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			t.malformed.Add(1)
			continue
		}
		l.packets.Add(1)
		l.bytes.Add(uint64(len(pkt.Payload) + 12))
		if t.levelID != 0 {
			t.owner.room.speakers.observe(t.owner.id, pkt.GetExtension(t.levelID))
		}
		if l.cache != nil {
			l.cache.put(pkt.SequenceNumber, buf[:n], t.simulcast && isVP8Keyframe(pkt.Payload))
		}
		at := time.Now()
		t.fanOut(l, &pkt, batches, at)
		t.seen(l, at.UnixNano())
		if s := t.sinks.Load(); s != nil {
			// A sink may keep the packet (a slow writer queues): its
			// own copy, out of the reused buffer.
			c := pkt.Clone()
			for _, st := range *s {
				st.write(l.quality, c)
			}
		}
	}
}

// fanOut writes a packet to every subscriber, unless it is audio of a
// participant who is not among the loudest of a large room.
func (t *track) fanOut(l *layer, pkt *rtp.Packet, batches *batchSet, at time.Time) {
	if t.quiet.Load() {
		t.skipped++
		return
	}
	// The dropped packets leave no gap: a subscriber's jitter buffer
	// takes a gap for loss and conceals it, where a jump of the
	// timestamp alone is silence, as with DTX.
	seq := pkt.SequenceNumber
	pkt.SequenceNumber -= t.skipped
	batches.begin()
	for _, d := range *t.downs.Load() {
		d.writeAt(l.quality, pkt, at)
	}
	batches.end()
	pkt.SequenceNumber = seq // the sinks' (recordings) is the original
}

// requestKeyframe asks a layer's publisher for a keyframe, at most once
// per Config.KeyframeInterval however many subscribers ask.
func (t *track) requestKeyframe(quality int) {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	l := t.layerOf(quality)
	if l == nil {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastKeyframe.Load()
	interval := int64(t.owner.room.sfu.cfg.KeyframeInterval)
	if now-last < interval {
		// Too soon: sent at the end of the interval instead of dropped,
		// so that a subscriber switching layers is not left waiting for
		// a keyframe nobody asked for.
		if l.deferred.CompareAndSwap(false, true) {
			time.AfterFunc(time.Duration(last+interval-now), func() {
				l.deferred.Store(false)
				t.requestKeyframe(quality)
			})
		}
		return
	}
	if !l.lastKeyframe.CompareAndSwap(last, now) {
		return
	}
	t.sendPLI(l)
}

// forceKeyframe asks for a keyframe now, for a subscriber whose
// connection just came up: it has nothing to decode until one comes.
func (t *track) forceKeyframe(quality int) {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	if l := t.layerOf(quality); l != nil {
		l.lastKeyframe.Store(time.Now().UnixNano())
		t.sendPLI(l)
	}
}

// forceKeyframesUpTo asks the layers of quality up to q for a keyframe
// now: a new subscriber starts on whichever comes first (layerGate.admit).
func (t *track) forceKeyframesUpTo(q int) {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	t.mu.Lock()
	layers := append([]*layer(nil), t.layers...)
	t.mu.Unlock()
	for _, l := range layers {
		if l.quality <= q {
			l.lastKeyframe.Store(time.Now().UnixNano())
			t.sendPLI(l)
		}
	}
}

// forceEveryKeyframe asks every layer for a keyframe now: a subscriber
// still without a picture takes whichever its target is by then (a
// layer the browser has stopped answers nothing).
func (t *track) forceEveryKeyframe() {
	if t.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	t.mu.Lock()
	layers := append([]*layer(nil), t.layers...)
	t.mu.Unlock()
	for _, l := range layers {
		l.lastKeyframe.Store(time.Now().UnixNano())
		t.sendPLI(l)
	}
}

func (t *track) sendPLI(l *layer) {
	if l.remote == nil {
		return // a benchmark's layer, with no publisher to ask
	}
	_ = t.owner.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(l.remote.SSRC())}})
}
