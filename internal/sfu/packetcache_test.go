package sfu

import (
	"bytes"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeStream is a bound sender's stream that keeps what is written.
type fakeStream struct{ got []rtp.Packet }

func (f *fakeStream) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	p := rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)}
	p.Extensions = nil
	f.got = append(f.got, p)
	return len(payload), nil
}

func (f *fakeStream) Write(b []byte) (int, error) { return len(b), nil }

// countStream counts what is written and keeps nothing.
type countStream struct{ n int }

func (c *countStream) WriteRTP(*rtp.Header, []byte) (int, error) { c.n++; return 0, nil }
func (c *countStream) Write(b []byte) (int, error)               { return len(b), nil }

// testTrack is a simulcast VP8 track with layers q and h, each with its
// cache, and no publisher behind it.
func testTrack() *track {
	t := &track{id: "cam", kind: webrtc.RTPCodecTypeVideo, simulcast: true,
		codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
	t.downs.Store(&[]*downTrack{})
	for _, q := range []int{qualityLow, qualityMedium} {
		t.layers = append(t.layers, &layer{quality: q, cache: newPacketCache()})
	}
	return t
}

// testDownTrack is a subscriber of t bound to w, receiving quality q.
func testDownTrack(t *track, q int, w webrtc.TrackLocalWriter) *downTrack {
	d := &downTrack{track: t, want: q, cap: maxQuality, local: &boundTrack{}}
	d.gate = newLayerGate(q, t.simulcast)
	d.local.binding.Store(&binding{ssrc: 1234, payloadType: 96, w: w})
	return d
}

var (
	vp8Key   = []byte{0x10, 0x00, 0x9d, 0x01, 0x2a}
	vp8Delta = []byte{0x10, 0x01, 0x00, 0x00, 0x00}
)

// publish passes one packet of layer l through the forwarding path: into
// the layer's cache and to d. The payload's last byte tells it apart.
func publish(t *track, d *downTrack, l *layer, seq uint16, ts uint32, key bool, tag byte) {
	payload := append([]byte(nil), vp8Delta...)
	if key {
		payload = append([]byte(nil), vp8Key...)
	}
	payload = append(payload, tag)
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SequenceNumber: seq, Timestamp: ts, SSRC: uint32(1 + l.quality)}, Payload: payload}
	raw, err := p.Marshal()
	if err != nil {
		panic(err)
	}
	l.cache.put(seq, raw, key)
	d.write(l.quality, &p)
}

// A NACK of a number sent before a layer switch and one after each get
// the packet that was sent under that number, from the right layer's
// cache, with the number and timestamp it was sent with.
func TestResendMapsNumbersBackAcrossSwitches(t *testing.T) {
	tr := testTrack()
	q, h := tr.layers[0], tr.layers[1]
	w := &fakeStream{}
	d := testDownTrack(tr, qualityLow, w)
	for i := range 5 {
		publish(tr, d, q, 1000+uint16(i), 9000+uint32(i)*3000, i == 0, byte(i))
	}
	d.gate.aim(qualityMedium, true)
	for i := range 5 {
		publish(tr, d, h, 60000+uint16(i), 500+uint32(i)*3000, i == 0, byte(100+i))
		publish(tr, d, q, 1005+uint16(i), 24000+uint32(i)*3000, false, byte(5+i)) // not sent: d switched
	}
	if len(w.got) != 10 {
		t.Fatalf("%d packets sent, want 10", len(w.got))
	}
	sent := append([]rtp.Packet(nil), w.got...)
	for i := 1; i < len(sent); i++ {
		if sent[i].SequenceNumber != sent[i-1].SequenceNumber+1 {
			t.Fatalf("sent numbers not continuous: %d after %d", sent[i].SequenceNumber, sent[i-1].SequenceNumber)
		}
	}
	w.got = nil
	nacked := []uint16{sent[2].SequenceNumber, sent[7].SequenceNumber, sent[9].SequenceNumber + 1}
	d.resend(nacked)
	if len(w.got) != 2 {
		t.Fatalf("%d packets resent, want 2 (the third number was never sent)", len(w.got))
	}
	for i, want := range []rtp.Packet{sent[2], sent[7]} {
		got := w.got[i]
		if got.SequenceNumber != want.SequenceNumber || got.Timestamp != want.Timestamp || got.SSRC != 1234 || got.PayloadType != 96 ||
			!bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("resent #%d: seq %d ts %d ssrc %d pt %d payload %x, want seq %d ts %d ssrc 1234 pt 96 payload %x",
				i, got.SequenceNumber, got.Timestamp, got.SSRC, got.PayloadType, got.Payload, want.SequenceNumber, want.Timestamp, want.Payload)
		}
	}
}

