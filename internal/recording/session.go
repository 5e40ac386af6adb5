package recording

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// Manifest describes one recording; it is manifest.json in its folder,
// rewritten as tracks come and go, so a crash leaves it nearly right.
type Manifest struct {
	Version   int       `json:"version"`
	ID        string    `json:"id"`
	Room      string    `json:"room"`
	StartedBy string    `json:"startedBy"`
	Started   time.Time `json:"started"`
	// Stopped and Reason are set once the recording stops.
	Stopped      *time.Time    `json:"stopped,omitempty"`
	Reason       string        `json:"reason,omitempty"`
	Error        string        `json:"error,omitempty"` // what went wrong, for write errors
	Participants []Participant `json:"participants"`
	Tracks       []Track       `json:"tracks"`
	// Composed is the playable file, once ffmpeg made it; ComposeError
	// says why not.
	Composed     string `json:"composed,omitempty"`
	ComposeError string `json:"composeError,omitempty"`
	// Layout is what changed on screen while it ran (layout.go).
	Layout []LayoutEvent `json:"layout,omitempty"`
}

// Participant is someone whose tracks were recorded.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// Track is one recorded track.
type Track struct {
	File        string `json:"file"`
	Participant string `json:"participant"`
	Track       string `json:"track"`
	Kind        string `json:"kind"`  // audio or video
	Codec       string `json:"codec"` // the RTP codec, e.g. video/VP8
	// Screen is true for a shared screen (a video beside the camera).
	Screen bool `json:"screen,omitempty"`
	// Start is when its first frame came (zero: none came), or rather
	// was sent, judged from the packets that came on time; OffsetMs the
	// same from the recording's start: the file's time 0 is there. It can
	// be negative (a little) when the first packets came late.
	Start    time.Time  `json:"start,omitzero"`
	OffsetMs int64      `json:"offsetMs"`
	End      *time.Time `json:"end,omitempty"`
	Frames   int        `json:"frames"`
	Error    string     `json:"error,omitempty"`
}

const manifestName = "manifest.json"

// reserveName holds reserveSize bytes from a recording's start to its
// stop, freed just before the last manifest is written: a recording that
// stopped because the disk filled still records how it ended.
const (
	reserveName = ".reserve"
	reserveSize = 64 << 10
)

// Recording is one room's recording.
type Recording struct {
	m      *Manager
	id     string
	room   string
	dir    string
	remove func()
	stopCh chan struct{}
	done   chan struct{} // closed once stopped, files closed, manifest final

	mu      sync.Mutex
	man     Manifest
	writers []*trackWriter
	stopped bool
	once    sync.Once
}

// newRecording makes the recording's folder and first manifest.
func (m *Manager) newRecording(room, by string) (*Recording, error) {
	now := time.Now()
	id, err := newID(now)
	if err != nil {
		return nil, err
	}
	r := &Recording{
		m: m, id: id, room: room, dir: m.path(id), stopCh: make(chan struct{}), done: make(chan struct{}),
		man: Manifest{Version: 1, ID: id, Room: room, StartedBy: by, Started: now, Participants: []Participant{}, Tracks: []Track{}},
	}
	if err := os.Mkdir(r.dir, 0o700); err != nil {
		return nil, err
	}
	if err := r.writeManifest(); err != nil {
		_ = os.RemoveAll(r.dir)
		return nil, err
	}
	if err := os.WriteFile(m.path(id, reserveName), make([]byte, reserveSize), 0o600); err != nil {
		m.log.Warn("recording: no room for the manifest's reserve", "recording", id, "err", err)
	}
	return r, nil
}

// start attaches the recording to the room's media and watches the limits.
func (r *Recording) start() {
	r.remove = r.m.src.AddSink(r.room, r)
	go r.watch()
}

// watch stops the recording at its limits.
func (r *Recording) watch() {
	t := time.NewTicker(r.m.cfg.CheckInterval)
	defer t.Stop()
	limit := time.NewTimer(r.m.cfg.MaxDuration)
	defer limit.Stop()
	for {
		select {
		case <-r.stopCh:
			return
		case <-limit.C:
			r.stop(ReasonMaxDuration, nil)
			return
		case <-t.C:
			if err := r.m.checkDisk(); err != nil {
				r.stop(ReasonDiskFull, err)
				return
			}
		}
	}
}

// checkDisk refuses when the recordings' disk is under its floor.
func (m *Manager) checkDisk() error {
	floor := m.minFree.Load()
	if floor < 0 {
		return nil
	}
	free, err := freeDisk(m.cfg.Dir)
	if err != nil {
		return fmt.Errorf("recording: free disk space: %w", err)
	}
	if free < floor {
		return ErrDiskFull
	}
	return nil
}

