package sfu

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/webrtc/v4"
)

// packetCache keeps the last packets of one video layer as they came from
// the publisher, so that the server answers its subscribers' NACKs
// itself: one copy of each packet, shared by every subscriber of the
// layer. pion's NACK responder kept a copy per subscriber stream instead
// (an allocation and a copy per forwarded packet, 78-82 % of the
// forwarding path's allocations at a fan-out of 100).
//
// Slots are indexed by sequence number; each keeps its buffer, so that
// once the slots have held a packet of full size, caching allocates
// nothing.
type packetCache struct {
	mu    sync.Mutex
	slots []cacheSlot // len is a power of two
	// newest is the highest sequence number put (valid once any is).
	newest uint16
	any    bool
	// keySeq is where the newest keyframe starts, and keyAt when its
	// first packet came (Unix ns; 0: no keyframe yet): a new subscriber
	// starts from it (keyframeRun) instead of waiting for another.
	keySeq uint16
	keyAt  int64
}

type cacheSlot struct {
	seq  uint16
	full bool
	buf  []byte // the raw RTP packet
}

// cacheSize is the packets kept per layer: a power of two, and about
// 2-5 s of a camera layer (100-250 packets/s), longer than the round
// trips a NACK is worth answering in.
const cacheSize = 512

func newPacketCache() *packetCache {
	return &packetCache{slots: make([]cacheSlot, cacheSize)}
}

// put keeps a copy of the raw packet with this sequence number; key
// tells that it starts a keyframe.
func (c *packetCache) put(seq uint16, raw []byte, key bool) {
	var now int64
	if key {
		now = time.Now().UnixNano()
	}
	c.mu.Lock()
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	s.seq, s.full = seq, true
	s.buf = append(s.buf[:0], raw...)
	if !c.any || int16(seq-c.newest) > 0 {
		c.newest, c.any = seq, true
	}
	// A keyframe older than the one kept (a retransmission, reordering)
	// does not replace it.
	if key && (c.keyAt == 0 || int16(seq-c.keySeq) > 0) {
		c.keySeq, c.keyAt = seq, now
	}
	c.mu.Unlock()
}

// keyframeRun returns the sequence numbers of the newest keyframe's first
// packet and of the newest packet, if the keyframe came at most maxAge
// before now and not before since (Unix ns), the run from it to the
// newest is at most maxPackets long, and every packet of the run is kept:
// a subscriber that is sent the run can decode its last picture at once.
func (c *packetCache) keyframeRun(maxPackets int, maxAge time.Duration, now time.Time, since int64) (first, last uint16, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keyAt == 0 || now.UnixNano()-c.keyAt > int64(maxAge) || c.keyAt < since {
		return 0, 0, false
	}
	n := int(c.newest-c.keySeq) + 1
	if int16(c.newest-c.keySeq) < 0 || n > maxPackets || n > len(c.slots) {
		return 0, 0, false
	}
	for i := 0; i < n; i++ {
		seq := c.keySeq + uint16(i)
		if s := &c.slots[int(seq)&(len(c.slots)-1)]; !s.full || s.seq != seq {
			return 0, 0, false
		}
	}
	return c.keySeq, c.newest, true
}

// keyframeAt is when the newest keyframe came (Unix ns), 0 before one.
func (c *packetCache) keyframeAt() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keyAt
}

// get copies the packet with this sequence number into dst (grown if
// short) and returns it; false when it is no longer, or never was, kept.
func (c *packetCache) get(seq uint16, dst []byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.slots[int(seq)&(len(c.slots)-1)]
	if !s.full || s.seq != seq {
		return dst, false
	}
	return append(dst[:0], s.buf...), true
}

// span is a run of the sequence numbers sent to one subscriber that came
// from one layer with one offset: a NACKed number maps back through it to
// the layer's own number, the key of its cache.
type span struct {
	first     uint16 // the first number sent in the span
	quality   int
	seqOffset uint16 // sent = the layer's + seqOffset
	tsOffset  uint32
	vp8       vp8Offsets // added to a VP8 layer's picture numbers (vp8.go)
}

// spanLog keeps a subscriber's last few spans; older ones are past the
// caches' reach anyway.
type spanLog struct {
	s    [4]span
	n    int // spans kept
	next int // where the next goes
}

func (l *spanLog) add(sp span) {
	l.s[l.next] = sp
	l.next = (l.next + 1) % len(l.s)
	if l.n < len(l.s) {
		l.n++
	}
}

// find returns the span of a sent sequence number: the newest span that
// starts at or before it. last is the newest number sent; a number after
// it was never sent.
func (l *spanLog) find(seq, last uint16) (span, bool) {
	if l.n == 0 || int16(seq-last) > 0 {
		return span{}, false
	}
	for i := 1; i <= l.n; i++ {
		sp := l.s[(l.next-i+len(l.s))%len(l.s)]
		if int16(seq-sp.first) >= 0 {
			return sp, true
		}
	}
	return span{}, false
}

// configureNack negotiates NACK for video and asks publishers for lost
// packets (pion's generator); the subscribers' NACKs are answered from
// the packet cache, not by pion's responder.
func configureNack(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(gen)
	return nil
}

// Bounds on what one subscriber's NACKs cost. A receiver asks for a
// missing packet again every 100 ms or so until it comes; a second copy
// sent before the first could have arrived only loads a link that is
// losing packets already. And a receiver that falls behind (a full
// socket buffer, a starved client) NACKs much of what it was sent: left
// unbounded, the retransmissions took 78 % of the server's CPU in a
// fan-out benchmark on a loaded machine, and the loss fed itself.
const (
	resendGap   = 80 * time.Millisecond // one copy of a packet per gap
	resendRate  = 250                   // packets a second, on average
	resendBurst = 128                   // packets at once
)

// resendLimit applies the bounds for one down track; the caller
// serialises its use.
type resendLimit struct {
	last   [256]resent // by sequence number
	tokens float64
	at     time.Time
}

type resent struct {
	seq uint16
	at  int64 // Unix ns; 0: none
}

// allow reports whether seq may be sent again now, and counts it.
func (r *resendLimit) allow(seq uint16, now time.Time) bool {
	slot := &r.last[seq&uint16(len(r.last)-1)]
	if slot.at != 0 && slot.seq == seq && now.UnixNano()-slot.at < int64(resendGap) {
		return false
	}
	if r.at.IsZero() {
		r.tokens = resendBurst
	} else {
		r.tokens = min(resendBurst, r.tokens+now.Sub(r.at).Seconds()*resendRate)
	}
	r.at = now
	if r.tokens < 1 {
		return false
	}
	r.tokens--
	*slot = resent{seq: seq, at: now.UnixNano()}
	return true
}
