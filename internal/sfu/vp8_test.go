package sfu

import (
	"bytes"
	"testing"
)

// vp8Payload is a VP8 payload with a 15-bit picture id, TL0PICIDX and
// KEYIDX (RFC 7741, 4.2), then one byte of frame.
func vp8Payload(picture uint16, tl0, keyIdx uint8, key bool) []byte {
	frame := byte(0x01) // P: not a keyframe
	if key {
		frame = 0
	}
	return []byte{0x90, 0xf0, 0x80 | byte(picture>>8), byte(picture), tl0, 0x20 | keyIdx, frame}
}

type vp8Numbered struct {
	picture     uint16
	tl0, keyIdx uint8
}

func numbersOf(t *testing.T, p []byte) vp8Numbered {
	t.Helper()
	f, ok := parseVP8(p)
	if !ok || f.pictureID == 0 || f.tl0 == 0 || f.keyIdx == 0 {
		t.Fatalf("descriptor not parsed: %x (%+v)", p, f)
	}
	return vp8Numbered{f.picture(p), p[f.tl0], p[f.keyIdx] & 0x1f}
}

// A subscriber moved between layers gets picture numbers that go on from
// the last ones it was sent, and the publisher's payloads, shared with
// every other subscriber, are left as they were.
func TestVP8NumbersContinueAcrossLayers(t *testing.T) {
	var n vp8Numbers
	send := func(p []byte, first bool) vp8Numbered {
		in := append([]byte{}, p...)
		out := numbersOf(t, n.rewrite(p, first))
		if !bytes.Equal(p, in) {
			t.Fatalf("the publisher's payload was changed: %x, was %x", p, in)
		}
		return out
	}
	// Layer q from its first keyframe: as it is.
	if got := send(vp8Payload(100, 7, 3, true), true); got != (vp8Numbered{100, 7, 3}) {
		t.Fatalf("first picture: %+v", got)
	}
	send(vp8Payload(101, 8, 3, false), false)
	// Layer h's keyframe, numbered far behind: it follows q's last.
	if got := send(vp8Payload(20000, 250, 30, true), true); got != (vp8Numbered{102, 9, 4}) {
		t.Fatalf("switch to h: %+v, want {102 9 4}", got)
	}
	if got := send(vp8Payload(20001, 251, 30, false), false); got != (vp8Numbered{103, 10, 4}) {
		t.Fatalf("h goes on: %+v, want {103 10 4}", got)
	}
	// Layer f near the end of the 15-bit range: the ids wrap as the
	// receiver expects, and the layer's own wrap is carried along.
	if got := send(vp8Payload(0x7ffe, 0, 0, true), true); got != (vp8Numbered{104, 11, 5}) {
		t.Fatalf("switch to f: %+v", got)
	}
	send(vp8Payload(0x7fff, 1, 0, false), false)
	if got := send(vp8Payload(0, 2, 0, false), false); got != (vp8Numbered{106, 13, 5}) {
		t.Fatalf("f past its wrap: %+v, want {106 13 5}", got)
	}
}

// A retransmission goes out with the numbers it had the first time.
func TestVP8RetransmissionKeepsItsNumbers(t *testing.T) {
	var n vp8Numbers
	n.rewrite(vp8Payload(500, 1, 1, true), true)
	n.rewrite(vp8Payload(9000, 40, 9, true), true)
	off := n.off
	if got := numbersOf(t, n.again(vp8Payload(9000, 40, 9, true), off)); got != (vp8Numbered{501, 2, 2}) {
		t.Fatalf("resent: %+v, want {501 2 2}", got)
	}
	// The next new packet is unaffected by the retransmission.
	if got := numbersOf(t, n.rewrite(vp8Payload(9001, 41, 9, false), false)); got != (vp8Numbered{502, 3, 2}) {
		t.Fatalf("after a retransmission: %+v, want {502 3 2}", got)
	}
}

// Seven-bit picture ids, and descriptors without numbers, pass.
func TestVP8ShortDescriptors(t *testing.T) {
	var n vp8Numbers
	short := func(id byte) []byte { return []byte{0x90, 0x80, id, 0x01} }
	n.rewrite(short(120), true)
	n.rewrite(short(127), false)
	if got := n.rewrite(short(5), true); got[2] != 0 {
		t.Errorf("7-bit id after 127: %d, want 0 (it wraps at 128)", got[2])
	}
	plain := []byte{0x10, 0x00}
	if got := n.rewrite(plain, true); !bytes.Equal(got, plain) {
		t.Errorf("a descriptor without numbers changed: %x", got)
	}
	for _, bad := range [][]byte{{}, {0x80}, {0x90, 0x80}, {0x90, 0x80, 0x80}} {
		if got := n.rewrite(bad, false); !bytes.Equal(got, bad) {
			t.Errorf("truncated %x came out as %x", bad, got)
		}
	}
}
