package sfu

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one track sent to one subscriber: one layer of it at a
// time, with sequence numbers and timestamps made continuous across layer
// switches, so that the subscriber sees one unbroken stream.
type downTrack struct {
	peer   *Peer
	track  *track
	local  *boundTrack
	sender *webrtc.RTPSender

	// mu is held across a send, so that the sends to one subscriber's
	// stream are serialised: the buffers below, and the per-stream state
	// of the interceptors (sendside.go), are reused for every packet.
	mu     sync.Mutex
	gate   layerGate
	paused bool // not shown by the subscriber: no video is sent
	// pausedAt is when it was last hidden (Unix ns): a keyframe from
	// before would show again what was shown then (start).
	pausedAt int64
	// awaitKey is set when the connection comes up (start), until a
	// keyframe is sent: what was sent before was lost.
	awaitKey bool
	// replaying is set by a start from the cache (start) until a packet
	// of layer replayQ newer than replayLast comes: the packets up to it
	// were sent from the cache already.
	replaying  bool
	replayQ    int
	replayLast uint16
	want       int // the quality its view asks for (before what exists)
	cap        int // the highest quality the bandwidth allows

	out        rtp.Packet       // the packet being sent, reused
	ext        [2]rtp.Extension // room for the interceptors' header extensions
	spans      spanLog          // which layer and offsets each sent number came from
	vp8        vp8Numbers       // the VP8 picture numbers, continuous across layers (vp8.go)
	rtx        []byte           // a retransmitted packet's bytes, reused
	limit      resendLimit      // bounds what its NACKs cost
	rtxPayload []byte           // a retransmission's payload on the RTX stream, reused
	rtxSeq     uint16           // the RTX stream's next sequence number
	seqs       []uint16         // the sequence numbers of a NACK, reused

	stats downStats   // for Peer.Stats (stats.go)
	sr    senderState // for the sender reports (report.go)
}

func newDownTrack(p *Peer, t *track) (*downTrack, error) {
	local, err := webrtc.NewTrackLocalStaticRTP(t.codec, t.id, t.streamID())
	if err != nil {
		return nil, err
	}
	d := &downTrack{peer: p, track: t, want: qualityMedium, cap: maxQuality}
	d.gate = newLayerGate(pickQuality(t.qualities(), d.want), t.simulcast)
	// A sender bound while the connection is not up yet does nothing:
	// the connection's coming up starts it (Peer.firstKeyframes). One
	// bound on a connection that is up starts from the cached keyframe,
	// or asks for one.
	d.local = &boundTrack{TrackLocalStaticRTP: local, bound: func() {
		if p.subUp.Load() && !d.start() {
			d.requestKeyframe()
		}
	}}
	d.rtx = make([]byte, 0, receiveMTU)
	if d.sender, err = p.sub.AddTrack(d.local); err != nil {
		return nil, err
	}
	go d.readRTCP()
	return d, nil
}

// write sends a packet of the given layer if it is the one the subscriber
// receives, and switches layers at a keyframe of the wanted one. It
// allocates nothing.
func (d *downTrack) write(quality int, pkt *rtp.Packet) {
	d.writeAt(quality, pkt, time.Now())
}

// writeAt is write of a packet that arrived at at: a fan-out reads the
// clock once for all its subscribers (for the sender reports).
func (d *downTrack) writeAt(quality int, pkt *rtp.Packet, at time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.paused || !d.gate.admit(quality, pkt.Payload) {
		return
	}
	if d.replaying {
		if quality == d.replayQ && int16(pkt.SequenceNumber-d.replayLast) <= 0 {
			return // sent from the cache already
		}
		d.replaying = false
	}
	if d.awaitKey && isVP8Keyframe(pkt.Payload) {
		d.awaitKey = false
		if d.peer != nil {
			d.peer.log.Debug("video started from a live keyframe", "stream", d.track.streamID(), "quality", quality)
		}
	}
	d.emit(quality, pkt, at)
}

// emit rewrites pkt of this layer onto the subscriber's stream and sends
// it; d.mu is held.
func (d *downTrack) emit(quality int, pkt *rtp.Packet, at time.Time) {
	switching := d.gate.rw.switched
	d.prepare(pkt)
	d.gate.rw.rewrite(&d.out, d.track.codec.ClockRate)
	if d.track.simulcast {
		d.out.Payload = d.vp8.rewrite(d.out.Payload, switching)
	}
	if switching || d.spans.n == 0 {
		d.spans.add(span{first: d.out.SequenceNumber, quality: quality, seqOffset: d.gate.rw.seqOffset, tsOffset: d.gate.rw.tsOffset, vp8: d.vp8.off})
	}
	if d.send() {
		d.sr.sent(d.out.Timestamp, len(d.out.Payload), at)
	}
}

