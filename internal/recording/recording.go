// Package recording records meetings on the server: every track of a
// meeting's SFU room, as it arrives, copied without re-encoding into one
// WebM file per track, with a JSON manifest (who, which track, when);
// after the recording stops, ffmpeg composes one file people can play (a
// grid of the cameras, all audio mixed).
//
// One folder per recording under Config.Dir, named by the time and 128
// random bits, so that nobody finds a recording by guessing; the files
// are served only through signed URLs (http.go).
//
// A recording stops when the host stops it, when the meeting ends, or by
// itself at Config.MaxDuration, when the disk's free space falls under
// Config.MinFreeDisk, or on a write error: then the files are closed and
// stay playable, the manifest says why, and Config.OnStop is told.
package recording

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
)

// Errors returned to callers; their text is meant for the client.
var (
	ErrActive    = errors.New("recording: the meeting is being recorded already")
	ErrNotActive = errors.New("recording: the meeting is not being recorded")
	ErrDiskFull  = errors.New("recording: not enough free disk space to record")
	ErrNotFound  = errors.New("recording: no such recording")
	ErrClosed    = errors.New("recording: the server is shutting down")
)

// Why a recording stopped (Manifest.Reason, Stats.Stopped keys).
const (
	ReasonStopped     = "stopped"       // the host stopped it
	ReasonMeetingEnd  = "meeting-ended" // everybody left
	ReasonMaxDuration = "max-duration"
	ReasonDiskFull    = "disk-full"
	ReasonWriteError  = "write-error"
	ReasonShutdown    = "shutdown"
)

// Config tunes recording. The zero value of every field means the default
// in its comment.
type Config struct {
	// Dir holds one folder per recording. Default "recordings" (relative
	// to the working directory). Made with mode 0700 if missing.
	Dir string
	// MaxDuration stops a recording that runs this long. Default 4h.
	MaxDuration time.Duration
	// MinFreeDisk is the free space, in bytes, under which a recording
	// does not start, and a running one stops. Default 1 GiB; negative: no
	// check.
	MinFreeDisk int64
	// CheckInterval is how often the limits are checked. Default 1s.
	CheckInterval time.Duration
	// FFmpeg is the ffmpeg program composing the playable file. Default
	// "ffmpeg" from PATH; "-": no composition.
	FFmpeg string
	// Nice is the niceness ffmpeg runs at (through nice(1) when it is
	// installed), so that composing never takes the CPU from live
	// meetings. Default 10.
	Nice int
	// ComposeTimeout bounds one composition. Default 1h.
	ComposeTimeout time.Duration
	// Names gives a participant's display name for the manifest. Nil:
	// the manifest has ids only.
	Names func(room, participant string) string
	// OnStop is told when a recording stops by itself (not by Stop): the
	// signaling tells the meeting. It must not block.
	OnStop func(room string, m Manifest)
	// OnFinished is told when a recording's files are final: after its
	// composition (made or failed), or at its stop when nothing is
	// composed. Webhooks send recording.finished from it. It must not
	// block.
	OnFinished func(room string, m Manifest)
	// OnComposed is told when a composition ends, made (m.Composed set)
	// or failed (m.ComposeError says why: ffmpeg died, the disk filled):
	// the signaling tells the host, who may be waiting for the file. It
	// must not block.
	OnComposed func(room string, m Manifest)
	// URLKey signs download URLs (HMAC-SHA256). Empty: a random key per
	// process (URLs die with it; they are short-lived anyway).
	URLKey []byte
	// URLTTL is how long a download URL works. Default 10 minutes.
	URLTTL time.Duration
	// Logger receives the logs. Nil: slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Dir == "" {
		c.Dir = "recordings"
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = 4 * time.Hour
	}
	if c.MinFreeDisk == 0 {
		c.MinFreeDisk = 1 << 30
	}
	if c.CheckInterval <= 0 {
		c.CheckInterval = time.Second
	}
	if c.FFmpeg == "" {
		c.FFmpeg = "ffmpeg"
	}
	if c.Nice == 0 {
		c.Nice = 10
	}
	if c.ComposeTimeout <= 0 {
		c.ComposeTimeout = time.Hour
	}
	if c.URLTTL <= 0 {
		c.URLTTL = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Source is the meetings' media: internal/media's Manager. Require keeps
// a room in the SFU while it is recorded (a mesh room moves to it);
// AddSink sends the room's tracks to the recording.
type Source interface {
	Require(room string, on bool) error
	AddSink(room string, s sfu.Sink) (remove func())
}

// Stats are the counters for /metrics.
type Stats struct {
	Active  int               // recordings running now
	Started uint64            // recordings started
	Stopped map[string]uint64 // recordings stopped, by reason
	// DroppedPackets were not written because a track's queue was full
	// (the disk too slow).
	DroppedPackets uint64
	Composed       uint64 // compositions that made their file
	ComposeFailed  uint64 // compositions that failed
}

type counters struct {
	started, droppedPackets, composed, composeFailed atomic.Uint64
	mu                                               sync.Mutex
	stopped                                          map[string]uint64
}

// Manager runs the recordings of every meeting. It is safe for
// concurrent use.
type Manager struct {
	cfg    Config
	src    Source
	log    *slog.Logger
	key    []byte
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // stops and compositions in flight
	stats  counters
	// minFree is Config.MinFreeDisk (atomic: tests lower the disk).
	minFree atomic.Int64

	mu     sync.Mutex
	closed bool
	active map[string]*Recording // by room
	used   map[string]time.Time  // download signatures spent, until expiry
}

// New returns a Manager writing under cfg.Dir, which the first recording
// makes (a server that never records leaves no folder behind).
func New(cfg Config, src Source) (*Manager, error) {
	cfg = cfg.withDefaults()
	key := cfg.URLKey
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		cfg: cfg, src: src, log: cfg.Logger, key: key, ctx: ctx, cancel: cancel,
		active: map[string]*Recording{}, used: map[string]time.Time{},
		stats: counters{stopped: map[string]uint64{}},
	}
	m.minFree.Store(cfg.MinFreeDisk)
	return m, nil
}

