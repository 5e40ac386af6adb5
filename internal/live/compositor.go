package live

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

// Timing of the filler frames. An empty slot gets a black frame every
// emptyFillEvery (ffmpeg holds the last frame in between, and its grid
// waits at most that long for the slot); a slot whose track sent nothing
// for occupiedFillAfter (a camera turned off, a stalled publisher) is
// filled the same way until the track's next keyframe. Audio is filled
// with silence after audioFillAfter without a frame.
const (
	tick              = 20 * time.Millisecond
	emptyFillEvery    = 500 * time.Millisecond
	occupiedFillAfter = time.Second
	audioFillAfter    = 100 * time.Millisecond
	opusFrameMs       = 20
	// maxAudioDriftMs: an audio frame is timed by its RTP clock from the
	// track's anchor while that stays this close to the server's clock.
	maxAudioDriftMs = 150
)

// opusSilence is one 20 ms Opus frame of silence (TOC 0xf8: CELT, full
// band, 20 ms, one frame), the frame WebRTC stacks send for silence.
var opusSilence = []byte{0xf8, 0xff, 0xfe}

// slot is one tile of the grid, the screen, or one input of the audio mix.
type slot struct {
	feed     *feed
	last     int64     // timestamp of the last frame written in this run, ms; -1: none
	lastReal time.Time // when the feed's last frame was written
	lastFill time.Time
	needKey  bool // drop the feed's frames until a keyframe (after a filler)
	shown    bool // the screen slot: a keyframe of its feed was written
	// Audio timing: the RTP timestamp at anchorMs.
	anchored  bool
	anchorMs  int64
	anchorRTP uint32
}

// compositor owns the slots and feeds ffmpeg's input: it takes the frames
// of the feeds, assigns feeds to slots, fills the empty slots, and writes
// everything into the WebM stream of the current ffmpeg run. One
// goroutine (loop) does all of it, so the slots need no lock.
//
// The WebM stream has a VP8 track per camera tile, then the screen's, then
// the layout track, then an Opus track per audio input. The layout track
// tells ffmpeg which layout to draw (see ffmpegArgs): black frames for the
// grid, stage frames while a screen is shown; sent in the stream itself,
// the switch comes at the frames' time, in every new ffmpeg run alike.
type compositor struct {
	room    string
	names   func(room, participant string) string
	black   []byte // a VP8 keyframe of a black picture
	stage   []byte // a VP8 keyframe of the layout track's "stage"
	dir     string // the tiles' name files, which drawtext reloads
	dropped *atomic.Uint64

	events chan event
	attach chan *webmOut // a new run's input; nil: the run ended
	quit   chan struct{}
	done   chan struct{}
	once   sync.Once

	// Owned by loop.
	video, audio []*slot
	waiting      []*feed         // feeds without a slot, in order of arrival
	screen       *slot           // the shared screen on the stage
	screens      []*feed         // every screen track, in order of arrival
	notes        map[string]bool // participant: its last screen note was screen-on
	layout       *slot           // the layout track
	onStage      bool            // the layout track says stage
	out          *webmOut
	t0           time.Time
}

func newCompositor(room string, cfg Config, black, stage []byte, dir string, dropped *atomic.Uint64) *compositor {
	c := &compositor{
		room: room, names: cfg.Names, black: black, stage: stage, dir: dir, dropped: dropped,
		events: make(chan event, 256), attach: make(chan *webmOut), quit: make(chan struct{}), done: make(chan struct{}),
		screen: &slot{last: -1}, layout: &slot{last: -1}, notes: map[string]bool{},
	}
	for range cfg.VideoSlots {
		c.video = append(c.video, &slot{last: -1})
	}
	for range cfg.AudioSlots {
		c.audio = append(c.audio, &slot{last: -1})
	}
	for i := range len(c.video) + 1 {
		c.writeName(i, "")
	}
	return c
}

// The tracks of the WebM stream after the camera tiles.
func (c *compositor) screenTrack() int     { return len(c.video) }
func (c *compositor) layoutTrack() int     { return len(c.video) + 1 }
func (c *compositor) audioTrack(j int) int { return len(c.video) + 2 + j }

// send gives an event to the loop; false once the compositor stopped.
func (c *compositor) send(ev event) bool {
	select {
	case c.events <- ev:
		return true
	case <-c.quit:
		return false
	}
}

// use makes out the input of the running ffmpeg (nil: none).
func (c *compositor) use(out *webmOut) {
	select {
	case c.attach <- out:
	case <-c.quit:
		if out != nil {
			out.close()
		}
	}
}

// stop ends the loop (and closes the current input).
func (c *compositor) stop() {
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

func (c *compositor) loop() {
	defer close(c.done)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			c.setOut(nil)
			return
		case out := <-c.attach:
			c.setOut(out)
		case ev := <-c.events:
			c.handle(ev, time.Now())
		case now := <-t.C:
			c.fill(now)
		}
	}
}

