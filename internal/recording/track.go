package recording

import (
	"errors"
	"strings"
	"sync"
	"syscall"

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
	in    chan *rtp.Packet
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
	case w.in <- p:
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
	for p := range w.in {
		if w.failed {
			continue // drain until the sfu closes us
		}
		sb.Push(p)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			w.sample(s)
		}
	}
	if !w.failed {
		sb.Flush()
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			w.sample(s)
		}
	}
	err := w.file.Close()
	w.rec.trackEnded(w, err)
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
		w.started, w.lastTS = true, s.PacketTimestamp
		w.rec.trackStarted(w)
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
