package sfu

import (
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchTrack is a VP8 track of one layer with no publisher behind it,
// for the forwarding benchmark (forward_bench_test.go): the benchmark
// hands it packets as a publisher's forwarding loop would.
type BenchTrack struct {
	t *track
	l *layer
}

func NewBenchTrack(owner *Peer) *BenchTrack {
	t := &track{id: "cam", owner: owner, kind: webrtc.RTPCodecTypeVideo, simulcast: true,
		codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	t.downs.Store(&[]*downTrack{})
	l := &layer{quality: qualityLow, cache: newPacketCache()}
	t.layers = []*layer{l}
	return &BenchTrack{t: t, l: l}
}

// Subscribe sends the track to p.
func (b *BenchTrack) Subscribe(p *Peer) { p.subscribe(b.t) }

// Ready reports whether p's connection is up and its sender bound.
func (b *BenchTrack) Ready(p *Peer) bool {
	p.mu.Lock()
	d := p.downs[b.t]
	p.mu.Unlock()
	return p.sub.ConnectionState() == webrtc.PeerConnectionStateConnected && d != nil && d.local.binding.Load() != nil
}

// Forward does what the forwarding loop does with one packet: cache it
// (raw is its bytes) and write it to every subscriber.
func (b *BenchTrack) Forward(pkt *rtp.Packet, raw []byte) {
	b.l.cache.put(pkt.SequenceNumber, raw, isVP8Keyframe(pkt.Payload))
	batches := &b.t.owner.room.sfu.batches
	batches.begin()
	for _, d := range *b.t.downs.Load() {
		d.write(b.l.quality, pkt)
	}
	batches.end()
}

// BatchedDatagrams is how many datagrams the shared UDP sockets sent in
// batches (sendmmsg), and in how many calls.
func (s *SFU) BatchedDatagrams() (datagrams, calls uint64) {
	s.batches.mu.RLock()
	defer s.batches.mu.RUnlock()
	for _, c := range s.batches.conns {
		c.mu.Lock()
		datagrams += c.sent
		calls += c.flushes
		c.mu.Unlock()
	}
	return datagrams, calls
}

// EstimatorCounts is how many packets the default estimator of p's
// subscribing connection numbered, and how many feedback packets it
// judged.
func EstimatorCounts(p *Peer) (numbered uint32, feedback int) {
	e, ok := p.estimate.(*sendEstimator)
	if !ok {
		return 0, 0
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seq.Load(), e.st.arrN
}