// setOut switches to a new run's input: every slot starts again at time
// 0 with a filler frame (so that ffmpeg finds every track at once), and
// every video track waits for a keyframe, asked for now.
func (c *compositor) setOut(out *webmOut) {
	if c.out != nil {
		c.out.close()
	}
	c.out = out
	if out == nil {
		return
	}
	c.t0 = time.Now()
	for i, s := range c.video {
		s.last, s.needKey, s.lastFill, s.lastReal = -1, true, c.t0, time.Time{}
		c.write(s, i, true, 0, c.black)
		if s.feed != nil {
			s.feed.requestKeyframe()
		}
	}
	// The screen starts black, and the grid shows until its keyframe.
	sc := c.screen
	sc.last, sc.needKey, sc.shown, sc.lastFill, sc.lastReal = -1, true, false, c.t0, time.Time{}
	c.write(sc, c.screenTrack(), true, 0, c.black)
	if sc.feed != nil {
		sc.feed.requestKeyframe()
	}
	c.layout.last, c.layout.lastFill, c.onStage = -1, c.t0, false
	c.write(c.layout, c.layoutTrack(), true, 0, c.black)
	for j, s := range c.audio {
		s.last, s.anchored, s.lastReal = -1, false, time.Time{}
		c.write(s, c.audioTrack(j), true, 0, opusSilence)
	}
}

func (c *compositor) slots(f *feed) []*slot {
	if f.video {
		return c.video
	}
	return c.audio
}

func (c *compositor) slotOf(f *feed) (int, *slot) {
	for i, s := range c.slots(f) {
		if s.feed == f {
			return i, s
		}
	}
	return -1, nil
}

func (c *compositor) handle(ev event, now time.Time) {
	f := ev.feed
	switch {
	case ev.note != "":
		c.noted(ev.note, ev.participant, now)
	case f.isScreen() && ev.add:
		c.addScreen(f, now)
	case f.isScreen() && ev.end:
		c.endScreen(f, now)
	case f.isScreen():
		c.screenFrame(ev, now)
	case ev.add:
		c.waiting = append(c.waiting, f)
		c.assign()
	case ev.end:
		for i, w := range c.waiting {
			if w == f {
				c.waiting = append(c.waiting[:i:i], c.waiting[i+1:]...)
			}
		}
		if i, s := c.slotOf(f); s != nil {
			s.feed = nil
			if f.video {
				c.writeName(i, "")
			}
			c.assign()
		}
	default:
		c.frame(ev, now)
	}
}

// assign gives free slots to waiting feeds, first come first served.
func (c *compositor) assign() {
	var still []*feed
	for _, f := range c.waiting {
		placed := false
		for i, s := range c.slots(f) {
			if s.feed != nil {
				continue
			}
			s.feed, s.needKey, s.anchored, s.lastReal = f, true, false, time.Time{}
			placed = true
			if f.video {
				name := ""
				if c.names != nil {
					name = c.names(c.room, f.info.PublisherID)
				}
				c.writeName(i, name)
				f.requestKeyframe()
			}
			break
		}
		if !placed {
			still = append(still, f)
		}
	}
	c.waiting = still
}

// frame writes a feed's frame into its slot, timed by the server's clock
// (video) or by its RTP clock anchored to the server's (audio, whose
// frames must follow each other without gaps).
func (c *compositor) frame(ev event, now time.Time) {
	i, s := c.slotOf(ev.feed)
	if s == nil || c.out == nil {
		return
	}
	nowMs := now.Sub(c.t0).Milliseconds()
	if ev.feed.video {
		if s.needKey {
			if !ev.keyframe {
				ev.feed.requestKeyframe() // rate-limited by the sfu
				return
			}
			s.needKey = false
		}
		c.write(s, i, ev.keyframe, max(nowMs, s.last+1), ev.data)
		s.lastReal = now
		return
	}
	ts := nowMs
	if s.anchored {
		est := s.anchorMs + int64(ev.rtpTS-s.anchorRTP)*1000/48000
		if est-nowMs <= maxAudioDriftMs && nowMs-est <= maxAudioDriftMs {
			ts = est
		} else {
			s.anchored = false
		}
	}
	if !s.anchored {
		s.anchored, s.anchorMs, s.anchorRTP = true, nowMs, ev.rtpTS
	}
	c.write(s, c.audioTrack(i), true, max(ts, s.last+1), ev.data)
	s.lastReal = now
}

