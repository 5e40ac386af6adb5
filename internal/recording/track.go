package recording

import (
	"errors"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
)

// queueLen is how many packets a track may have waiting for the disk; a
// full queue drops packets (counted) rather than slow the SFU down.
const queueLen = 1024

// trackWriter is one track of a recording: the sfu.TrackWriter that
// queues the packets, and the goroutine that turns them into frames and
// writes them.
type trackWriter struct {
	rec   *Recording
	info  sfu.TrackInfo
	index int // in rec.man.Tracks
	file  *webmFile
	in    chan arrival
	done  chan struct{}
	once  sync.Once

	// Kept by run only.
	clock   uint32
	video   bool
	started bool
	lastTS  uint32
	ts      int64 // RTP timestamp since the first frame, unwrapped
	frames  int
	failed  bool
	// firstSeen is when the first packet of each RTP timestamp came,
	// kept until the track starts. The sample builder lets a frame out
	// only once the packet after it came, a frame later; the track's
	// start must be when its first frame came, or its video would lag
	// its audio in the composition by the difference of their frame
	// durations (47 ms for 15 fps video and 20 ms Opus frames).
	firstSeen map[uint32]time.Time
	// startTS and start are the first written frame's RTP timestamp and
	// when it came, refined by refine until refined.
	startTS uint32
	start   time.Time
	refined bool
}

// maxSeen bounds firstSeen while a video waits for its first keyframe.
const maxSeen = 1024

// startWindow is how long (in RTP time from the first frame) a track's
// start is refined; maxStartShift bounds one refinement: more is a jump
// of the sender's timestamps, not a late packet.
const (
	startWindow   = 2 * time.Second
	maxStartShift = 500 * time.Millisecond
)

// arrival is a packet and when it came: the queue may hold it a while.
type arrival struct {
	p  *rtp.Packet
	at time.Time
}

// codecID is the WebM codec of an RTP codec, "" for one not recorded.
func codecID(c webrtc.RTPCodecCapability) string {
	switch strings.ToLower(c.MimeType) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		return "V_VP8"
	case strings.ToLower(webrtc.MimeTypeOpus):
		return "A_OPUS"
	}
	return ""
}

// WriteRTP queues a packet; the sfu never calls it after Close.
func (w *trackWriter) WriteRTP(p *rtp.Packet) error {
	select {
	case w.in <- arrival{p, time.Now()}:
	default:
		w.rec.m.stats.droppedPackets.Add(1)
	}
	return nil
}

// Close ends the track: run writes what is queued and closes the file.
func (w *trackWriter) Close() { w.once.Do(func() { close(w.in) }) }

func (w *trackWriter) run() {
	defer close(w.done)
	var depack rtp.Depacketizer = &codecs.OpusPacket{}
	maxLate := uint16(50)
	if w.video {
		depack = &codecs.VP8Packet{}
		maxLate = 200 // a keyframe can be a hundred packets
	}
	sb := samplebuilder.New(maxLate, depack, w.clock)
	for a := range w.in {
		if w.failed {
			continue // drain until the sfu closes us
		}
		w.seen(a.p.Timestamp, a.at)
		sb.Push(a.p)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			w.sample(s)
		}
		if w.started && !w.refined {
			w.refine(a)
		}
	}
	if !w.failed {
		sb.Flush()
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			w.sample(s)
		}
	}
	if w.started && !w.refined {
		w.rec.trackStarted(w, w.start) // a track shorter than the window
	}
	err := w.file.Close()
	w.rec.trackEnded(w, err)
}

// seen notes when a frame's first packet came, until the track starts.
func (w *trackWriter) seen(ts uint32, at time.Time) {
	if w.started {
		return
	}
	if w.firstSeen == nil || len(w.firstSeen) >= maxSeen {
		w.firstSeen = map[uint32]time.Time{}
	}
	if _, ok := w.firstSeen[ts]; !ok {
		w.firstSeen[ts] = at
	}
}

// refine moves the track's start earlier when a packet came earlier than
// the first frame's arrival predicts. A new track's first packets often
// come late and in a burst (seen in the meeting test: a late joiner's
// first Opus packet 75 ms late, the next nine together), which put its
// audio that much behind its video in the composition. The start is the
// earliest of a packet's arrival less its RTP time since the first
// frame, over the first startWindow: a packet can come late, not early.
func (w *trackWriter) refine(a arrival) {
	elapsed := time.Duration(int32(a.p.Timestamp-w.startTS)) * time.Second / time.Duration(w.clock)
	if elapsed > startWindow {
		w.refined = true
		w.rec.trackStarted(w, w.start)
		return
	}
	if est := a.at.Add(-elapsed); elapsed >= 0 && est.Before(w.start) && w.start.Sub(est) <= maxStartShift {
		w.start = est
	}
}

// sample writes one frame.
func (w *trackWriter) sample(s *media.Sample) {
	keyframe := true
	if w.video {
		keyframe = len(s.Data) > 0 && s.Data[0]&0x01 == 0
		if s.PrevDroppedPackets > 0 && w.info.RequestKeyframe != nil {
			w.info.RequestKeyframe() // the picture is broken until the next one
		}
		if !w.started && !keyframe {
			return // nothing decodes before the first keyframe
		}
	}
	if len(s.Data) == 0 {
		return
	}
	if !w.started {
		at, ok := w.firstSeen[s.PacketTimestamp]
		if !ok {
			at = time.Now()
		}
		w.started, w.lastTS, w.firstSeen = true, s.PacketTimestamp, nil
		w.startTS, w.start = s.PacketTimestamp, at
		w.rec.trackStarted(w, at)
	}
	// Unwrap the 32-bit RTP clock: the difference to the last frame,
	// signed, so a frame reordered by the sample builder cannot jump it.
	w.ts += int64(int32(s.PacketTimestamp - w.lastTS))
	w.lastTS = s.PacketTimestamp
	ms := w.ts * 1000 / int64(w.clock)
	dur := s.Duration.Milliseconds()
	if err := w.file.write(keyframe, ms, dur, s.Data); err != nil {
		w.failed = true
		w.rec.fail(writeFailure(err), err)
		return
	}
	w.frames++
}

// writeFailure is the reason a write error stops a recording: a full
// disk (the file system said so before the free-space check saw it) is
// disk-full, as the host and /metrics must tell it apart from a broken
// disk; anything else is write-error.
func writeFailure(err error) string {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return ReasonDiskFull
	}
	return ReasonWriteError
}
