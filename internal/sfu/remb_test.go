package sfu

import (
	"testing"

	"github.com/pion/rtcp"
)

func TestREMBBitrate(t *testing.T) {
	for _, bps := range []float32{64_000, 300_000, 2_500_000, 40_000_000} {
		raw, err := (&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: bps, SSRCs: []uint32{7, 8}}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, ok := rembBitrate(raw)
		// The 18-bit mantissa keeps four significant digits or so.
		if !ok || float32(got) < bps*0.999 || float32(got) > bps*1.001 {
			t.Errorf("REMB of %v read as %d, %v", bps, got, ok)
		}
	}
	afb := make([]byte, 24)
	copy(afb[12:], "ABCD") // application layer feedback of another kind
	for name, p := range map[string][]byte{"short": make([]byte, 19), "not REMB": afb} {
		if _, ok := rembBitrate(p); ok {
			t.Errorf("%s: read as REMB", name)
		}
	}
	huge := make([]byte, 20)
	copy(huge[12:], "REMB")
	huge[17] = 0xff // exponent 63
	if got, ok := rembBitrate(huge); !ok || got != estimateMax {
		t.Errorf("exponent 63 read as %d, %v; want the ceiling", got, ok)
	}
}
