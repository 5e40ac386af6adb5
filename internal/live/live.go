// Package live streams meetings to an RTMP(S) server (YouTube, Twitch and
// others take RTMP): the host gives the server's URL and a stream key, and
// ffmpeg composes the meeting as it happens, a fixed grid of the video
// tracks with the participants' names and all the audio mixed, encodes it
// as H.264 and AAC, and pushes it as FLV.
//
// The meeting's tracks come from the SFU as a recording's do (an sfu.Sink;
// a mesh room moves to the SFU while it streams). They are not decoded
// here: the VP8 and Opus frames go, as they come, into one live WebM
// stream on ffmpeg's standard input, one track per slot of the grid (and
// per audio input of the mix), with timestamps from the server's clock. A
// slot nobody fills gets black frames (or silence) from here, so that
// ffmpeg's filter graph never waits on it, and people coming and going
// change only what is in the slots: ffmpeg keeps running.
//
// When ffmpeg cannot connect, or loses the server, the stream is
// "reconnecting" and ffmpeg is started again after a backoff; after
// Config.MaxAttempts failed attempts in a row it is "failed".
package live

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
)

// Errors returned to callers; their text is meant for people.
var (
	ErrBadURL        = errors.New("live: the stream URL must be rtmp:// or rtmps:// with a host, at most 512 characters, without spaces")
	ErrBadKey        = errors.New("live: the stream key must be at most 256 characters, without spaces, '/', '?' or '#'")
	ErrPrivateTarget = errors.New("live: the stream URL points into the server's own or a private network")
	ErrUnresolved    = errors.New("live: the stream URL's host name does not resolve")
	ErrActive        = errors.New("live: the meeting is being streamed already")
	ErrNotActive     = errors.New("live: the meeting is not being streamed")
	ErrBusy          = errors.New("live: the server streams as many meetings as it may")
	ErrClosed        = errors.New("live: the server is shutting down")
)

// The states of a stream, in Status.State.
const (
	StateStarting     = "starting"     // ffmpeg starts and connects
	StateLive         = "live"         // frames reach the server
	StateReconnecting = "reconnecting" // ffmpeg failed; it starts again after a backoff
	StateFailed       = "failed"       // given up; Reason says why
	StateStopped      = "stopped"      // the host stopped it, the meeting ended, or shutdown
)

// Reasons of a stop, in Status.Reason when State is stopped.
const (
	ReasonStopped    = "stopped"
	ReasonMeetingEnd = "meeting-ended"
	ReasonShutdown   = "shutdown"
)

// Status is a stream's state as the host and the meeting see it. It never
// holds the key: Target is masked.
type Status struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Target is the URL with the key masked, for the host.
	Target string    `json:"target,omitempty"`
	Since  time.Time `json:"since"`
}