// Start starts recording a room for the participant by (its host). The
// room moves to the SFU if it is a mesh.
func (m *Manager) Start(room, by string) (Manifest, error) {
	if err := os.MkdirAll(m.cfg.Dir, 0o700); err != nil {
		return Manifest{}, err
	}
	if err := m.checkDisk(); err != nil {
		return Manifest{}, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Manifest{}, ErrClosed
	}
	if m.active[room] != nil {
		m.mu.Unlock()
		return Manifest{}, ErrActive
	}
	r, err := m.newRecording(room, by)
	if err != nil {
		m.mu.Unlock()
		return Manifest{}, err
	}
	m.active[room] = r
	m.mu.Unlock()
	if err := m.src.Require(room, true); err != nil {
		m.mu.Lock()
		delete(m.active, room)
		m.mu.Unlock()
		_ = os.RemoveAll(r.dir)
		return Manifest{}, err
	}
	m.stats.started.Add(1)
	r.start()
	m.log.Info("recording started", "room", room, "recording", r.id, "by", by)
	return r.manifest(), nil
}

// Stop stops a room's recording (the host's stop); the composition
// follows in the background.
func (m *Manager) Stop(room string) (Manifest, error) {
	return m.stopRoom(room, ReasonStopped)
}

// MeetingEnded stops the recording of a meeting that ended, if any.
func (m *Manager) MeetingEnded(room string) {
	_, _ = m.stopRoom(room, ReasonMeetingEnd)
}

func (m *Manager) stopRoom(room, reason string) (Manifest, error) {
	m.mu.Lock()
	r := m.active[room]
	m.mu.Unlock()
	if r == nil {
		return Manifest{}, ErrNotActive
	}
	r.stop(reason, nil)
	return r.manifest(), nil
}

// Active returns a room's running recording.
func (m *Manager) Active(room string) (Manifest, bool) {
	m.mu.Lock()
	r := m.active[room]
	m.mu.Unlock()
	if r == nil {
		return Manifest{}, false
	}
	return r.manifest(), true
}

// Close stops every recording and waits for the compositions, or for ctx.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	var all []*Recording
	for _, r := range m.active {
		all = append(all, r)
	}
	m.mu.Unlock()
	for _, r := range all {
		r.stop(ReasonShutdown, nil)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
		m.cancel()
		return nil
	case <-ctx.Done():
		m.cancel() // kills ffmpeg
		<-done
		return ctx.Err()
	}
}

// Stats returns the counters.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	active := len(m.active)
	m.mu.Unlock()
	m.stats.mu.Lock()
	stopped := make(map[string]uint64, len(m.stats.stopped))
	for k, v := range m.stats.stopped {
		stopped[k] = v
	}
	m.stats.mu.Unlock()
	return Stats{
		Active: active, Started: m.stats.started.Load(), Stopped: stopped,
		DroppedPackets: m.stats.droppedPackets.Load(),
		Composed:       m.stats.composed.Load(), ComposeFailed: m.stats.composeFailed.Load(),
	}
}

// ended forgets a stopped recording and counts it.
func (m *Manager) ended(r *Recording, reason string) {
	m.mu.Lock()
	if m.active[r.room] == r {
		delete(m.active, r.room)
	}
	m.mu.Unlock()
	m.stats.mu.Lock()
	m.stats.stopped[reason]++
	m.stats.mu.Unlock()
}

// newID names a recording's folder: sortable by time, unguessable by the
// 128 random bits.
func newID(now time.Time) (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b), nil
}

// validID reports whether id has the form newID makes, so that an id from
// a request can be joined to the directory safely.
func validID(id string) bool {
	if len(id) != 16+1+32 || id[16] != '-' {
		return false
	}
	for i, c := range id {
		if i == 16 {
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == 'T' || c == 'Z') {
			return false
		}
	}
	return true
}

func (m *Manager) path(id string, file ...string) string {
	return filepath.Join(append([]string{m.cfg.Dir, id}, file...)...)
}
