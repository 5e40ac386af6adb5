package sfu

import (
	"encoding/binary"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
)

// sendEstimator is the default bandwidth estimate of a subscribing
// connection (Config.BandwidthEstimator nil), from the subscriber's
// transport-wide congestion control feedback. It stands in for pion's
// GCC, which cost about a fifth of the server's CPU in the fan-out
// benchmark and most of its allocations: a lock, a map insert and a list
// insert for every packet sent, and a parse of every feedback into new
// slices. Here a packet sent costs one atomic store into a ring, and a
// feedback is walked where it lies and judged once, allocating nothing.
//
// The estimate only chooses simulcast layers (there is no pacer), so it
// needs to be right in the large, not to the kilobit: it comes down to
// 85 % of what the subscriber received when a queue builds up on the way
// (the one-way delay grows above its recent minimum) or when more than a
// tenth of the packets are lost, and goes up by 15 % a second while
// neither happens, slowly for a few seconds after a decrease, while the
// link is probably still where it was.
type sendEstimator struct {
	interceptor.NoOp
	start time.Time // sending times are counted from here

	seq     atomic.Uint32 // the connection's next transport-wide sequence number
	history [historySize]atomic.Uint64

	target  atomic.Int64   // bits per second
	jammed  atomic.Bool    // see congested
	stamp   atomic.Bool    // see setStamping
	twcc    atomic.Bool    // the subscriber negotiated transport-wide feedback: REMB is not used (remb.go)
	lowered chan struct{}  // a decrease, for the allocation not to wait for its tick
	mu      sync.Mutex     // serialises feedback
	st      estimatorState // under mu
}

// The send history: one entry per transport-wide sequence number, by its
// low bits: 1,024 entries (8 KiB a subscriber), a second of packets at
// 1,000 a second, where feedback comes every 50 to 100 ms. An entry
// packs the sending time in microseconds (40 bits), the size in bytes
// (12 bits) and, to know a stale entry, a flag and the number's high
// bits (7 bits).
const (
	historyBits = 10
	historySize = 1 << historyBits
	historyMask = historySize - 1
	historyFlag = 0x40
	historyTag  = 0x7f // the flag and the high bits
)

func historyEntry(seq uint16, at int64, size int) uint64 {
	return uint64(at)<<24 | uint64(min(size, 0xfff))<<12 | historyFlag | uint64(seq>>historyBits)
}

// Bounds and steps of the estimate.
const (
	estimateStart = 1_000_000
	estimateMin   = 100_000
	estimateMax   = 50_000_000

	estimateBackoff   = 0.85                   // of the received rate, on congestion
	estimateGrowth    = 1.15                   // per second, while all is well
	estimateNearGrow  = 1.02                   // per second, while near the last congestion
	estimateNear      = 3 * time.Second        // how long "near" lasts
	decreaseInterval  = 300 * time.Millisecond // between two decreases
	queueOveruse      = 30 * time.Millisecond  // queueing delay that counts as a queue
	queueNormal       = 15 * time.Millisecond  // queueing delay below which the estimate grows
	lossHigh          = 0.10
	lossLow           = 0.02
	lossWindowPackets = 100
	lossWindowMin     = 20
	lossWindow        = time.Second
	receivedWindow    = time.Second     // of arrivals, for the received rate
	baselineBuckets   = 10              // seconds of one-way delay minima
	feedbackDuplicate = 5 * time.Second // a feedback count seen again within this is a copy
)

// estimatorState is what the feedback has taught so far; times are in
// microseconds, sending times from start, arrival times on the
// subscriber's clock.
type estimatorState struct {
	target     float64
	lastUpdate int64 // when the estimate last grew
	lastDrop   int64 // when it last came down
	capacity   float64
	seen       [256]int64 // when each feedback count was last judged

	// minima of the one-way delay, one per second of sending time
	base   [baselineBuckets]int64
	baseAt [baselineBuckets]int64
	prevQ  int64 // the previous feedback's queueing delay
	// congested: the last feedback showed a queue or heavy loss
	congested bool

	// arrivals: bytes received per feedback, and when the last arrived
	arr  [32]arrival
	arrN int // entries written, the newest at (arrN-1)%len

	// the loss window: packets lost and reported on since lossFrom, and
	// the share lost in the last full window
	lossLost, lossN int
	lossFrom        int64
	loss            float64
}