// Bounds on a start from the cache: the keyframe's age, and the packets
// sent at once (the keyframe and those after it). A longer run would
// start the picture that much behind the live one, in a burst.
const (
	replayMaxAge     = time.Second
	replayMaxPackets = 256
)

// start is called when what was sent to the subscriber before could not
// reach it: its connection has just come up, or its sender was bound on
// a connection that is up. The video has nothing to decode until a
// keyframe comes. If a layer at or below the target has a recent one in
// its cache, start sends it and the packets after it at once, as the
// continuation of the subscriber's stream, and reports true; the live
// packets follow. Else the video waits for the next keyframe (awaitKey);
// asking for it is the caller's. A start from a layer below the target
// asks for the target's keyframe (throttled), which switches to it.
//
// A new subscriber used to wait for the keyframe asked for when its
// connection came up: a round trip to the publisher and its encoder's
// time, 0.1-0.2 s more than with a cached keyframe.
func (d *downTrack) start() bool {
	if d.track.kind != webrtc.RTPCodecTypeVideo {
		return false
	}
	qs := d.track.qualities()
	d.mu.Lock()
	started := d.startLocked(qs, time.Now(), 0)
	below, target := started && d.gate.current != d.gate.target, d.gate.target
	d.mu.Unlock()
	if below {
		d.track.requestKeyframe(target)
	}
	return started
}

// startLocked is start with d.mu held; qs are the track's qualities. The
// keyframe must have come at or after since (Unix ns).
func (d *downTrack) startLocked(qs []int, now time.Time, since int64) bool {
	d.awaitKey = true
	if d.paused || !d.track.simulcast {
		// A hidden video needs no picture; a codec other than VP8 has
		// no keyframe the server recognises, and no keyframe cached.
		return false
	}
	for i := len(qs) - 1; i >= 0; i-- {
		if qs[i] > d.gate.target {
			continue
		}
		l := d.track.layerOf(qs[i])
		if l == nil || l.cache == nil {
			continue
		}
		if first, last, ok := l.cache.keyframeRun(replayMaxPackets, replayMaxAge, now, since); ok && d.replay(l, first, last, now) {
			d.awaitKey = false
			if d.peer != nil {
				d.peer.log.Debug("video started from the cached keyframe", "stream", d.track.streamID(), "quality", l.quality,
					"packets", int(last-first)+1, "age", time.Duration(now.UnixNano()-l.cache.keyframeAt()).Round(time.Millisecond))
			}
			return true
		}
	}
	return false
}

// replay sends the cached packets first to last of layer l, the first a
// keyframe's start, as the next packets of the subscriber's stream;
// d.mu is held. It reports false, having sent nothing, when the sender
// is not bound or the keyframe is no longer kept.
func (d *downTrack) replay(l *layer, first, last uint16, at time.Time) bool {
	if d.local.binding.Load() == nil {
		return false
	}
	var pkt rtp.Packet
	raw, ok := l.cache.get(first, d.rtx)
	d.rtx = raw[:0]
	if !ok || pkt.Unmarshal(raw) != nil || !isVP8Keyframe(pkt.Payload) {
		return false
	}
	d.gate.current = l.quality
	d.gate.rw.switchLayer()
	d.emit(l.quality, &pkt, at)
	for seq := first; seq != last; {
		seq++
		// A packet gone meanwhile (not while d.mu is held: the cache
		// keeps 512) leaves a gap, which the subscriber NACKs.
		raw, ok := l.cache.get(seq, d.rtx)
		d.rtx = raw[:0]
		if ok && pkt.Unmarshal(raw) == nil {
			d.emit(l.quality, &pkt, at)
		}
	}
	d.replaying, d.replayQ, d.replayLast = true, l.quality, last
	return true
}

// prepare copies pkt's header and payload into d.out. The publisher's
// header extensions are left out: their ids are those negotiated with the
// publisher, not with this subscriber; the interceptors add the ones the
// subscriber's connection uses.
func (d *downTrack) prepare(pkt *rtp.Packet) {
	d.out.Header = pkt.Header
	d.out.Extension, d.out.ExtensionProfile = false, 0
	d.out.Extensions = d.ext[:0]
	d.out.Payload = pkt.Payload
	if pkt.PaddingSize != 0 && d.out.Header.PaddingSize == 0 {
		// The writer takes header and payload apart: the padding's size
		// would be lost (as pion's TrackLocalStaticRTP does).
		d.out.Header.PaddingSize = pkt.PaddingSize
	}
}

// send writes d.out to the subscriber's stream; d.mu is held. Before the
// subscriber's connection is up the write has nowhere to go and fails;
// the keyframe asked for at binding time covers it.
func (d *downTrack) send() bool {
	b := d.local.binding.Load()
	if b == nil {
		return false
	}
	d.out.SSRC, d.out.PayloadType = b.ssrc, b.payloadType
	if _, err := b.w.WriteRTP(&d.out.Header, d.out.Payload); err != nil {
		return false
	}
	d.stats.bytes.Add(uint64(len(d.out.Payload) + 12))
	return true
}

