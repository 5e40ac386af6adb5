package sfu

import "encoding/binary"

// REMB as the fallback estimate. A subscriber that did not negotiate
// transport-wide congestion control (an older or non-Chromium client)
// sends no feedback the estimator can judge, so its estimate would stay
// at estimateStart whatever its link carries. Such receivers estimate
// their bandwidth themselves and send it as REMB (draft-alvestrand-rmcat-
// remb-03; pion offers goog-remb on every video codec), and the estimate
// follows that. A subscriber that negotiated transport-wide feedback is
// judged on it alone, whatever REMB it also sends: the SFU numbers its
// packets only while there are layers to choose between, and a REMB sent
// meanwhile would be the browser's own start value, not a measurement.

// rtcpFmtAFB is the payload-specific feedback format of application
// layer feedback, which REMB is (RFC 4585 section 6.4).
const rtcpFmtAFB = 15

// rembBitrate reads the bitrate of a REMB packet (header included): false
// when p is application layer feedback of another kind, or too short.
func rembBitrate(p []byte) (int64, bool) {
	// header (4), sender SSRC (4), media SSRC (4), "REMB" (4), SSRC
	// count (1), exponent (6 bits) and mantissa (18 bits)
	if len(p) < 20 || string(p[12:16]) != "REMB" {
		return 0, false
	}
	exp := p[17] >> 2
	mantissa := int64(binary.BigEndian.Uint32(p[16:20]) & 0x3ffff)
	if exp > 40 { // past any link (and past int64 at 46)
		return estimateMax, true
	}
	return mantissa << exp, true
}

// remb sets the estimate from a REMB, unless the subscriber negotiated
// transport-wide feedback.
func (e *sendEstimator) remb(bps int64) {
	if e.twcc.Load() {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	st := &e.st
	bps = min(max(bps, estimateMin), estimateMax)
	lower := float64(bps) < st.target
	st.target = float64(bps)
	e.target.Store(bps)
	if lower {
		select {
		case e.lowered <- struct{}{}:
		default:
		}
	}
}