type arrival struct {
	at    int64
	bytes int
}

func newSendEstimator() *sendEstimator {
	e := &sendEstimator{start: time.Now(), lowered: make(chan struct{}, 1)}
	e.st.target = estimateStart
	e.target.Store(estimateStart)
	return e
}

func (e *sendEstimator) micros() int64 { return int64(time.Since(e.start) / time.Microsecond) }

// GetTargetBitrate is the estimate, in bits per second.
func (e *sendEstimator) GetTargetBitrate() int { return int(e.target.Load()) }

// decreased is signalled when the estimate comes down.
func (e *sendEstimator) decreased() <-chan struct{} { return e.lowered }

// BindLocalStream numbers the stream's packets and notes when each was
// sent. Audio is left out, as with GCC (videoOnly): it always flows.
func (e *sendEstimator) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, x := range info.RTPHeaderExtensions {
		if x.URI == sdp.TransportCCURI {
			id = uint8(x.ID)
		}
	}
	if id != 0 {
		e.twcc.Store(true)
	}
	if id == 0 || isAudio(info) {
		return w
	}
	return &estimatedStream{e: e, id: id, w: w}
}

// estimatedStream stamps one stream's packets. Its extension buffer is
// reused: the sends to one stream are serialised (downTrack.mu) and done
// with the header when Write returns.
type estimatedStream struct {
	e   *sendEstimator
	id  uint8
	w   interceptor.RTPWriter
	ext [2]byte
}

func (s *estimatedStream) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	if !s.e.stamp.Load() {
		return s.w.Write(h, payload, a)
	}
	seq := uint16(s.e.seq.Add(1) - 1)
	binary.BigEndian.PutUint16(s.ext[:], seq)
	if err := h.SetExtension(s.id, s.ext[:]); err != nil {
		return 0, err
	}
	s.e.history[seq&historyMask].Store(historyEntry(seq, s.e.micros(), h.MarshalSize()+len(payload)))
	return s.w.Write(h, payload, a)
}

// setStamping says whether the connection's packets carry transport-wide
// sequence numbers. They are only worth it while the subscriber receives
// a video with layers to choose between: a number on a packet costs the
// subscriber a report on it, about ten feedback packets a second, and
// the server the reading of each, which goes through four of pion's
// goroutines (ICE, the mux, SRTCP, the sender) before it is judged.
// With nothing to choose the estimate has nothing to decide, and it
// stays where it was. Off, the link is not judged congested any more.
func (e *sendEstimator) setStamping(on bool) {
	e.stamp.Store(on)
	if !on {
		e.jammed.Store(false)
	}
}

// BindRTCPReader judges the transport-wide feedback among what the
// subscriber sends, in place, and its REMB (remb.go).
func (e *sendEstimator) BindRTCPReader(r interceptor.RTCPReader) interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		n, attrs, err := r.Read(b, a)
		if err != nil {
			return n, attrs, err
		}
		for w := (rtcpWalker{b: b[:n]}); ; {
			p, ok := w.next()
			if !ok {
				break
			}
			switch {
			case p.typ == rtcpTransportFeedback && p.fmt == rtcpFmtTWCC:
				e.feedback(p.raw, e.micros())
			case p.typ == rtcpPayloadFeedback && p.fmt == rtcpFmtAFB:
				if bps, ok := rembBitrate(p.raw); ok {
					e.remb(bps)
				}
			}
		}
		return n, attrs, nil
	})
}