// sendAgain sends d.out as a retransmission: on the RTX stream where the
// subscriber negotiated one (its own sequence numbers, the original one
// first in the payload), else as it was. d.mu is held.
func (d *downTrack) sendAgain() {
	b := d.local.binding.Load()
	if b == nil {
		return
	}
	if b.rtxSSRC == 0 {
		d.send()
		return
	}
	d.rtxPayload = append(append(d.rtxPayload[:0], byte(d.out.SequenceNumber>>8), byte(d.out.SequenceNumber)), d.out.Payload...)
	d.out.SSRC, d.out.PayloadType, d.out.SequenceNumber = b.rtxSSRC, b.rtxPayloadType, d.rtxSeq
	d.out.Padding, d.out.PaddingSize = false, 0
	d.rtxSeq++
	_, _ = b.w.WriteRTP(&d.out.Header, d.rtxPayload)
}

// resend answers a NACK: each packet still in its layer's cache goes
// again, with the sequence number and timestamp it was first sent with,
// within the bounds of resendLimit. Audio has no cache (NACK is
// negotiated for video only).
func (d *downTrack) resend(seqs []uint16) {
	if d.congested() {
		return
	}
	now := time.Now()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, seq := range seqs {
		sp, ok := d.spans.find(seq, d.gate.rw.lastSeq)
		if !ok {
			continue
		}
		l := d.track.layerOf(sp.quality)
		if l == nil || l.cache == nil {
			continue
		}
		raw, ok := l.cache.get(seq-sp.seqOffset, d.rtx)
		d.rtx = raw[:0]
		if !ok || !d.limit.allow(seq, now) {
			continue
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(raw) != nil {
			continue
		}
		d.prepare(&pkt)
		d.out.SequenceNumber = seq
		d.out.Timestamp += sp.tsOffset
		if d.track.simulcast {
			d.out.Payload = d.vp8.again(d.out.Payload, sp.vp8)
		}
		d.sendAgain()
		d.track.resent.Add(1)
	}
}

// congested reports whether the subscriber's estimator sees its link
// queueing or losing heavily (sendEstimator.congested): a retransmission
// would only add to it.
func (d *downTrack) congested() bool {
	if d.peer == nil {
		return false
	}
	c, ok := d.peer.estimate.(interface{ congested() bool })
	return ok && c.congested()
}

// setView applies what the subscriber shows of the track: nothing
// (height 0: paused), or a tile of that height, which picks the layer.
func (d *downTrack) setView(height int) {
	if d.track.kind != webrtc.RTPCodecTypeVideo {
		return // audio always flows
	}
	d.mu.Lock()
	wasPaused := d.paused
	d.paused = height <= 0
	if d.paused {
		d.gate.current = -1 // a resume starts at a keyframe
		if !wasPaused {
			d.pausedAt = time.Now().UnixNano()
		}
		d.mu.Unlock()
		return
	}
	d.want = qualityForHeight(height)
	qs := d.track.qualities()
	want := pickQuality(qs, min(d.want, d.cap))
	changed := d.gate.aim(want, d.track.simulcast) || wasPaused
	// A video shown again starts, as a new one does, from a recent
	// keyframe in the cache if one came while it was hidden (a page of
	// the grid turned back, a tab brought to the front), not at the
	// next keyframe.
	resumed := wasPaused && d.connected() && d.startLocked(qs, time.Now(), d.pausedAt)
	onTarget := resumed && d.gate.current == d.gate.target
	d.mu.Unlock()
	if changed && !onTarget {
		d.track.requestKeyframe(want)
	}
}

// connected reports whether the subscriber's connection is up: what is
// sent before is lost. A down track of no peer (a test's) is.
func (d *downTrack) connected() bool {
	return d.peer == nil || d.peer.subUp.Load()
}

// relayer chooses the target again when the track's layers change (a
// simulcast track's layers arrive one by one).
func (d *downTrack) relayer() {
	d.retarget()
}

// setCap is the bandwidth's say: at most this quality.
func (d *downTrack) setCap(q int) {
	d.mu.Lock()
	d.cap = q
	d.mu.Unlock()
	d.retarget()
}

// wanted returns the quality the view asks for, and whether the video is
// paused.
func (d *downTrack) wanted() (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.want, d.paused
}

// retarget chooses the layer again from what exists, what the view wants
// and what the bandwidth allows.
func (d *downTrack) retarget() {
	d.mu.Lock()
	if d.paused {
		d.mu.Unlock()
		return
	}
	want := pickQuality(d.track.qualities(), min(d.want, d.cap))
	changed := d.gate.aim(want, d.track.simulcast)
	d.mu.Unlock()
	if changed {
		d.track.requestKeyframe(want)
	}
}

// requestKeyframe asks for a keyframe of the layer this subscriber wants.
func (d *downTrack) requestKeyframe() {
	d.mu.Lock()
	q := d.gate.target
	d.mu.Unlock()
	d.track.requestKeyframe(q)
}

// started reports whether the subscriber has had a keyframe to start from
// since start (or is not shown, and needs none).
func (d *downTrack) started() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.awaitKey || d.paused
}