// A packet gone from the cache (overwritten) is not resent, nor is
// another in its place.
func TestResendSkipsPacketsNoLongerCached(t *testing.T) {
	tr := testTrack()
	w := &fakeStream{}
	d := testDownTrack(tr, qualityLow, w)
	for i := range cacheSize + 10 {
		publish(tr, d, tr.layers[0], uint16(i), uint32(i)*3000, i == 0, byte(i))
	}
	first := w.got[0].SequenceNumber
	w.got = nil
	d.resend([]uint16{first, first + 5, first + cacheSize + 5})
	if len(w.got) != 1 || w.got[0].SequenceNumber != first+cacheSize+5 {
		t.Fatalf("resent %v, want only the one still cached", w.got)
	}
}

// Forwarding a packet to a subscriber, caching included, allocates
// nothing.
func TestForwardDoesNotAllocate(t *testing.T) {
	tr := testTrack()
	w := &countStream{}
	d := testDownTrack(tr, qualityLow, w)
	l := tr.layers[0]
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 100, SSRC: 1}, Payload: append(append([]byte(nil), vp8Key...), make([]byte, 1100)...)}
	raw, _ := p.Marshal()
	d.write(l.quality, &p) // the keyframe that starts the layer
	seq := uint16(0)
	for range cacheSize { // every slot has its buffer
		seq++
		l.cache.put(seq, raw, false)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		p.SequenceNumber = seq
		p.Timestamp += 3000
		l.cache.put(seq, raw, false)
		d.write(l.quality, &p)
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per forwarded packet, want 0", allocs)
	}
	if w.n < 1000 {
		t.Errorf("%d packets written", w.n)
	}
}

// A packet NACKed twice at once goes once, and a flood of NACKs resends
// no more than the burst.
func TestResendIsBounded(t *testing.T) {
	tr := testTrack()
	w := &fakeStream{}
	d := testDownTrack(tr, qualityLow, w)
	for i := range cacheSize {
		publish(tr, d, tr.layers[0], uint16(i), uint32(i)*3000, i == 0, byte(i))
	}
	w.got = nil
	d.resend([]uint16{10, 10})
	d.resend([]uint16{10})
	if len(w.got) != 1 {
		t.Errorf("packet NACKed three times at once sent %d times, want 1", len(w.got))
	}
	w.got = nil
	all := make([]uint16, cacheSize)
	for i := range all {
		all[i] = uint16(i)
	}
	d.resend(all)
	if len(w.got) > resendBurst {
		t.Errorf("%d packets resent for one flood, want at most %d", len(w.got), resendBurst)
	}
}

