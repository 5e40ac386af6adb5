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
