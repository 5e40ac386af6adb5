package sfu

// A VP8 payload descriptor (RFC 7741, section 4.2) numbers the pictures
// of a stream: a picture id, the index of the last base-layer picture
// (TL0PICIDX) and a key index. Each simulcast layer numbers its own, so
// a subscriber moved from one layer to another saw the numbers jump, and
// Chrome's receiver, which finds a picture's references by them, held
// back every picture after the new layer's keyframe as waiting for
// pictures that would never come: in the browser test, a tile froze for
// 1-3 s after a layer switch, packets arriving and no frame assembled,
// until the next keyframe. So, as the sequence numbers and timestamps
// (rewriter), each subscriber's numbers go on from the last ones sent.

// vp8Fields are the offsets in a payload of the numbered fields of its
// descriptor; 0 when absent (offset 0 is the descriptor's first byte,
// never one of them).
type vp8Fields struct {
	pictureID int // one byte (7 bits) or two (M bit: 15 bits)
	wide      bool
	tl0       int
	keyIdx    int // the byte of TID, Y and KEYIDX when K is set
}

// parseVP8 finds the numbered fields of payload's descriptor.
func parseVP8(payload []byte) (vp8Fields, bool) {
	var f vp8Fields
	if len(payload) < 1 || payload[0]&0x80 == 0 { // X: no extension, no numbers
		return f, len(payload) > 0
	}
	if len(payload) < 2 {
		return f, false
	}
	x, i := payload[1], 2
	if x&0x80 != 0 { // I
		if len(payload) <= i {
			return f, false
		}
		f.pictureID, f.wide = i, payload[i]&0x80 != 0
		i++
		if f.wide {
			i++
		}
	}
	if x&0x40 != 0 { // L
		f.tl0 = i
		i++
	}
	if x&0x30 != 0 { // T or K: one byte for both
		if x&0x10 != 0 {
			f.keyIdx = i
		}
		i++
	}
	return f, len(payload) >= i
}

func (f vp8Fields) picture(p []byte) uint16 {
	if f.wide {
		return uint16(p[f.pictureID]&0x7f)<<8 | uint16(p[f.pictureID+1])
	}
	return uint16(p[f.pictureID] & 0x7f)
}

func (f vp8Fields) setPicture(p []byte, id uint16) {
	if f.wide {
		p[f.pictureID] = 0x80 | byte(id>>8)&0x7f
		p[f.pictureID+1] = byte(id)
		return
	}
	p[f.pictureID] = byte(id) & 0x7f
}

// vp8Offsets are what a subscriber adds to a layer's numbers.
type vp8Offsets struct {
	picture uint16
	tl0     uint8
	keyIdx  uint8
}

func (o vp8Offsets) zero() bool { return o == vp8Offsets{} }

// vp8Numbers keeps one subscriber's picture numbers continuous across the
// layers it is sent; the caller serialises its use (downTrack.mu).
type vp8Numbers struct {
	off                  vp8Offsets
	picture              uint16 // the last numbers sent
	tl0, keyIdx          uint8
	sentPicture, sentTL0 bool
	sentKeyIdx           bool
	buf                  []byte // the rewritten payload, reused
}

// rewrite returns payload with its numbers going on from the last ones
// sent; first says that it starts a new layer (a keyframe), whose
// numbers are set to follow. A payload whose numbers need no change is
// returned as it is: the publisher's buffer is shared by every
// subscriber, so a change goes into a copy.
func (n *vp8Numbers) rewrite(payload []byte, first bool) []byte {
	f, ok := parseVP8(payload)
	if !ok {
		return payload
	}
	if first {
		n.follow(payload, f)
	}
	if !n.off.zero() {
		payload = n.apply(payload, f, n.off)
	}
	n.remember(payload, f)
	return payload
}

// follow sets the offsets for the numbers of payload, the first of a new
// layer, to come right after the last ones sent.
func (n *vp8Numbers) follow(p []byte, f vp8Fields) {
	if f.pictureID != 0 && n.sentPicture {
		n.off.picture = n.picture + 1 - f.picture(p)
	}
	if f.tl0 != 0 && n.sentTL0 {
		n.off.tl0 = n.tl0 + 1 - p[f.tl0]
	}
	if f.keyIdx != 0 && n.sentKeyIdx {
		n.off.keyIdx = n.keyIdx + 1 - p[f.keyIdx]&0x1f
	}
}

// apply returns a copy of p with off added to its numbers.
func (n *vp8Numbers) apply(p []byte, f vp8Fields, off vp8Offsets) []byte {
	n.buf = append(n.buf[:0], p...)
	q := n.buf
	if f.pictureID != 0 {
		f.setPicture(q, f.picture(q)+off.picture)
	}
	if f.tl0 != 0 {
		q[f.tl0] += off.tl0
	}
	if f.keyIdx != 0 {
		q[f.keyIdx] = q[f.keyIdx]&0xe0 | (q[f.keyIdx]+off.keyIdx)&0x1f
	}
	return q
}

func (n *vp8Numbers) remember(p []byte, f vp8Fields) {
	if f.pictureID != 0 {
		n.picture, n.sentPicture = f.picture(p), true
	}
	if f.tl0 != 0 {
		n.tl0, n.sentTL0 = p[f.tl0], true
	}
	if f.keyIdx != 0 {
		n.keyIdx, n.sentKeyIdx = p[f.keyIdx]&0x1f, true
	}
}

// again returns p, a packet sent before with the offsets off, as it was
// sent then (a retransmission); it leaves the last numbers as they are.
func (n *vp8Numbers) again(p []byte, off vp8Offsets) []byte {
	f, ok := parseVP8(p)
	if !ok || off.zero() {
		return p
	}
	return n.apply(p, f, off)
}