// requestFirstKeyframes asks, with the throttle, for keyframes of the
// target layer and those below it, for a subscriber whose connection is
// not up yet: they are cached for its start. Many subscribers joining at
// once ask once per Config.KeyframeInterval, not once each.
func (d *downTrack) requestFirstKeyframes() {
	d.mu.Lock()
	q, paused := d.gate.target, d.paused
	d.mu.Unlock()
	if paused || d.track.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	for _, have := range d.track.qualities() {
		if have <= q {
			d.track.requestKeyframe(have)
		}
	}
}

// forceFirstKeyframes asks, without the throttle, for keyframes of the
// target layer and those below it: the first to come starts the picture.
func (d *downTrack) forceFirstKeyframes() {
	d.mu.Lock()
	q := d.gate.target
	d.mu.Unlock()
	d.track.forceKeyframesUpTo(q)
}

// maxResendPerReport bounds the packets one RTCP report's NACKs resend,
// so that a flood of NACKs costs the server no more than a burst.
const maxResendPerReport = 256

// readRTCP passes the subscriber's keyframe requests on to the publisher
// (throttled) and answers its NACKs from the packet cache, until the
// sender stops. The bandwidth estimator reads the congestion feedback on
// the way (estimate.go).
//
// The packets are read where they lie (rtcpwalk.go), not with pion's
// rtcp.Unmarshal, which allocates every packet of every report. What does
// not parse is dropped; the reading goes on.
func (d *downTrack) readRTCP() {
	buf := make([]byte, receiveMTU)
	var blocks []rtcp.ReceptionReport
	for {
		n, _, err := d.sender.Read(buf)
		if err != nil {
			return
		}
		seqs := d.seqs[:0]
		for w := (rtcpWalker{b: buf[:n]}); ; {
			p, ok := w.next()
			if !ok {
				break
			}
			switch {
			case p.typ == rtcpPayloadFeedback && (p.fmt == rtcpFmtPLI || p.fmt == rtcpFmtFIR):
				d.requestKeyframe()
			case p.typ == rtcpReceiverReport:
				blocks = receptionReports(p, blocks[:0])
				d.report(blocks, time.Now())
			case p.typ == rtcpTransportFeedback && p.fmt == rtcpFmtNACK:
				seqs = nackedSeqs(p, seqs, maxResendPerReport)
			}
		}
		if len(seqs) > 0 {
			d.resend(seqs)
		}
		d.seqs = seqs[:0]
	}
}

func (d *downTrack) stop() {
	_ = d.peer.sub.RemoveTrack(d.sender)
}

// boundTrack tells its down track when a subscriber's sender starts
// sending, so that the subscriber's decoder gets a keyframe to start
// from, and keeps what the down track needs to write to the sender's
// stream itself: pion's TrackLocalStaticRTP.WriteRTP copies the packet
// through a pool and takes a lock for the one binding a down track has.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	bound   func()
	binding atomic.Pointer[binding]
}

// binding is where a bound sender's packets go.
type binding struct {
	id          string
	ssrc        uint32
	payloadType uint8
	// rtxSSRC and rtxPayloadType are the retransmission stream's (RFC
	// 4588), 0 when the subscriber did not negotiate RTX.
	rtxSSRC        uint32
	rtxPayloadType uint8
	w              webrtc.TrackLocalWriter
}

func (b *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := b.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		bd := &binding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), payloadType: uint8(codec.PayloadType), w: ctx.WriteStream()}
		if rtx := uint32(ctx.SSRCRetransmission()); rtx != 0 {
			apt := fmt.Sprintf("apt=%d", codec.PayloadType)
			for _, c := range ctx.CodecParameters() {
				if strings.EqualFold(c.MimeType, webrtc.MimeTypeRTX) && c.SDPFmtpLine == apt {
					bd.rtxSSRC, bd.rtxPayloadType = rtx, uint8(c.PayloadType)
				}
			}
		}
		b.binding.Store(bd)
		b.bound()
	}
	return codec, err
}

func (b *boundTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	if cur := b.binding.Load(); cur != nil && cur.id == ctx.ID() {
		b.binding.CompareAndSwap(cur, nil)
	}
	return b.TrackLocalStaticRTP.Unbind(ctx)
}
