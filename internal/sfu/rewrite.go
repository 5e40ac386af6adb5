package sfu

import (
	"time"

	"github.com/pion/rtp"
)

// rewriter makes one continuous RTP stream out of the layers a receiver
// gets one after another: each layer numbers its packets and stamps its
// time from its own base, so at every switch the offsets are set again for
// the first packet of the new layer to follow the last one sent. The
// caller serialises its use.
type rewriter struct {
	seqOffset uint16
	tsOffset  uint32
	lastSeq   uint16 // of the last packet sent
	lastTS    uint32
	lastSent  time.Time
	sentAny   bool
	switched  bool // the next packet is the first of a new layer
}

// switchLayer marks the next packet as the first of a new layer.
func (w *rewriter) switchLayer() { w.switched = true }

// rewrite maps out onto the continuous stream; clockRate is the codec's
// (90 kHz for video when unknown).
func (w *rewriter) rewrite(out *rtp.Packet, clockRate uint32) {
	now := time.Now()
	if w.switched {
		w.switched = false
		if w.sentAny {
			if clockRate == 0 {
				clockRate = 90000
			}
			// The next sequence number, and a timestamp advanced by the
			// time that passed.
			elapsed := uint32(max(1, now.Sub(w.lastSent).Microseconds()*int64(clockRate)/1_000_000))
			w.seqOffset = w.lastSeq + 1 - out.SequenceNumber
			w.tsOffset = w.lastTS + elapsed - out.Timestamp
		}
	}
	out.SequenceNumber += w.seqOffset
	out.Timestamp += w.tsOffset
	w.lastSeq, w.lastTS, w.lastSent, w.sentAny = out.SequenceNumber, out.Timestamp, now, true
}

// layerGate lets through the packets of the one layer a receiver gets,
// switching to the wanted layer at its next keyframe and keeping the
// stream continuous. Subscribers and recording sinks each have one; the
// caller serialises its use.
type layerGate struct {
	// current is the quality being sent (-1: none yet); target the one
	// wanted, switched to at its next keyframe.
	current, target int
	rw              rewriter
}

// newLayerGate starts at target: at once for a track without simulcast,
// at its first keyframe otherwise.
func newLayerGate(target int, simulcast bool) layerGate {
	g := layerGate{current: -1, target: target}
	if !simulcast {
		g.current = target
	}
	return g
}

// admit reports whether a packet of this quality goes to the receiver,
// switching layers when it starts a keyframe of the target. Before the
// first picture, a keyframe of a lower layer starts the stream too (the
// target's follows when it comes): a browser that has just started
// publishing sends only its lowest layer until its bandwidth estimate has
// grown, and a new subscriber waited 0.7-1 s for a keyframe of a layer
// that was not being sent.
func (g *layerGate) admit(quality int, payload []byte) bool {
	if quality == g.current {
		return true
	}
	first := g.current < 0 && quality < g.target
	if (quality != g.target && !first) || !isVP8Keyframe(payload) {
		return false
	}
	g.current = quality
	g.rw.switchLayer()
	return true
}

// aim sets the target (at once for a track without simulcast) and
// reports whether it changed.
func (g *layerGate) aim(target int, simulcast bool) bool {
	changed := target != g.target
	g.target = target
	if !simulcast {
		g.current = target
	}
	return changed
}