// Config tunes live streaming. The zero value of every field means the
// default in its comment.
type Config struct {
	// FFmpeg is the ffmpeg program. Default "ffmpeg" from PATH.
	FFmpeg string
	// Nice is the niceness ffmpeg runs at (through nice(1) when it is
	// installed), so that a stream never takes the CPU from the meetings.
	// Default 10.
	Nice int
	// Threads bounds ffmpeg's threads (its -threads). Default 2.
	Threads int
	// MaxStreams is how many meetings may stream at once (each is one
	// ffmpeg encoding in real time). Default 2; negative: no limit.
	MaxStreams int
	// Width and Height are the output's size. Default 1280x720.
	Width, Height int
	// FrameRate of the output. Default 25.
	FrameRate int
	// VideoBitrate in kbit/s. Default 2500.
	VideoBitrate int
	// Preset is x264's preset. Default "veryfast".
	Preset string
	// VideoSlots is the number of tiles of the grid: the first video
	// tracks published get one, the others wait for one to free. Default 4.
	VideoSlots int
	// AudioSlots is the number of audio tracks mixed. Default 8.
	AudioSlots int
	// AllowPrivate lets streams go to loopback and private addresses
	// (tests, or an RTMP server on the LAN). Default false.
	AllowPrivate bool
	// InsecureTLS lets an rtmps:// stream go to a server whose
	// certificate does not verify against the system's CAs. Default
	// false: verified (ffmpeg's own default is not to verify).
	InsecureTLS bool
	// MaxAttempts is how many ffmpeg runs in a row may fail without the
	// stream going live before it is "failed". Default 10.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before ffmpeg is started
	// again: it doubles from MinBackoff with every failure. Defaults 1s
	// and 30s.
	MinBackoff, MaxBackoff time.Duration
	// StallTimeout kills an ffmpeg that has output no frame for this long
	// (a server that stopped reading). Default 15s.
	StallTimeout time.Duration
	// Names gives a participant's display name for its tiles. Nil: none.
	Names func(room, participant string) string
	// Sharing gives the participants of a room sharing their screen now,
	// read when its stream starts: as if Manager.Note had been told
	// NoteScreenOn for each. Nil: none (their screens are shown while
	// they send frames).
	Sharing func(room string) []string
	// OnStatus is told of every change of a stream's status, in order
	// per room: the signaling tells the meeting. It must not block.
	OnStatus func(room string, st Status)
	// Resolver resolves the target's host for the private-address check.
	// Nil: net.DefaultResolver.
	Resolver *net.Resolver
	// Logger receives the logs. Nil: slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	def(&c.Nice, 10)
	def(&c.Threads, 2)
	def(&c.MaxStreams, 2)
	def(&c.Width, 1280)
	def(&c.Height, 720)
	def(&c.FrameRate, 25)
	def(&c.VideoBitrate, 2500)
	def(&c.VideoSlots, 4)
	def(&c.AudioSlots, 8)
	def(&c.MaxAttempts, 10)
	if c.Preset == "" {
		c.Preset = "veryfast"
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 15 * time.Second
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Source is the meetings' media: internal/media's Manager, as for a
// recording. Require keeps a room in the SFU while it streams; AddSink
// sends the room's tracks to the stream.
type Source interface {
	Require(room string, on bool) error
	AddSink(room string, s sfu.Sink) (remove func())
}

// Stats are the counters for /metrics.
type Stats struct {
	Active     int    // streams running now (any state but stopped and failed)
	Started    uint64 // streams started by hosts
	Failed     uint64 // streams given up (state failed)
	Reconnects uint64 // ffmpeg runs that ended in error and were retried
	// DroppedPackets were not passed on because a track's queue was full
	// (ffmpeg too slow).
	DroppedPackets uint64
}

// Manager runs the live streams of every meeting. It is safe for
// concurrent use.
type Manager struct {
	cfg Config
	src Source
	log *slog.Logger
	wg  sync.WaitGroup // streams running

	started, failed, reconnects, dropped atomic.Uint64

	mu      sync.Mutex
	closed  bool
	streams map[string]*stream // by room
}

// New returns a Manager.
func New(cfg Config, src Source) *Manager {
	cfg = cfg.withDefaults()
	return &Manager{cfg: cfg, src: src, log: cfg.Logger, streams: map[string]*stream{}}
}

// Start streams a room to rawURL with key, for the participant by (its
// host). The room moves to the SFU if it is a mesh. The status returned
// is "starting"; the next ones go to Config.OnStatus.
func (m *Manager) Start(room, by, rawURL, key string) (Status, error) {
	t, err := parseTarget(rawURL, key)
	if err != nil {
		return Status{}, err
	}
	if err := checkHost(context.Background(), t.host, m.cfg.AllowPrivate, m.cfg.Resolver); err != nil {
		return Status{}, err
	}
	m.mu.Lock()
	switch {
	case m.closed:
		err = ErrClosed
	case m.streams[room] != nil:
		err = ErrActive
	case m.cfg.MaxStreams > 0 && len(m.streams) >= m.cfg.MaxStreams:
		err = ErrBusy
	}
	if err != nil {
		m.mu.Unlock()
		return Status{}, err
	}
	s := newStream(m, room, t)
	m.streams[room] = s
	m.mu.Unlock()
	if m.cfg.Sharing != nil {
		for _, p := range m.cfg.Sharing(room) {
			s.note(NoteScreenOn, p)
		}
	}
	if err := m.src.Require(room, true); err != nil {
		m.mu.Lock()
		delete(m.streams, room)
		m.mu.Unlock()
		return Status{}, err
	}
	m.started.Add(1)
	// The log names the target without its key.
	m.log.Info("live stream started", "room", room, "by", by, "target", t.Masked())
	st := s.setStatus(StateStarting, "")
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		s.run()
	}()
	return st, nil
}

// Stop stops a room's stream (the host's stop).
func (m *Manager) Stop(room string) error { return m.stopRoom(room, ReasonStopped) }

// MeetingEnded stops the stream of a meeting that ended, if any.
func (m *Manager) MeetingEnded(room string) { _ = m.stopRoom(room, ReasonMeetingEnd) }

func (m *Manager) stopRoom(room, reason string) error {
	m.mu.Lock()
	s := m.streams[room]
	m.mu.Unlock()
	if s == nil {
		return ErrNotActive
	}
	s.stop(reason)
	return nil
}

// Note tells a room's stream, if any, of a layout event of its meeting,
// as recording.Manager.Note is told: NoteScreenOn and NoteScreenOff (a
// participant's media-state screen turned on or off) move that
// participant's screen onto the stage and off it at once, rather than
// when its frames come and stop (a screen still shared but unchanging
// may send none). Other kinds are ignored. It never blocks for long.
func (m *Manager) Note(room, kind, participant string) {
	m.mu.Lock()
	s := m.streams[room]
	m.mu.Unlock()
	if s != nil {
		s.note(kind, participant)
	}
}

// Status returns the status of a room's stream, while it has one.
func (m *Manager) Status(room string) (Status, bool) {
	m.mu.Lock()
	s := m.streams[room]
	m.mu.Unlock()
	if s == nil {
		return Status{}, false
	}
	return s.status(), true
}

// Close stops every stream and waits for their ffmpeg to exit, or for ctx.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	var all []*stream
	for _, s := range m.streams {
		all = append(all, s)
	}
	m.mu.Unlock()
	for _, s := range all {
		s.stop(ReasonShutdown)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	active := len(m.streams)
	m.mu.Unlock()
	return Stats{
		Active: active, Started: m.started.Load(), Failed: m.failed.Load(),
		Reconnects: m.reconnects.Load(), DroppedPackets: m.dropped.Load(),
	}
}

// ended forgets a stream that stopped or failed.
func (m *Manager) ended(s *stream) {
	m.mu.Lock()
	if m.streams[s.room] == s {
		delete(m.streams, s.room)
	}
	m.mu.Unlock()
	if err := m.src.Require(s.room, false); err != nil {
		m.log.Debug("live: release the SFU", "room", s.room, "err", err)
	}
}