// feedback judges one transport-cc feedback packet (draft-holmer-rmcat-
// transport-wide-cc-extensions-01, section 3.1) that came now (µs from
// start).
func (e *sendEstimator) feedback(p []byte, now int64) {
	if len(p) < 20 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &e.st
	// A compound packet that names several of the connection's streams
	// reaches the reader of each: judge its feedback once.
	count := p[19]
	if t := st.seen[count]; t != 0 && now-t < int64(feedbackDuplicate/time.Microsecond) {
		return
	}
	st.seen[count] = now

	var received, lost, bytes int
	var delays, lastArrival int64
	ok := walkTWCC(p, func(seq uint16, got bool, at int64) {
		ent := e.history[seq&historyMask].Load()
		if ent&historyTag != historyFlag|uint64(seq>>historyBits) {
			return // not sent here, or so long ago that its entry was reused
		}
		if !got {
			lost++
			return
		}
		sent := int64(ent >> 24)
		received++
		bytes += int(ent >> 12 & 0xfff)
		d := at - sent
		delays += d
		st.noteDelay(sent, d)
		lastArrival = max(lastArrival, at)
	})
	if !ok || received+lost == 0 {
		return
	}
	rate := 0.0
	if received > 0 {
		rate = st.receivedRate(lastArrival, bytes)
	}
	q := int64(math.MaxInt64)
	if received > 0 {
		q = delays/int64(received) - st.baseline(now)
	}
	if st.judge(now, q, st.lossOf(now, lost, received+lost), rate) {
		select {
		case e.lowered <- struct{}{}:
		default:
		}
	}
	e.target.Store(int64(st.target))
	e.jammed.Store(st.congested)
}

// congested reports whether the subscriber's last feedback showed a queue
// on the way, or heavy loss: retransmissions then wait (downTrack.resend),
// for on a full link they only add to the queue and to the loss, which
// begets more NACKs.
func (e *sendEstimator) congested() bool { return e.jammed.Load() }

// noteDelay keeps the minimum one-way delay of each second of sending.
func (st *estimatorState) noteDelay(sent, d int64) {
	sec := sent / 1e6
	i := sec % baselineBuckets
	if st.baseAt[i] != sec+1 || d < st.base[i] {
		st.base[i], st.baseAt[i] = d, sec+1
	}
}

// baseline is the least one-way delay of the last baselineBuckets
// seconds: the delay with no queue on the way.
func (st *estimatorState) baseline(now int64) int64 {
	b := int64(math.MaxInt64)
	for i := range st.base {
		if st.baseAt[i] != 0 && now/1e6-(st.baseAt[i]-1) < baselineBuckets {
			b = min(b, st.base[i])
		}
	}
	return b
}

// receivedRate adds a feedback's bytes, the last of them arrived at at,
// and returns the bits per second received over the last receivedWindow
// (0 while too little is known).
func (st *estimatorState) receivedRate(at int64, bytes int) float64 {
	n := len(st.arr)
	if st.arrN > 0 && at < st.arr[(st.arrN-1)%n].at {
		st.arrN = 0 // the subscriber's clock went back: start again
	}
	st.arr[st.arrN%n] = arrival{at: at, bytes: bytes}
	st.arrN++
	sum, oldest := 0, at
	for k := 1; k < min(st.arrN, n); k++ {
		a := st.arr[(st.arrN-1-k)%n]
		if at-a.at > int64(receivedWindow/time.Microsecond) {
			break
		}
		// The oldest entry in the window marks its start: its bytes
		// arrived before it.
		sum += st.arr[(st.arrN-k)%n].bytes
		oldest = a.at
	}
	span := at - oldest
	if span < int64(100*time.Millisecond/time.Microsecond) {
		return 0
	}
	return float64(sum) * 8 * 1e6 / float64(span)
}

// lossOf adds a feedback's lost and reported packets to the loss window
// and returns the share lost in it once it is full (at least
// lossWindowPackets, or lossWindowMin over lossWindow), else -1. One
// feedback reports on a dozen packets: a 5 % random loss often looks
// like 15 % in one of them.
func (st *estimatorState) lossOf(now int64, lost, n int) float64 {
	if st.lossN == 0 {
		st.lossFrom = now
	}
	st.lossLost += lost
	st.lossN += n
	if st.lossN < lossWindowPackets && (st.lossN < lossWindowMin || now-st.lossFrom < int64(lossWindow/time.Microsecond)) {
		return -1
	}
	st.loss = float64(st.lossLost) / float64(st.lossN)
	st.lossLost, st.lossN = 0, 0
	return st.loss
}