// Where the subscriber negotiated RTX, a packet goes again on the RTX
// stream (RFC 4588): its SSRC and payload type, its own numbers, the
// original sequence number first in the payload, the original timestamp.
func TestResendUsesRTXWhereNegotiated(t *testing.T) {
	tr := testTrack()
	w := &fakeStream{}
	d := testDownTrack(tr, qualityLow, w)
	d.local.binding.Store(&binding{ssrc: 1234, payloadType: 96, rtxSSRC: 999, rtxPayloadType: 97, w: w})
	for i := range 10 {
		publish(tr, d, tr.layers[0], 100+uint16(i), uint32(i)*3000, i == 0, byte(i))
	}
	sent := append([]rtp.Packet(nil), w.got...)
	w.got = nil
	d.resend([]uint16{sent[3].SequenceNumber, sent[7].SequenceNumber})
	if len(w.got) != 2 {
		t.Fatalf("%d packets resent, want 2", len(w.got))
	}
	for i, orig := range []rtp.Packet{sent[3], sent[7]} {
		got := w.got[i]
		osn := uint16(got.Payload[0])<<8 | uint16(got.Payload[1])
		if got.SSRC != 999 || got.PayloadType != 97 || osn != orig.SequenceNumber || got.Timestamp != orig.Timestamp ||
			!bytes.Equal(got.Payload[2:], orig.Payload) {
			t.Errorf("retransmission %d: ssrc %d pt %d osn %d ts %d payload %x; want ssrc 999 pt 97 osn %d ts %d payload %x",
				i, got.SSRC, got.PayloadType, osn, got.Timestamp, got.Payload[2:], orig.SequenceNumber, orig.Timestamp, orig.Payload)
		}
	}
	if w.got[1].SequenceNumber != w.got[0].SequenceNumber+1 {
		t.Errorf("RTX numbers %d then %d, want consecutive", w.got[0].SequenceNumber, w.got[1].SequenceNumber)
	}
}

// A subscriber that starts (its connection has come up) is sent the
// cached keyframe of its layer and the packets after it, numbered on from
// what it was sent before; the live packets follow without a gap or a
// packet twice, even one the forwarding loop had cached and not yet
// written to it when the start came.
func TestStartSendsTheCachedKeyframe(t *testing.T) {
	tr := testTrack()
	h := tr.layers[1]
	first := testDownTrack(tr, qualityMedium, &countStream{})
	w := &fakeStream{}
	d := testDownTrack(tr, qualityMedium, w)
	publish(tr, first, h, 99, 900, false, 0)
	// Sent before the start: lost.
	publish(tr, d, h, 100, 1000, true, 1)
	publish(tr, d, h, 101, 1000, false, 2)
	publish(tr, d, h, 102, 4000, false, 3)
	if !d.start() {
		t.Fatal("no start from the cached keyframe")
	}
	d.write(qualityMedium, packetOf(h, 102)) // the loop's write of a packet sent from the cache
	publish(tr, d, h, 103, 7000, false, 4)
	var tags []byte
	for i, p := range w.got {
		tags = append(tags, p.Payload[len(p.Payload)-1])
		if i > 0 && p.SequenceNumber != w.got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d numbered %d after %d", i, p.SequenceNumber, w.got[i-1].SequenceNumber)
		}
	}
	if want := []byte{1, 2, 3, 1, 2, 3, 4}; !bytes.Equal(tags, want) {
		t.Fatalf("sent packets %v, want %v (the lost ones, then from the cached keyframe on)", tags, want)
	}
	if ts := w.got[6].Timestamp - w.got[3].Timestamp; ts != 6000 {
		t.Errorf("timestamps of the cached keyframe and a live packet 6000 apart, got %d", ts)
	}
	if !d.started() {
		t.Error("the start does not count as a keyframe received")
	}
	// NACKs of the numbers sent from the cache are answered.
	w.got = nil
	d.resend([]uint16{d.gate.rw.lastSeq - 2})
	if len(w.got) != 1 || w.got[0].Payload[len(w.got[0].Payload)-1] != 2 {
		t.Errorf("a NACK of a packet sent from the cache resent %d packets", len(w.got))
	}
}

// packetOf is a cached packet of l, parsed.
func packetOf(l *layer, seq uint16) *rtp.Packet {
	raw, ok := l.cache.get(seq, nil)
	if !ok {
		panic("not cached")
	}
	var p rtp.Packet
	if err := p.Unmarshal(raw); err != nil {
		panic(err)
	}
	return &p
}