// fill writes black frames into the video slots that have had none for a
// while, and silence into the quiet audio slots, so that ffmpeg's grid and
// mix never wait for an input.
func (c *compositor) fill(now time.Time) {
	if c.out == nil {
		return
	}
	c.fillScreen(now)
	nowMs := now.Sub(c.t0).Milliseconds()
	for i, s := range c.video {
		if s.feed != nil && now.Sub(s.lastReal) < occupiedFillAfter {
			continue
		}
		if now.Sub(s.lastFill) < emptyFillEvery {
			continue
		}
		c.write(s, i, true, max(nowMs, s.last+1), c.black)
		s.lastFill = now
		if s.feed != nil {
			// The decoder's picture is the black one now: the track's next
			// frames mean nothing before its next keyframe.
			s.needKey = true
			s.feed.requestKeyframe()
		}
	}
	for j, s := range c.audio {
		if s.feed != nil && now.Sub(s.lastReal) < audioFillAfter {
			continue
		}
		for n := 0; s.last+opusFrameMs <= nowMs && n < 50; n++ {
			c.write(s, c.audioTrack(j), true, s.last+opusFrameMs, opusSilence)
		}
		s.anchored = false
	}
}

func (c *compositor) write(s *slot, track int, keyframe bool, ts int64, data []byte) {
	s.last = ts
	c.out.write(track, keyframe, ts, data)
}

// writeName sets the name drawtext shows on tile i; the file is replaced
// at once (drawtext reads it for every frame).
func (c *compositor) writeName(i int, name string) {
	if name == "" {
		name = " " // drawtext refuses an empty file
	}
	p := namePath(c.dir, i)
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(cleanName(name)), 0o600); err == nil {
		_ = os.Rename(tmp, p)
	}
}

func namePath(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("name-%d.txt", i)) }

// cleanName keeps a name to one line of at most 40 characters.
func cleanName(s string) string {
	var out []rune
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			r = ' '
		}
		out = append(out, r)
		if len(out) == 40 {
			break
		}
	}
	return string(out)
}

// webmOut is one ffmpeg run's input: a live WebM stream (unknown sizes,
// written as frames come) with one VP8 track per tile and one Opus track
// per audio input, written by github.com/at-wat/ebml-go as the recordings
// are.
type webmOut struct {
	w  *quietWriter
	bw []webm.BlockWriteCloser
}

// newWebMOut starts the stream on w (ffmpeg's standard input).
func newWebMOut(w io.WriteCloser, videos, audios int) (*webmOut, error) {
	var tracks []webm.TrackEntry
	for i := range videos + audios {
		n := uint64(i + 1)
		e := webm.TrackEntry{Name: fmt.Sprintf("slot%d", i), TrackNumber: n, TrackUID: n}
		if i < videos {
			e.CodecID, e.TrackType = "V_VP8", 1
			e.Video = &webm.Video{PixelWidth: 320, PixelHeight: 180} // the frames carry their size
		} else {
			e.CodecID, e.TrackType = "A_OPUS", 2
			e.Audio = &webm.Audio{SamplingFrequency: 48000, Channels: 2}
			e.CodecPrivate = opusHead(2)
		}
		tracks = append(tracks, e)
	}
	qw := &quietWriter{w: w}
	bw, err := webm.NewSimpleBlockWriter(qw, tracks,
		mkvcore.WithBlockInterceptor(nil),
		mkvcore.WithOnErrorHandler(func(error) {}),
		mkvcore.WithOnFatalHandler(func(error) {}),
	)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	return &webmOut{w: qw, bw: bw}, nil
}

func (o *webmOut) write(track int, keyframe bool, ts int64, data []byte) {
	_, _ = o.bw[track].Write(keyframe, ts, data)
}

// close ends ffmpeg's input: ebml-go writes what it has and closes the
// pipe; if ffmpeg stopped reading, the pipe is closed under it after
// closeWait, which ends ebml-go's writes.
func (o *webmOut) close() {
	done := make(chan struct{})
	go func() {
		for _, b := range o.bw {
			_ = b.Close()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(closeWait):
		_ = o.w.Close()
		<-done
	}
	_ = o.w.Close()
}

// closeWait is how long the end of a run's input may wait for ffmpeg.
const closeWait = time.Second

// quietWriter is ffmpeg's standard input as ebml-go sees it: its writer
// goroutine stops for good at its first write error, after which a
// further frame would block the compositor; so errors (ffmpeg died, the
// pipe closed) are swallowed, and writes after one are dropped.
type quietWriter struct {
	w      io.WriteCloser
	mu     sync.Mutex
	failed atomic.Bool
	once   sync.Once
}

func (q *quietWriter) Write(p []byte) (int, error) {
	if q.failed.Load() {
		return len(p), nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, err := q.w.Write(p); err != nil {
		q.failed.Store(true)
	}
	return len(p), nil
}

// Close closes the pipe once (ebml-go closes it too, at its end).
func (q *quietWriter) Close() error {
	q.failed.Store(true)
	q.once.Do(func() { _ = q.w.Close() })
	return nil
}

// opusHead is the CodecPrivate of an Opus track (RFC 7845 ID header).
func opusHead(channels byte) []byte {
	b := make([]byte, 19)
	copy(b, "OpusHead")
	b[8] = 1
	b[9] = channels
	binary.LittleEndian.PutUint16(b[10:], 312)
	binary.LittleEndian.PutUint32(b[12:], 48000)
	return b
}
