package sfu

import (
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// PeerStats are one participant's media figures as the server sees them,
// for the admin dashboard. Byte counts are cumulative: a reader that wants
// a bitrate takes two samples.
type PeerStats struct {
	// PublishedBytes is what the participant sent to the server: RTP
	// headers and payloads of every layer of every track.
	PublishedBytes uint64
	// ForwardedBytes is what the server sent on to the participant.
	ForwardedBytes uint64
	// Loss is the worst fraction (0 to 1) of packets lost on their way to
	// the participant, from its latest receiver reports; RTT the longest
	// round trip those reports give. Reported is false until one came.
	Loss     float64
	RTT      time.Duration
	Reported bool
}

// downStats are a down track's figures. Counting is one atomic add per
// packet sent; the reports are read as they arrive (about one a second).
type downStats struct {
	bytes    atomic.Uint64
	loss     atomic.Uint32 // fraction lost, in 1/256
	rtt      atomic.Int64  // nanoseconds
	reported atomic.Bool
}

// Stats returns the participant's figures now.
func (p *Peer) Stats() PeerStats {
	var st PeerStats
	for _, t := range p.tracks() {
		t.mu.Lock()
		for _, l := range t.layers {
			st.PublishedBytes += l.bytes.Load()
		}
		t.mu.Unlock()
	}
	for _, d := range p.downTracks() {
		st.ForwardedBytes += d.stats.bytes.Load()
		if !d.stats.reported.Load() {
			continue
		}
		st.Reported = true
		st.Loss = max(st.Loss, float64(d.stats.loss.Load())/256)
		st.RTT = max(st.RTT, time.Duration(d.stats.rtt.Load()))
	}
	return st
}

// report reads a subscriber's receiver report blocks about this down
// track's stream: the fraction lost, and the round trip from the last
// sender report it echoes (RFC 3550 6.4.1: now - LSR - DLSR, in 1/65536 s).
func (d *downTrack) report(blocks []rtcp.ReceptionReport, now time.Time) {
	ssrc := d.ssrc()
	for _, b := range blocks {
		if b.SSRC != ssrc {
			continue
		}
		d.stats.loss.Store(uint32(b.FractionLost))
		if b.LastSenderReport != 0 {
			if rtt := compactNTP(now) - b.LastSenderReport - b.Delay; rtt < 1<<30 {
				d.stats.rtt.Store(int64(time.Duration(rtt) * time.Second / 65536))
			}
		}
		d.stats.reported.Store(true)
	}
}

// ssrc is the SSRC the down track sends with (0 before it is bound).
// It is read from the binding, not the sender's GetParameters, which
// allocates the parameters afresh at each call.
func (d *downTrack) ssrc() uint32 {
	if b := d.local.binding.Load(); b != nil {
		return b.ssrc
	}
	return 0
}

// compactNTP is the middle 32 bits of t's NTP timestamp, the form LSR
// takes in receiver reports.
func compactNTP(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}
