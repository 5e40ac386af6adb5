package sfu_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
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

// recordingEstimator is GCC with counters: the packets that reach it
// stamped with the transport-wide sequence number, and the feedback the
// subscriber sends about them.
type recordingEstimator struct {
	cc.BandwidthEstimator
	stamped, unstamped, feedback, audio *atomic.Int64
}

func (r recordingEstimator) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID)
		}
	}
	if strings.HasPrefix(info.MimeType, "audio/") {
		r.audio.Add(1)
	}
	next := r.BandwidthEstimator.AddStream(info, w)
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		if id != 0 && len(h.GetExtension(id)) == 2 {
			r.stamped.Add(1)
		} else {
			r.unstamped.Add(1)
		}
		return next.Write(h, p, a)
	})
}

func (r recordingEstimator) WriteRTCP(pkts []rtcp.Packet, a interceptor.Attributes) error {
	for _, p := range pkts {
		if _, ok := p.(*rtcp.TransportLayerCC); ok {
			r.feedback.Add(1)
		}
	}
	return r.BandwidthEstimator.WriteRTCP(pkts, a)
}

// Every video packet sent to a subscriber carries the transport-wide
// sequence number the estimator needs, the subscriber's feedback on them
// reaches the estimator, and audio stays out of it.
func TestEstimatorGetsStampedPacketsAndFeedback(t *testing.T) {
	var stamped, unstamped, feedback, audio atomic.Int64
	s := newTestSFU(t, sfu.Config{BandwidthEstimator: func() (cc.BandwidthEstimator, error) {
		e, err := gcc.NewSendSideBWE(gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
		return recordingEstimator{e, &stamped, &unstamped, &feedback, &audio}, err
	}})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 50 })
	sfutest.WaitFor(t, "feedback reaches the estimator", 5*time.Second, func() bool { return feedback.Load() > 0 })
	if stamped.Load() == 0 || unstamped.Load() != 0 {
		t.Errorf("%d packets stamped, %d not", stamped.Load(), unstamped.Load())
	}
	if n := audio.Load(); n != 0 {
		t.Errorf("%d audio streams went through the estimator", n)
	}
}

// The server numbers what it sends for the transport-wide feedback only
// while the subscriber gets a video with layers to choose between: the
// feedback costs both sides, and with one layer it decides nothing.
func TestTransportNumbersOnlyWithLayersToChoose(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	one := s.Room("one")
	a, _ := join(t, one, "alice")
	b, bp := join(t, one, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 50 })
	time.Sleep(1200 * time.Millisecond) // two allocations
	if n, _ := sfu.EstimatorCounts(bp); n != 0 {
		t.Errorf("%d packets of a one-layer video numbered for the feedback", n)
	}

	layers := s.Room("layers")
	c, _ := join(t, layers, "carol")
	d, dp := join(t, layers, "dave")
	c.PublishSimulcast()
	sfutest.WaitFor(t, "dave receives carol", 10*time.Second, func() bool { return d.Received("carol/cam") > 10 })
	sfutest.WaitFor(t, "numbered packets and their feedback", 5*time.Second, func() bool {
		n, fb := sfu.EstimatorCounts(dp)
		return n > 0 && fb > 0
	})
}

// A subscriber without transport-wide congestion control, which tells its
// bandwidth by REMB instead (as receivers without it do), gets the layer
// its REMB carries: the default estimator follows REMB when there is no
// transport-wide feedback to judge.
func TestREMBWithoutTransportCC(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 50 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	// NACK and reports, no transport-cc: pion's codecs offer goog-remb.
	b := sfutest.NewWithMedia(t, "bob", func(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
		if err := m.RegisterDefaultCodecs(); err != nil {
			return err
		}
		if err := webrtc.ConfigureNack(m, ir); err != nil {
			return err
		}
		return webrtc.ConfigureRTCPReports(ir)
	})
	bp := attach(t, room, b)
	a.PublishSimulcast()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })
	if sd := b.Sub.LocalDescription(); sd == nil || strings.Contains(sd.SDP, "transport-wide-cc") {
		t.Fatal("bob's answer negotiated transport-wide congestion control")
	}

	remb := &atomic.Int64{}
	remb.Store(5_000_000)
	sendREMB(t, b, remb)
	bp.SetView("alice", 1080)
	layer := func(rid string) func() bool {
		return func() bool { return b.LastSize("alice/cam") == sfutest.SimulcastSizes[rid] }
	}
	// The layers run at about 85, 205 and 405 kbit/s.
	sfutest.WaitFor(t, "the full layer at 5 Mbit/s", 5*time.Second, layer("f"))
	remb.Store(300_000)
	sfutest.WaitFor(t, "down to h within 2 s of a REMB of 300 kbit/s", 2*time.Second, layer("h"))
	remb.Store(120_000)
	sfutest.WaitFor(t, "down to q at 120 kbit/s", 2*time.Second, layer("q"))
	remb.Store(5_000_000)
	sfutest.WaitFor(t, "back up to f", 3*time.Second, layer("f"))
}

// sendREMB has c's subscribing connection send a REMB of bps every 100 ms
// until the test ends, naming the streams it receives, as a browser does.
func sendREMB(t *testing.T, c *sfutest.Client, bps *atomic.Int64) {
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		for tick := time.NewTicker(100 * time.Millisecond); ; {
			select {
			case <-stop:
				tick.Stop()
				return
			case <-tick.C:
				var ssrcs []uint32
				for _, r := range c.Sub.GetReceivers() {
					if tr := r.Track(); tr != nil {
						ssrcs = append(ssrcs, uint32(tr.SSRC()))
					}
				}
				_ = c.Sub.WriteRTCP([]rtcp.Packet{&rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(bps.Load()), SSRCs: ssrcs}})
			}
		}
	}()
}

// A subscriber that negotiated transport-wide feedback is judged on it
// alone, whatever REMB it also sends (remb.go): a low REMB does not move
// it off the layer its tile asks for.
func TestREMBIgnoredWithTransportCC(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 50 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	a.PublishSimulcast()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })
	low := &atomic.Int64{}
	low.Store(100_000)
	sendREMB(t, b, low)
	bp.SetView("alice", 1080)
	sfutest.WaitFor(t, "the full layer", 5*time.Second, func() bool { return b.LastSize("alice/cam") == sfutest.SimulcastSizes["f"] })
	time.Sleep(1500 * time.Millisecond)
	if got := b.LastSize("alice/cam"); got != sfutest.SimulcastSizes["f"] {
		t.Fatalf("a REMB of 100 kbit/s moved a transport-cc subscriber off the full layer (payload %d)", got)
	}
}
