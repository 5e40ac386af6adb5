package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// track is one published track and the subscribers it is sent to.
type track struct {
	id     string // the publisher's track id, kept for the subscribers
	owner  *Peer
	remote *webrtc.TrackRemote

	mu    sync.Mutex // serialises changes to downs
	downs atomic.Pointer[[]*downTrack]
	// lastKeyframe is when a keyframe was last asked of the publisher
	// (Unix nanoseconds), for the throttle.
	lastKeyframe atomic.Int64
	packets      atomic.Uint64
}

func newTrack(owner *Peer, remote *webrtc.TrackRemote) *track {
	t := &track{id: remote.ID(), owner: owner, remote: remote}
	t.downs.Store(&[]*downTrack{})
	return t
}

// attach and detach copy the list, so that the forwarding loop reads it
// without a lock.
func (t *track) attach(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := append(append(make([]*downTrack, 0, len(old)+1), old...), d)
	t.downs.Store(&next)
}

func (t *track) detach(d *downTrack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.downs.Load()
	next := make([]*downTrack, 0, len(old))
	for _, x := range old {
		if x != d {
			next = append(next, x)
		}
	}
	t.downs.Store(&next)
}

// forward reads the publisher's packets and writes each to every
// subscriber until the track ends.
func (t *track) forward() {
	for {
		pkt, _, err := t.remote.ReadRTP()
		if err != nil {
			return
		}
		t.packets.Add(1)
		for _, d := range *t.downs.Load() {
			d.write(pkt)
		}
	}
}

// requestKeyframe asks the publisher for a keyframe, at most once per
// Config.KeyframeInterval however many subscribers ask.
func (t *track) requestKeyframe() {
	if t.remote.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := t.lastKeyframe.Load()
	if now-last < int64(t.owner.room.sfu.cfg.KeyframeInterval) || !t.lastKeyframe.CompareAndSwap(last, now) {
		return
	}
	_ = t.owner.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.remote.SSRC())}})
}

// forceKeyframe asks for a keyframe now, for a subscriber whose
// connection just came up: it has nothing to decode until one comes.
func (t *track) forceKeyframe() {
	if t.remote.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	t.lastKeyframe.Store(time.Now().UnixNano())
	_ = t.owner.pub.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.remote.SSRC())}})
}

// downTrack is one track sent to one subscriber.
type downTrack struct {
	peer   *Peer
	track  *track
	local  *boundTrack
	sender *webrtc.RTPSender
}

func newDownTrack(p *Peer, t *track) (*downTrack, error) {
	local, err := webrtc.NewTrackLocalStaticRTP(t.remote.Codec().RTPCodecCapability, t.id, t.owner.id)
	if err != nil {
		return nil, err
	}
	d := &downTrack{peer: p, track: t}
	d.local = &boundTrack{TrackLocalStaticRTP: local, bound: t.requestKeyframe}
	if d.sender, err = p.sub.AddTrack(d.local); err != nil {
		return nil, err
	}
	go d.readRTCP()
	return d, nil
}

func (d *downTrack) write(pkt *rtp.Packet) {
	// Before the subscriber's connection is up the write has nowhere to
	// go and fails; the keyframe asked for at binding time covers it.
	_ = d.local.WriteRTP(pkt)
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
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				d.track.requestKeyframe()
			}
		}
	}
}

func (d *downTrack) stop() {
	_ = d.peer.sub.RemoveTrack(d.sender)
}

// boundTrack tells its track when a subscriber's sender starts sending,
// so that the subscriber's decoder gets a keyframe to start from.
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
