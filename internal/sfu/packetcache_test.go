package sfu

import (
	"bytes"
	"testing"

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
	l.cache.put(seq, raw)
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
		l.cache.put(seq, raw)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		p.SequenceNumber = seq
		p.Timestamp += 3000
		l.cache.put(seq, raw)
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
