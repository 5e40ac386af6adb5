package sfu

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// downTrack is one track sent to one subscriber: one layer of it at a
// time, with sequence numbers and timestamps made continuous across layer
// switches, so that the subscriber sees one unbroken stream.
type downTrack struct {
	peer   *Peer
	track  *track
	local  *boundTrack
	sender *webrtc.RTPSender

	mu     sync.Mutex
	gate   layerGate
	paused bool // not shown by the subscriber: no video is sent
	want   int  // the quality its view asks for (before what exists)
	cap    int  // the highest quality the bandwidth allows

	stats downStats // for Peer.Stats (stats.go)
}

func newDownTrack(p *Peer, t *track) (*downTrack, error) {
	local, err := webrtc.NewTrackLocalStaticRTP(t.codec, t.id, t.owner.id)
	if err != nil {
		return nil, err
	}
	d := &downTrack{peer: p, track: t, want: qualityMedium, cap: maxQuality}
	d.gate = newLayerGate(pickQuality(t.qualities(), d.want), t.simulcast)
	d.local = &boundTrack{TrackLocalStaticRTP: local, bound: d.requestKeyframe}
	if d.sender, err = p.sub.AddTrack(d.local); err != nil {
		return nil, err
	}
	go d.readRTCP()
	return d, nil
}

// write sends a packet of the given layer if it is the one the subscriber
// receives, and switches layers at a keyframe of the wanted one.
func (d *downTrack) write(quality int, pkt *rtp.Packet) {
	d.mu.Lock()
	if d.paused || !d.gate.admit(quality, pkt.Payload) {
		d.mu.Unlock()
		return
	}
	out := *pkt
	d.gate.rw.rewrite(&out, d.track.codec.ClockRate)
	d.mu.Unlock()
	// Before the subscriber's connection is up the write has nowhere to
	// go and fails; the keyframe asked for at binding time covers it.
	if d.local.WriteRTP(&out) == nil {
		d.stats.bytes.Add(uint64(len(out.Payload) + 12))
	}
}

// setView applies what the subscriber shows of the track: nothing
// (height 0: paused), or a tile of that height, which picks the layer.
func (d *downTrack) setView(height int) {
	if d.track.kind != webrtc.RTPCodecTypeVideo {
		return // audio always flows
	}
	d.mu.Lock()
	wasPaused := d.paused
	d.paused = height <= 0
	if d.paused {
		d.gate.current = -1 // a resume starts at a keyframe
		d.mu.Unlock()
		return
	}
	d.want = qualityForHeight(height)
	want := pickQuality(d.track.qualities(), min(d.want, d.cap))
	changed := d.gate.aim(want, d.track.simulcast) || wasPaused
	d.mu.Unlock()
	if changed {
		d.track.requestKeyframe(want)
	}
}

// relayer chooses the target again when the track's layers change (a
// simulcast track's layers arrive one by one).
func (d *downTrack) relayer() {
	d.retarget()
}

// setCap is the bandwidth's say: at most this quality.
func (d *downTrack) setCap(q int) {
	d.mu.Lock()
	d.cap = q
	d.mu.Unlock()
	d.retarget()
}

// wanted returns the quality the view asks for, and whether the video is
// paused.
func (d *downTrack) wanted() (int, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.want, d.paused
}

// retarget chooses the layer again from what exists, what the view wants
// and what the bandwidth allows.
func (d *downTrack) retarget() {
	d.mu.Lock()
	if d.paused {
		d.mu.Unlock()
		return
	}
	want := pickQuality(d.track.qualities(), min(d.want, d.cap))
	changed := d.gate.aim(want, d.track.simulcast)
	d.mu.Unlock()
	if changed {
		d.track.requestKeyframe(want)
	}
}

// requestKeyframe asks for a keyframe of the layer this subscriber wants.
func (d *downTrack) requestKeyframe() {
	d.mu.Lock()
	q := d.gate.target
	d.mu.Unlock()
	d.track.requestKeyframe(q)
}

// forceKeyframe is requestKeyframe without the throttle.
func (d *downTrack) forceKeyframe() {
	d.mu.Lock()
	q := d.gate.target
	d.mu.Unlock()
	d.track.forceKeyframe(q)
}

// readRTCP passes the subscriber's keyframe requests on to the publisher
// (throttled) until the sender stops. pion's interceptors answer NACKs
// and read the reports on the way.
func (d *downTrack) readRTCP() {
	for {
		pkts, _, err := d.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.requestKeyframe()
			case *rtcp.ReceiverReport:
				d.report(pkt.Reports, time.Now())
			}
		}
	}
}

func (d *downTrack) stop() {
	_ = d.peer.sub.RemoveTrack(d.sender)
}

// boundTrack tells its down track when a subscriber's sender starts
// sending, so that the subscriber's decoder gets a keyframe to start
// from.
type boundTrack struct {
	*webrtc.TrackLocalStaticRTP
	bound func()
}

func (b *boundTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, err := b.TrackLocalStaticRTP.Bind(ctx)
	if err == nil {
		b.bound()
	}
	return codec, err
}
