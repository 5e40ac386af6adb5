package sfu_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtcp"
)

// fixedEstimate is a bandwidth estimator whose estimate the test sets.
type fixedEstimate struct{ bps *atomic.Int64 }

func (f fixedEstimate) AddStream(_ *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	return w
}
func (f fixedEstimate) WriteRTCP([]rtcp.Packet, interceptor.Attributes) error { return nil }
func (f fixedEstimate) GetTargetBitrate() int                                 { return int(f.bps.Load()) }
func (f fixedEstimate) OnTargetBitrateChange(func(int))                       {}
func (f fixedEstimate) GetStats() map[string]any                              { return nil }
func (f fixedEstimate) Close() error                                          { return nil }

// A subscriber whose bandwidth does not carry the layer its tile asks for
// gets the best layer that fits, and the asked one once it fits again.
func TestBandwidthCapsTheLayer(t *testing.T) {
	bps := &atomic.Int64{}
	bps.Store(50_000_000)
	s := newTestSFU(t, sfu.Config{
		KeyframeInterval:   50 * time.Millisecond,
		BandwidthEstimator: func() (cc.BandwidthEstimator, error) { return fixedEstimate{bps}, nil },
	})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	a.PublishSimulcast()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })
	bp.SetView("alice", 1080)
	layer := func(rid string) func() bool {
		return func() bool { return b.LastSize("alice/cam") == sfutest.SimulcastSizes[rid] }
	}
	sfutest.WaitFor(t, "the full layer with room to spare", 5*time.Second, layer("f"))
	// The layers run at about 85, 205 and 405 kbit/s (a packet of 212,
	// 512 and 1012 bytes every 20 ms): 300 kbit/s carries h, not f.
	bps.Store(300_000)
	sfutest.WaitFor(t, "down to h within 2 s", 2*time.Second, layer("h"))
	bps.Store(100_000)
	sfutest.WaitFor(t, "down to q", 2*time.Second, layer("q"))
	bps.Store(50_000)
	time.Sleep(time.Second)
	if !layer("q")() {
		t.Error("below the lowest layer the video went elsewhere than the lowest layer")
	}
	bps.Store(50_000_000)
	sfutest.WaitFor(t, "back up to f", 3*time.Second, layer("f"))
	if j := b.Jumps("alice/cam"); j != 0 {
		t.Errorf("%d sequence jumps across the switches", j)
	}
}
