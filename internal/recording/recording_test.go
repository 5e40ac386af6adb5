package recording

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// needFFmpeg skips where ffmpeg is missing (scripts/setup-test.sh
// installs it).
func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (scripts/setup-test.sh installs it)", p)
		}
	}
}

// testMedia makes a 3 s VP8 test picture (IVF) and a 3 s Opus sine (Ogg,
// one packet per page), once per test binary.
var testMedia = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "huddle-rec-media-")
	if err != nil {
		return "", err
	}
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-t", "3", "-c:v", "libvpx", "-g", "8", "-b:v", "300k", "cam.ivf"},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:a", "libopus", "-page_duration", "20000", "mic.ogg"},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", errors.New(string(out))
		}
	}
	return dir, nil
})

// sfuSource is the media side over a bare SFU: rooms are always in it.
type sfuSource struct {
	s        *sfu.SFU
	required atomic.Int32
}

func (x *sfuSource) Require(_ string, on bool) error {
	if on {
		x.required.Add(1)
	} else {
		x.required.Add(-1)
	}
	return nil
}

func (x *sfuSource) AddSink(room string, s sfu.Sink) func() { return x.s.Room(room).AddSink(s) }

// meeting is an SFU room with participants publishing the test media.
func meeting(t *testing.T, names ...string) *sfuSource {
	t.Helper()
	src, _ := meetingClients(t, names...)
	return src
}

