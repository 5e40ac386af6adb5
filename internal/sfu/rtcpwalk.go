package sfu

import (
	"encoding/binary"

	"github.com/pion/rtcp"
)

// The subscriber's RTCP is read where it lies, without pion's rtcp
// package: parsing a compound packet with rtcp.Unmarshal allocates every
// packet in it, and every slice of a transport-wide feedback, which came
// to about one allocation per forwarded packet in the fan-out benchmark.
// The server reads few things of what a subscriber sends: keyframe
// requests, NACKs, receiver reports and the transport-wide feedback.

// RTCP packet types and feedback formats read here (RFC 3550, 4585, 5104).
const (
	rtcpReceiverReport    = 201
	rtcpTransportFeedback = 205 // RTPFB
	rtcpPayloadFeedback   = 206 // PSFB
	rtcpFmtNACK           = 1   // RTPFB
	rtcpFmtTWCC           = 15  // RTPFB
	rtcpFmtPLI            = 1   // PSFB
	rtcpFmtFIR            = 4   // PSFB
)

// rtcpPacket is one packet of a compound RTCP packet.
type rtcpPacket struct {
	typ uint8
	fmt uint8  // feedback format, or report count
	raw []byte // the packet, its header included
}

// rtcpWalker goes through a compound RTCP packet; it stops at the end or
// at the first packet whose header is not RTCP version 2 or whose length
// goes past the end.
type rtcpWalker struct{ b []byte }

func (w *rtcpWalker) next() (rtcpPacket, bool) {
	if len(w.b) < 4 || w.b[0]>>6 != 2 {
		return rtcpPacket{}, false
	}
	n := (int(binary.BigEndian.Uint16(w.b[2:])) + 1) * 4
	if n > len(w.b) {
		return rtcpPacket{}, false
	}
	p := rtcpPacket{typ: w.b[1], fmt: w.b[0] & 0x1f, raw: w.b[:n]}
	w.b = w.b[n:]
	return p, true
}

// receptionReports appends the report blocks of a receiver report to out.
func receptionReports(p rtcpPacket, out []rtcp.ReceptionReport) []rtcp.ReceptionReport {
	b := p.raw[min(8, len(p.raw)):]
	for k := 0; k < int(p.fmt) && len(b) >= 24; k, b = k+1, b[24:] {
		out = append(out, rtcp.ReceptionReport{
			SSRC:               binary.BigEndian.Uint32(b),
			FractionLost:       b[4],
			TotalLost:          binary.BigEndian.Uint32(b[4:]) & 0xffffff,
			LastSequenceNumber: binary.BigEndian.Uint32(b[8:]),
			Jitter:             binary.BigEndian.Uint32(b[12:]),
			LastSenderReport:   binary.BigEndian.Uint32(b[16:]),
			Delay:              binary.BigEndian.Uint32(b[20:]),
		})
	}
	return out
}

// nackedSeqs appends the sequence numbers a generic NACK asks for to out,
// at most limit in all.
func nackedSeqs(p rtcpPacket, out []uint16, limit int) []uint16 {
	for b := p.raw[min(12, len(p.raw)):]; len(b) >= 4 && len(out) < limit; b = b[4:] {
		pid, blp := binary.BigEndian.Uint16(b), binary.BigEndian.Uint16(b[2:])
		out = append(out, pid)
		for i := uint16(0); i < 16 && len(out) < limit; i++ {
			if blp&(1<<i) != 0 {
				out = append(out, pid+i+1)
			}
		}
	}
	return out
}
