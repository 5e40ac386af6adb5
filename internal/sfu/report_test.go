package sfu

import (
	"testing"
	"time"
)

// A sender report maps now to the RTP time the stream would have now:
// the last packet's timestamp moved on at the clock rate, and counts what
// was sent; none before the first packet.
func TestSenderReportExtrapolates(t *testing.T) {
	var s senderState
	now := time.Now()
	if _, ok := s.report(1234, 90000, now); ok {
		t.Fatal("a report before any packet was sent")
	}
	s.sent(1_000_000, 1000, now.Add(-133*time.Millisecond))
	s.sent(1_003_000, 500, now.Add(-100*time.Millisecond))
	r, ok := s.report(1234, 90000, now)
	if !ok {
		t.Fatal("no report after two packets")
	}
	if r.SSRC != 1234 || r.PacketCount != 2 || r.OctetCount != 1500 {
		t.Errorf("report %+v, want SSRC 1234, 2 packets, 1500 octets", r)
	}
	if want := uint32(1_003_000 + 9000); r.RTPTime < want-1 || r.RTPTime > want+1 {
		t.Errorf("RTP time %d, want %d (100 ms at 90 kHz after the last packet)", r.RTPTime, want)
	}
	if got := time.Unix(int64(r.NTPTime>>32)-2208988800, 0); got.Sub(now).Abs() > time.Second {
		t.Errorf("NTP time %v, want about %v", got, now)
	}
}
