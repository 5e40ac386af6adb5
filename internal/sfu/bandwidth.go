package sfu

import (
	"sort"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// Bandwidth: each subscriber's connection has a send-side estimate (the
// SFU's own over transport-wide congestion control feedback, estimate.go,
// or what Config.BandwidthEstimator makes), and every allocationInterval,
// or at once when the estimate comes down, the subscriber's videos share
// it: each gets the lowest layer first, then the biggest tiles are raised
// towards the layer their view asks for while the estimate allows. Audio
// is not counted against it: it is small and always flows.

// allocationInterval is how often a subscriber's layers are chosen again.
const allocationInterval = 500 * time.Millisecond

// bitrateEstimate is what the allocation reads of a connection's
// estimator, in bits per second.
type bitrateEstimate interface{ GetTargetBitrate() int }

// registerBandwidth adds the estimator to the subscribing connections'
// interceptors: TWCC sequence numbers on what the server sends, and one
// estimator per connection, handed to got as the connection is made.
func registerBandwidth(m *webrtc.MediaEngine, ir *interceptor.Registry, cfg Config, got func(bitrateEstimate)) error {
	factory := cfg.BandwidthEstimator
	if factory == nil {
		// No pacing: the server forwards as packets come, and the
		// estimate only chooses layers.
		for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
			if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
				return err
			}
		}
		ir.Add(estimatorFactory{got: got})
		return nil
	}
	f, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		e, err := factory()
		if err != nil {
			return nil, err
		}
		return videoOnly{e}, nil
	})
	if err != nil {
		return err
	}
	f.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { got(e) })
	ir.Add(f)
	return configureTWCCStamper(m, ir)
}

// estimatorFactory makes the default estimator of each subscribing
// connection.
type estimatorFactory struct{ got func(bitrateEstimate) }

func (f estimatorFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	e := newSendEstimator()
	f.got(e)
	return e, nil
}

// layerRates measures each layer's bitrate from its byte count, at most
// once per allocationInterval however many subscribers ask.
type layerRates struct {
	mu    sync.Mutex
	at    time.Time
	bytes map[*layer]uint64
	rates map[int]int // bits per second by quality
}

// rates returns the bitrate of each of t's layers by quality.
func (t *track) rates() map[int]int {
	r := &t.measured
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if now.Sub(r.at) < allocationInterval && r.rates != nil {
		return r.rates
	}
	t.mu.Lock()
	layers := append([]*layer(nil), t.layers...)
	t.mu.Unlock()
	elapsed := now.Sub(r.at).Seconds()
	rates := make(map[int]int, len(layers))
	bytes := make(map[*layer]uint64, len(layers))
	for _, l := range layers {
		b := l.bytes.Load()
		bytes[l] = b
		if prev, ok := r.bytes[l]; ok && elapsed > 0 {
			rates[l.quality] = int(float64(b-prev) * 8 / elapsed)
		}
	}
	r.at, r.bytes, r.rates = now, bytes, rates
	return rates
}

// allocate runs for the life of the subscribing connection; e may be
// nil (no estimator). It also sends the sender reports, every other
// tick (report.go).
func (p *Peer) allocate(e bitrateEstimate) {
	tick := time.NewTicker(allocationInterval)
	defer tick.Stop()
	var scratch []*track // hasLayersToChoose's, reused
	var lowered <-chan struct{}
	if d, ok := e.(interface{ decreased() <-chan struct{} }); ok {
		lowered = d.decreased()
	}
	var reports senderReports
	for ticks := 0; ; {
		select {
		case <-p.done:
			return
		case <-tick.C:
			if ticks++; ticks%2 == 0 {
				reports.send(p, time.Now())
			}
		case <-lowered:
		}
		if e == nil {
			continue
		}
		choose := p.hasLayersToChoose(&scratch)
		if s, ok := e.(interface{ setStamping(bool) }); ok {
			s.setStamping(choose)
		}
		if choose {
			// With one layer of everything there is nothing to share
			// (and the sharing allocates).
			p.shareBandwidth(e.GetTargetBitrate())
		}
	}
}

// hasLayersToChoose reports whether the participant receives a video of
// more than one layer, whose layer the estimate then chooses. It
// allocates nothing: it runs every allocationInterval for everyone.
func (p *Peer) hasLayersToChoose(scratch *[]*track) bool {
	ts := (*scratch)[:0]
	p.mu.Lock()
	for t := range p.downs {
		if t.kind == webrtc.RTPCodecTypeVideo && t.simulcast {
			ts = append(ts, t)
		}
	}
	p.mu.Unlock()
	*scratch = ts
	for _, t := range ts {
		t.mu.Lock()
		n := len(t.layers)
		t.mu.Unlock()
		if n > 1 {
			return true
		}
	}
	return false
}

// shareBandwidth caps each video's layer so that together they fit in
// budget (bits per second).
func (p *Peer) shareBandwidth(budget int) {
	var videos []*downTrack
	for _, d := range p.downTracks() {
		if d.track.kind == webrtc.RTPCodecTypeVideo && d.track.simulcast {
			videos = append(videos, d)
		}
	}
	caps := shareLayers(budget, videos)
	for d, q := range caps {
		d.setCap(q)
	}
}

// shareLayers picks a quality for each video: the lowest for all, then
// the videos that want the most are raised one layer at a time while the
// sum of the chosen layers' rates stays within budget.
func shareLayers(budget int, videos []*downTrack) map[*downTrack]int {
	type choice struct {
		d     *downTrack
		have  []int
		rates map[int]int
		want  int
		i     int // index in have
	}
	var cs []*choice
	used := 0
	for _, d := range videos {
		want, paused := d.wanted()
		have := d.track.qualities()
		if paused || len(have) == 0 {
			continue
		}
		c := &choice{d: d, have: have, rates: d.track.rates(), want: want}
		used += c.rates[have[0]]
		cs = append(cs, c)
	}
	sort.SliceStable(cs, func(a, b int) bool { return cs[a].want > cs[b].want })
	for raised := true; raised; {
		raised = false
		for _, c := range cs {
			if c.i+1 >= len(c.have) || c.have[c.i+1] > c.want {
				continue
			}
			extra := c.rates[c.have[c.i+1]] - c.rates[c.have[c.i]]
			if used+extra > budget {
				continue
			}
			used += extra
			c.i++
			raised = true
		}
	}
	out := make(map[*downTrack]int, len(cs))
	for _, c := range cs {
		out[c.d] = c.have[c.i]
	}
	return out
}
