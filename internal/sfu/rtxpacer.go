package sfu

import (
	"sync"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtp"
)

// Retransmissions and the estimator. pion's NACK responder sends a
// retransmission under the stream's RTX SSRC, through the estimator,
// whose pacer knows writers by SSRC; gcc registers only the stream's own
// SSRC, and pion's NoOpPacer refuses a packet of any other. So no NACK of
// a subscriber was ever answered (a subscriber with 5 % loss kept 5 %).
// rtxPacer also knows each stream's RTX SSRC, and sends its packets on
// the stream's writer.

// rtxPacer is a pacer that does not pace (the server forwards as packets
// come; the estimate only chooses layers) and sends retransmissions.
type rtxPacer struct {
	mu      sync.Mutex
	writers map[uint32]interceptor.RTPWriter
	rtx     map[uint32]uint32 // RTX SSRC -> its stream's SSRC
}

func newRTXPacer() *rtxPacer {
	return &rtxPacer{writers: map[uint32]interceptor.RTPWriter{}, rtx: map[uint32]uint32{}}
}

func (p *rtxPacer) AddStream(ssrc uint32, w interceptor.RTPWriter) {
	p.mu.Lock()
	p.writers[ssrc] = w
	p.mu.Unlock()
}

func (p *rtxPacer) addRTX(rtx, ssrc uint32) {
	p.mu.Lock()
	p.rtx[rtx] = ssrc
	p.mu.Unlock()
}

// Write sends at once. Unlike NoOpPacer it does not hold its lock while
// writing, so the streams of a connection do not wait for each other.
func (p *rtxPacer) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	p.mu.Lock()
	w := p.writers[h.SSRC]
	if w == nil {
		w = p.writers[p.rtx[h.SSRC]]
	}
	p.mu.Unlock()
	if w == nil {
		return 0, gcc.ErrUnknownStream
	}
	return w.Write(h, payload, a)
}

func (p *rtxPacer) SetTargetBitrate(int) {}
func (p *rtxPacer) Close() error         { return nil }

// rtxBWE is gcc's estimator that tells its pacer each stream's RTX SSRC.
type rtxBWE struct {
	*gcc.SendSideBWE
	pacer *rtxPacer
}

func (e rtxBWE) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if info.SSRCRetransmission != 0 {
		e.pacer.addRTX(info.SSRCRetransmission, info.SSRC)
	}
	return e.SendSideBWE.AddStream(info, w)
}

// newEstimator is the default Config.BandwidthEstimator: GCC without
// pacing, starting at 1 Mbit/s.
func newEstimator() (cc.BandwidthEstimator, error) {
	pacer := newRTXPacer()
	e, err := gcc.NewSendSideBWE(
		gcc.SendSideBWEInitialBitrate(1_000_000),
		gcc.SendSideBWEMaxBitrate(50_000_000),
		gcc.SendSideBWEPacer(pacer),
	)
	if err != nil {
		return nil, err
	}
	return rtxBWE{SendSideBWE: e, pacer: pacer}, nil
}