// judge moves the estimate for one feedback: q is its queueing delay
// (µs), loss the share of packets lost in the loss window it completed
// (-1: it completed none), rate what was received lately (0: unknown). It
// reports a decrease.
func (st *estimatorState) judge(now, q int64, loss, rate float64) bool {
	us := func(d time.Duration) int64 { return int64(d / time.Microsecond) }
	prev := st.prevQ
	st.prevQ = q
	// A queue that stands or grows over two feedbacks: not one late
	// burst, nor a queue draining after a decrease or as the link widens.
	queued := q > us(queueOveruse) && prev > us(queueOveruse) && q >= prev-us(5*time.Millisecond)
	st.congested = queued || st.loss > lossHigh
	lossy := loss > lossHigh
	canDrop := now-st.lastDrop >= us(decreaseInterval)
	switch {
	case queued || lossy:
		st.lastUpdate = now
		if !canDrop {
			return false
		}
		next := st.target * (1 - 0.5*loss)
		if queued {
			// What was received lately, but never less than half the
			// estimate at once: the rate sags for a moment as a queue
			// is cut (a router's queue flushed, a link that changes).
			next = st.target * estimateBackoff
			if rate > 0 {
				next = max(rate*estimateBackoff, st.target*0.5)
			}
		}
		if rate > 0 {
			st.capacity = rate
		}
		st.lastDrop = now
		if next >= st.target {
			return false
		}
		st.target = max(next, estimateMin)
		return true
	case q < us(queueNormal) && st.loss < lossLow:
		dt := min(float64(now-st.lastUpdate)/1e6, 1)
		st.lastUpdate = now
		growth := estimateGrowth
		if st.lastDrop != 0 && now-st.lastDrop < us(estimateNear) {
			growth = estimateNearGrow
		}
		st.target = min(st.target*math.Pow(growth, dt), estimateMax)
	default:
		st.lastUpdate = now
	}
	return false
}

// walkTWCC calls fn for each packet a transport-cc feedback packet p (its
// RTCP header included) reports on, in order: its sequence number,
// whether it arrived, and when (µs, on the subscriber's clock). It
// reports false for a malformed packet, possibly after some calls.
func walkTWCC(p []byte, fn func(seq uint16, got bool, at int64)) bool {
	if len(p) < 20 {
		return false
	}
	base := binary.BigEndian.Uint16(p[12:])
	count := int(binary.BigEndian.Uint16(p[14:]))
	at := int64(int32(binary.BigEndian.Uint32(p[16:]))>>8) * 64000
	// The chunks first, to find where the receive deltas begin.
	pos := 20
	for n := 0; n < count; pos += 2 {
		if pos+2 > len(p) {
			return false
		}
		c := binary.BigEndian.Uint16(p[pos:])
		switch {
		case c&0x8000 == 0:
			n += int(c & 0x1fff)
		case c&0x4000 == 0:
			n += 14
		default:
			n += 7
		}
	}
	deltas := pos
	i := 0
	status := func(sym uint16) bool {
		seq := base + uint16(i)
		i++
		switch sym {
		case 0:
			fn(seq, false, 0)
		case 1:
			if deltas+1 > len(p) {
				return false
			}
			at += int64(p[deltas]) * 250
			deltas++
			fn(seq, true, at)
		case 2:
			if deltas+2 > len(p) {
				return false
			}
			at += int64(int16(binary.BigEndian.Uint16(p[deltas:]))) * 250
			deltas += 2
			fn(seq, true, at)
		default:
			return false
		}
		return true
	}
	for pos = 20; i < count; pos += 2 {
		c := binary.BigEndian.Uint16(p[pos:])
		switch {
		case c&0x8000 == 0:
			sym := c >> 13 & 3
			for run := int(c & 0x1fff); run > 0 && i < count; run-- {
				if !status(sym) {
					return false
				}
			}
		case c&0x4000 == 0:
			for k := 13; k >= 0 && i < count; k-- {
				if !status(c >> k & 1) {
					return false
				}
			}
		default:
			for k := 12; k >= 0 && i < count; k -= 2 {
				if !status(c >> k & 3) {
					return false
				}
			}
		}
	}
	return true
}
