package live

import (
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// queueLen is how many packets a track may have waiting for ffmpeg; a full
// queue drops packets (counted) rather than slow the SFU down.
const queueLen = 512

// feed is one track of the meeting on its way to ffmpeg: the
// sfu.TrackWriter that queues its packets, and the goroutine that turns
// them into frames for the compositor.
type feed struct {
	c     *compositor
	info  sfu.TrackInfo
	video bool
	in    chan *rtp.Packet
	once  sync.Once

	// A screen's state, owned by the compositor's loop (see screen.go).
	onAt      time.Time // when its share began: the newest is shown
	lastFrame time.Time // its last frame, or its arrival
	noted     bool      // the meeting said its presenter shares (screen-on)
	off       bool      // the meeting said the share ended (screen-off)
	key       []byte    // its last keyframe
	fresh     bool      // no frame came after key: key is its picture now
}

// event is what a feed tells the compositor: it started (add), a frame,
// or it ended (end).
type event struct {
	feed     *feed
	add, end bool
	// A layout note of the meeting (Manager.Note): no feed.
	note, participant string
	keyframe          bool
	rtpTS             uint32
	data              []byte
}

// TrackAdded makes the compositor an sfu.Sink: a feed for each VP8 or
// Opus track, the codecs of the WebM stream ffmpeg reads.
func (c *compositor) TrackAdded(info sfu.TrackInfo) sfu.TrackWriter {
	var video bool
	switch strings.ToLower(info.Codec.MimeType) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		video = true
	case strings.ToLower(webrtc.MimeTypeOpus):
	default:
		return nil
	}
	f := &feed{c: c, info: info, video: video, in: make(chan *rtp.Packet, queueLen)}
	go f.run()
	return f
}

// WriteRTP queues a packet; the sfu never calls it after Close.
func (f *feed) WriteRTP(p *rtp.Packet) error {
	select {
	case f.in <- p:
	default:
		f.c.dropped.Add(1)
	}
	return nil
}

// Close ends the track.
func (f *feed) Close() { f.once.Do(func() { close(f.in) }) }

func (f *feed) requestKeyframe() {
	if f.video && f.info.RequestKeyframe != nil {
		f.info.RequestKeyframe()
	}
}

// run turns packets into frames. The add event is sent from here rather
// than from TrackAdded, which must not block the publishing goroutine.
func (f *feed) run() {
	if !f.c.send(event{feed: f, add: true}) {
		f.drain()
		return
	}
	var depack rtp.Depacketizer = &codecs.OpusPacket{}
	maxLate := uint16(50)
	clock := f.info.Codec.ClockRate
	if f.video {
		depack = &codecs.VP8Packet{}
		maxLate = 200 // a keyframe can be a hundred packets
	}
	if clock == 0 {
		clock = 90000
	}
	sb := samplebuilder.New(maxLate, depack, clock)
	for p := range f.in {
		sb.Push(p)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if len(s.Data) == 0 {
				continue
			}
			if f.video && s.PrevDroppedPackets > 0 {
				f.requestKeyframe() // the picture is broken until the next one
			}
			key := !f.video || s.Data[0]&0x01 == 0
			if !f.c.send(event{feed: f, keyframe: key, rtpTS: s.PacketTimestamp, data: s.Data}) {
				f.drain()
				return
			}
		}
	}
	f.c.send(event{feed: f, end: true})
}

// drain empties the queue after the compositor stopped, until the sfu
// closes the feed.
func (f *feed) drain() {
	for range f.in {
	}
}