// A start needs a keyframe that is recent, whole and followed by a short
// run of packets; else the subscriber waits for the next one.
func TestKeyframeRunBounds(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		what    string
		packets int // after the keyframe
		skip    int // a packet not cached, 0: none
		age     time.Duration
		ok      bool
	}{
		{"recent and short", 10, 0, 0, true},
		{"too old", 10, 0, 2 * replayMaxAge, false},
		{"too long", replayMaxPackets, 0, 0, false},
		{"a packet missing", 10, 5, 0, false},
	} {
		c := newPacketCache()
		c.put(999, []byte{1}, false)
		c.put(1000, []byte{1}, true)
		for i := 1; i <= tc.packets; i++ {
			if i != tc.skip {
				c.put(1000+uint16(i), []byte{1}, false)
			}
		}
		first, last, ok := c.keyframeRun(replayMaxPackets, replayMaxAge, now.Add(tc.age), 0)
		if ok != tc.ok || ok && (first != 1000 || last != 1000+uint16(tc.packets)) {
			t.Errorf("%s: run %d-%d %v, want %v", tc.what, first, last, ok, tc.ok)
		}
	}
	c := newPacketCache()
	if _, _, ok := c.keyframeRun(replayMaxPackets, replayMaxAge, now, 0); ok {
		t.Error("a run without a keyframe")
	}
}

// A video shown again after it was hidden starts from the cached keyframe
// too, not at the publisher's next one.
func TestShownAgainStartsFromTheCachedKeyframe(t *testing.T) {
	tr := testTrack()
	// For keyframe requests, which go nowhere (the layers have no
	// publisher's stream).
	tr.owner = &Peer{room: &Room{sfu: &SFU{cfg: Config{KeyframeInterval: time.Second}}}}
	h := tr.layers[1]
	w := &fakeStream{}
	d := testDownTrack(tr, qualityMedium, w)
	publish(tr, d, h, 100, 1000, true, 1)
	publish(tr, d, h, 101, 4000, false, 2)
	d.setView(0)
	d.setView(360)
	// No keyframe came while it was hidden: the one before would show
	// again what was shown then.
	publish(tr, d, h, 102, 7000, false, 3)
	d.setView(0)
	publish(tr, d, h, 103, 10000, true, 4) // hidden: not sent
	publish(tr, d, h, 104, 13000, false, 5)
	d.setView(360)
	publish(tr, d, h, 105, 16000, false, 6)
	var tags []byte
	for i, p := range w.got {
		tags = append(tags, p.Payload[len(p.Payload)-1])
		if i > 0 && p.SequenceNumber != w.got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d numbered %d after %d", i, p.SequenceNumber, w.got[i-1].SequenceNumber)
		}
	}
	if want := []byte{1, 2, 4, 5, 6}; !bytes.Equal(tags, want) {
		t.Fatalf("sent packets %v, want %v", tags, want)
	}
}

// A start takes the cached keyframe of the target layer, else of the best
// layer below it, as a first picture may come from a lower layer; the
// target's next keyframe switches to it.
func TestStartFromALowerLayer(t *testing.T) {
	tr := testTrack()
	tr.owner = &Peer{room: &Room{sfu: &SFU{cfg: Config{KeyframeInterval: time.Second}}}}
	q, h := tr.layers[0], tr.layers[1]
	other := testDownTrack(tr, qualityLow, &countStream{})
	w := &fakeStream{}
	d := testDownTrack(tr, qualityMedium, w)
	publish(tr, other, q, 500, 1000, true, 1)
	publish(tr, other, q, 501, 4000, false, 2)
	publish(tr, d, h, 700, 1000, false, 9) // the target's: no keyframe yet
	if !d.start() {
		t.Fatal("no start from the lower layer's cached keyframe")
	}
	publish(tr, d, q, 502, 7000, false, 3)
	publish(tr, d, h, 701, 7000, true, 4) // the target's keyframe: switch
	publish(tr, d, q, 503, 10000, false, 5)
	publish(tr, d, h, 702, 10000, false, 6)
	var tags []byte
	for i, p := range w.got {
		tags = append(tags, p.Payload[len(p.Payload)-1])
		if i > 0 && p.SequenceNumber != w.got[i-1].SequenceNumber+1 {
			t.Errorf("packet %d numbered %d after %d", i, p.SequenceNumber, w.got[i-1].SequenceNumber)
		}
	}
	if want := []byte{1, 2, 3, 4, 6}; !bytes.Equal(tags, want) {
		t.Fatalf("sent packets %v, want %v", tags, want)
	}
}