// meetingClients is meeting, with the participants, which also receive
// each other's media.
func meetingClients(t *testing.T, names ...string) (*sfuSource, []*sfutest.Client) {
	t.Helper()
	needFFmpeg(t)
	dir, err := testMedia()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room("r1")
	var clients []*sfutest.Client
	for _, name := range names {
		c := sfutest.New(t, name)
		clients = append(clients, c)
		p, err := room.Join(name, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(p)
		t.Cleanup(p.Close)
		c.PublishFiles(filepath.Join(dir, "cam.ivf"), filepath.Join(dir, "mic.ogg"))
	}
	// The meeting is under way when the recording starts: connections up,
	// media flowing. (The file sender ignores keyframe requests: a video
	// file starts at the sender's next keyframe, at most 0.5 s later.)
	time.Sleep(1500 * time.Millisecond)
	return &sfuSource{s: s}, clients
}

func newManager(t *testing.T, cfg Config, src Source) *Manager {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	if cfg.MinFreeDisk == 0 {
		cfg.MinFreeDisk = -1
	}
	cfg.Names = func(room, id string) string { return strings.ToUpper(id[:1]) + id[1:] }
	m, err := New(cfg, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	return m
}

// probe is what ffprobe says of a file.
type probe struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		Width     int    `json:"width"`
		Height    int    `json:"height"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) (probe, float64) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-of", "json", "-show_streams", "-show_format", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return p, d
}

// decodes checks that ffmpeg decodes the whole file without an error.
func decodes(t *testing.T, path string) {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("%s does not decode cleanly: %v %s", filepath.Base(path), err, out)
	}
}

func readMan(t *testing.T, m *Manager, id string) Manifest {
	t.Helper()
	man, err := readManifest(m.path(id, manifestName))
	if err != nil {
		t.Fatal(err)
	}
	return man
}

// Two participants publishing VP8 and Opus are recorded for about four
// seconds: four WebM files of the right codecs and durations, a manifest
// naming who and when, and a composed MP4 that decodes.
func TestRecordsTracksAndComposes(t *testing.T) {
	src := meeting(t, "alice", "bob")
	m := newManager(t, Config{}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("r1", "alice"); !errors.Is(err, ErrActive) {
		t.Errorf("second start: %v, want ErrActive", err)
	}
	if !validID(man.ID) || len(man.ID) < 32 {
		t.Errorf("recording id %q is not an unguessable id", man.ID)
	}
	time.Sleep(4 * time.Second)
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stop("r1"); !errors.Is(err, ErrNotActive) {
		t.Errorf("second stop: %v, want ErrNotActive", err)
	}
	if err := m.Close(context.Background()); err != nil { // waits for the composition
		t.Fatal(err)
	}
	man = readMan(t, m, man.ID)
	if man.Reason != ReasonStopped || man.Stopped == nil || man.StartedBy != "alice" || man.Room != "r1" {
		t.Errorf("manifest: reason %q stopped %v by %q room %q", man.Reason, man.Stopped, man.StartedBy, man.Room)
	}
	if len(man.Participants) != 2 {
		t.Errorf("participants %+v", man.Participants)
	}
	for _, p := range man.Participants {
		if p.Name != strings.ToUpper(p.ID[:1])+p.ID[1:] {
			t.Errorf("participant %q named %q", p.ID, p.Name)
		}
	}
	if len(man.Tracks) != 4 {
		t.Fatalf("%d tracks, want 4: %+v", len(man.Tracks), man.Tracks)
	}
	for _, tr := range man.Tracks {
		if tr.File == "" || tr.Frames == 0 || tr.Start.IsZero() || tr.End == nil || tr.Error != "" {
			t.Errorf("track %+v", tr)
			continue
		}
		want := map[string]string{"video": "vp8", "audio": "opus"}[tr.Kind]
		p, d := ffprobe(t, m.path(man.ID, tr.File))
		if len(p.Streams) != 1 || p.Streams[0].CodecName != want {
			t.Errorf("%s (%s): streams %+v, want one %s", tr.File, tr.Kind, p.Streams, want)
		}
		// Recorded for 4 s, less the time to the first keyframe.
		if d < 3.4 || d > 4.3 {
			t.Errorf("%s (%s) lasts %.2f s, want about 4", tr.File, tr.Kind, d)
		}
		decodes(t, m.path(man.ID, tr.File))
	}
	if man.Composed != composedName || man.ComposeError != "" {
		t.Fatalf("composed %q, error %q", man.Composed, man.ComposeError)
	}
	composed := m.path(man.ID, composedName)
	p, d := ffprobe(t, composed)
	var kinds []string
	for _, s := range p.Streams {
		kinds = append(kinds, s.CodecType+":"+s.CodecName)
		if s.CodecType == "video" && (s.Width != 2*tileW || s.Height != tileH) {
			t.Errorf("composed video %dx%d, want two tiles side by side", s.Width, s.Height)
		}
	}
	if strings.Join(kinds, ",") != "video:h264,audio:aac" {
		t.Errorf("composed streams %v", kinds)
	}
	if d < 3.0 || d > 4.6 {
		t.Errorf("composed file lasts %.2f s, want about 4", d)
	}
	decodes(t, composed)
	if st := m.Stats(); st.Started != 1 || st.Stopped[ReasonStopped] != 1 || st.Composed != 1 || st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
	if n := src.required.Load(); n != 0 {
		t.Errorf("the SFU is still required %d times after the stop", n)
	}
}

// A recording that reaches its maximum length stops by itself: the host
// is told why, the count goes up, and the files play.
func TestMaxDurationStopsCleanly(t *testing.T) {
	src := meeting(t, "alice")
	stopped := make(chan Manifest, 1)
	m := newManager(t, Config{MaxDuration: 2 * time.Second, FFmpeg: "-", OnStop: func(room string, man Manifest) { stopped <- man }}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-stopped:
		if got.Reason != ReasonMaxDuration || got.ID != man.ID {
			t.Errorf("stopped %q %q", got.ID, got.Reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the recording did not stop at its maximum length")
	}
	if _, ok := m.Active("r1"); ok {
		t.Error("still active after the limit")
	}
	man = readMan(t, m, man.ID)
	if man.Reason != ReasonMaxDuration || len(man.Tracks) != 2 {
		t.Fatalf("manifest %+v", man)
	}
	for _, tr := range man.Tracks {
		if _, d := ffprobe(t, m.path(man.ID, tr.File)); d < 1.4 || d > 2.3 {
			t.Errorf("%s lasts %.2f s, want about 2", tr.File, d)
		}
		decodes(t, m.path(man.ID, tr.File))
	}
	if st := m.Stats(); st.Stopped[ReasonMaxDuration] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// Under the disk floor a recording does not start; one running stops
// when the free space falls under it, its files closed and playable.
func TestDiskFloor(t *testing.T) {
	src := meeting(t, "alice")
	m := newManager(t, Config{MinFreeDisk: 1 << 62, FFmpeg: "-"}, src)
	if _, err := m.Start("r1", "alice"); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("start on a full disk: %v, want ErrDiskFull", err)
	}
	if entries, _ := os.ReadDir(m.cfg.Dir); len(entries) != 0 {
		t.Errorf("a refused recording left %d folders", len(entries))
	}

	m2 := newManager(t, Config{MinFreeDisk: 1, CheckInterval: 100 * time.Millisecond, FFmpeg: "-"}, src)
	man, err := m2.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	m2.minFree.Store(1 << 62) // the disk "fills"
	sfutest.WaitFor(t, "the recording stops", 5*time.Second, func() bool { _, ok := m2.Active("r1"); return !ok })
	man = readMan(t, m2, man.ID)
	if man.Reason != ReasonDiskFull {
		t.Errorf("reason %q", man.Reason)
	}
	for _, tr := range man.Tracks {
		decodes(t, m2.path(man.ID, tr.File))
	}
	if st := m2.Stats(); st.Stopped[ReasonDiskFull] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := testMedia(); err == nil && dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}
