package sfu

import (
	"time"

	"github.com/pion/rtcp"
)

// Sender reports (RFC 3550 6.4.1) to subscribers: each tells the
// subscriber which RTP timestamp of a stream goes with which wall-clock
// time, which a browser needs to play a participant's audio and video in
// sync, and gives the round trip back in the subscriber's receiver
// reports (stats.go). They replace pion's report.SenderInterceptor on
// subscribing connections, which took a lock and read the clock for
// every packet of every subscriber stream, and ran a goroutine and a
// ticker per connection; here a down track notes each packet under the
// lock its send holds anyway, and the allocation loop sends one compound
// report per subscriber per second.

// senderState is what a down track's report needs; under downTrack.mu.
type senderState struct {
	packets, octets uint32
	lastTS          uint32 // the RTP timestamp of the last packet sent
	lastAt          time.Time
}

// sent notes a packet sent with this timestamp and payload size, which
// arrived from its publisher at at. Its arrival, not its departure, goes
// with its timestamp: all the subscribers of a fan-out get the same
// mapping, and the audio and video of a publisher one that holds for
// both.
func (s *senderState) sent(ts uint32, payload int, at time.Time) {
	s.packets++
	s.octets += uint32(payload)
	s.lastTS = ts
	s.lastAt = at
}

// report is the sender report of the stream at now, false before a
// packet was sent. The RTP time is the last packet's, moved on by the
// time since at the stream's clock rate.
func (s *senderState) report(ssrc, clockRate uint32, now time.Time) (rtcp.SenderReport, bool) {
	if s.packets == 0 || ssrc == 0 {
		return rtcp.SenderReport{}, false
	}
	elapsed := now.Sub(s.lastAt)
	return rtcp.SenderReport{
		SSRC:        ssrc,
		NTPTime:     ntpTime(now),
		RTPTime:     s.lastTS + uint32(elapsed.Seconds()*float64(clockRate)),
		PacketCount: s.packets,
		OctetCount:  s.octets,
	}, true
}

// ntpTime is t as a 64-bit NTP timestamp.
func ntpTime(t time.Time) uint64 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return secs<<32 | frac
}

// senderReports sends a subscriber's reports; its buffers are reused
// from one second to the next.
type senderReports struct {
	reports []rtcp.SenderReport
	pkts    []rtcp.Packet
}

func (r *senderReports) send(p *Peer, now time.Time) {
	r.reports = r.reports[:0]
	for _, d := range p.downTracks() {
		d.mu.Lock()
		rep, ok := d.sr.report(d.ssrc(), d.track.codec.ClockRate, now)
		d.mu.Unlock()
		if ok {
			r.reports = append(r.reports, rep)
		}
	}
	if len(r.reports) == 0 {
		return
	}
	r.pkts = r.pkts[:0]
	for i := range r.reports {
		r.pkts = append(r.pkts, &r.reports[i])
	}
	// At most reportsPerPacket to a datagram, which then stays under
	// the MTU however many tracks the subscriber receives.
	for pkts := r.pkts; len(pkts) > 0; {
		n := min(len(pkts), reportsPerPacket)
		_ = p.sub.WriteRTCP(pkts[:n])
		pkts = pkts[n:]
	}
}

// reportsPerPacket: 28 bytes each, 1,120 bytes at most.
const reportsPerPacket = 40