// TrackAdded makes the sfu.Sink: a file for each VP8 or Opus track.
func (r *Recording) TrackAdded(info sfu.TrackInfo) sfu.TrackWriter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	codec := codecID(info.Codec)
	t := Track{Participant: info.PublisherID, Track: info.TrackID, Kind: info.Kind.String(), Codec: info.Codec.MimeType, Screen: info.Screen}
	r.addParticipantLocked(info.PublisherID)
	if codec == "" {
		t.Error = "codec not recorded"
		r.man.Tracks = append(r.man.Tracks, t)
		r.writeManifestLocked()
		return nil
	}
	t.File = fmt.Sprintf("track-%d.webm", len(r.man.Tracks)+1)
	channels := uint64(info.Codec.Channels)
	if channels == 0 {
		channels = 2
	}
	f, err := createWebM(r.m.path(r.id, t.File), codec, channels, float64(info.Codec.ClockRate))
	if err != nil {
		t.Error, t.File = err.Error(), ""
		r.man.Tracks = append(r.man.Tracks, t)
		r.writeManifestLocked()
		go r.stop(ReasonWriteError, err)
		return nil
	}
	w := &trackWriter{
		rec: r, info: info, index: len(r.man.Tracks), file: f,
		in: make(chan arrival, queueLen), done: make(chan struct{}),
		clock: info.Codec.ClockRate, video: info.Kind == webrtc.RTPCodecTypeVideo,
	}
	if w.clock == 0 {
		w.clock = 90000
	}
	r.man.Tracks = append(r.man.Tracks, t)
	r.writers = append(r.writers, w)
	r.writeManifestLocked()
	go w.run()
	return w
}

func (r *Recording) addParticipantLocked(id string) {
	for _, p := range r.man.Participants {
		if p.ID == id {
			return
		}
	}
	p := Participant{ID: id}
	if r.m.cfg.Names != nil {
		p.Name = r.m.cfg.Names(r.room, id)
	}
	r.man.Participants = append(r.man.Participants, p)
}

// trackStarted notes a track's first frame, which came at the time given.
func (r *Recording) trackStarted(w *trackWriter, at time.Time) {
	r.mu.Lock()
	t := &r.man.Tracks[w.index]
	t.Start, t.OffsetMs = at, at.Sub(r.man.Started).Milliseconds()
	r.writeManifestLocked()
	r.mu.Unlock()
}

// trackEnded notes a track's end, its file closed.
func (r *Recording) trackEnded(w *trackWriter, err error) {
	now := time.Now()
	r.mu.Lock()
	t := &r.man.Tracks[w.index]
	t.End, t.Frames = &now, w.frames
	if err != nil && t.Error == "" {
		t.Error = err.Error()
	}
	r.writeManifestLocked()
	r.mu.Unlock()
}

// fail stops the recording after an error; it runs on a track's goroutine,
// which the stop waits for, hence the goroutine.
func (r *Recording) fail(reason string, err error) {
	go r.stop(reason, err)
}

// stop ends the recording once: no more tracks, every file closed, the
// manifest final; then the composition starts.
func (r *Recording) stop(reason string, cause error) {
	r.once.Do(func() {
		r.m.wg.Add(1)
		defer r.m.wg.Done()
		r.mu.Lock()
		r.stopped = true
		r.mu.Unlock()
		close(r.stopCh)
		if r.remove != nil {
			r.remove() // closes every writer
		}
		r.mu.Lock()
		writers := r.writers
		r.mu.Unlock()
		for _, w := range writers {
			w.Close() // a writer the sfu had not attached yet
			<-w.done
		}
		// The files are closed: the reserve makes room for the manifest.
		_ = os.Remove(r.m.path(r.id, reserveName))
		now := time.Now()
		r.mu.Lock()
		r.man.Stopped, r.man.Reason = &now, reason
		if cause != nil {
			r.man.Error = cause.Error()
		}
		r.writeManifestLocked()
		man := r.man
		r.mu.Unlock()
		if err := r.m.src.Require(r.room, false); err != nil {
			r.m.log.Debug("recording: release the SFU", "room", r.room, "err", err)
		}
		r.m.ended(r, reason)
		r.m.log.Info("recording stopped", "room", r.room, "recording", r.id, "reason", reason, "tracks", len(man.Tracks))
		if reason != ReasonStopped && r.m.cfg.OnStop != nil {
			r.m.cfg.OnStop(r.room, man)
		}
		close(r.done)
		if r.m.cfg.FFmpeg == "-" {
			r.finished()
			return
		}
		r.m.wg.Add(1)
		go func() {
			defer r.m.wg.Done()
			r.compose()
			r.finished()
		}()
	})
	<-r.done
}

// finished tells Config.OnFinished that the files are final.
func (r *Recording) finished() {
	if r.m.cfg.OnFinished != nil {
		r.m.cfg.OnFinished(r.room, r.manifest())
	}
}

// manifest returns a copy of the manifest.
func (r *Recording) manifest() Manifest {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.man
	m.Participants = append([]Participant(nil), m.Participants...)
	m.Tracks = append([]Track(nil), m.Tracks...)
	m.Layout = append([]LayoutEvent(nil), m.Layout...)
	return m
}

func (r *Recording) writeManifest() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writeManifestErrLocked()
}

// writeManifestLocked writes the manifest; a failure is logged (the
// track files matter more, and their own errors stop the recording).
func (r *Recording) writeManifestLocked() {
	if err := r.writeManifestErrLocked(); err != nil {
		r.m.log.Warn("recording: cannot write the manifest", "recording", r.id, "err", err)
	}
}

func (r *Recording) writeManifestErrLocked() error {
	return writeJSON(r.m.path(r.id, manifestName), r.man)
}

// writeJSON replaces a file atomically: a reader never sees half of it.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// readManifest reads a recording's manifest.
func readManifest(path string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(b, &m)
	return m, err
}
