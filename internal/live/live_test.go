package live

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
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

func needFFmpeg(t *testing.T) {
	t.Helper()
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (scripts/setup-test.sh installs it)", p)
		}
	}
}

// testMedia makes a 3 s VP8 test picture (IVF) and a 3 s Opus sine (Ogg),
// which the participants send in a loop, once per test binary.
var testMedia = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "huddle-live-media-")
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

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := testMedia(); err == nil && dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

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

// meeting is an SFU room "r1" with participants publishing the test media.
func meeting(t *testing.T, names ...string) (*sfuSource, map[string]*sfu.Peer) {
	t.Helper()
	dir, err := testMedia()
	if err != nil {
		t.Fatal(err)
	}
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	peers := map[string]*sfu.Peer{}
	for _, name := range names {
		c := sfutest.New(t, name)
		p, err := s.Room("r1").Join(name, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(p)
		t.Cleanup(p.Close)
		c.PublishFiles(filepath.Join(dir, "cam.ivf"), filepath.Join(dir, "mic.ogg"))
		peers[name] = p
	}
	return &sfuSource{s: s}, peers
}

// statuses collects the statuses told to OnStatus.
type statuses struct {
	mu  sync.Mutex
	all []Status
}

func (s *statuses) add(_ string, st Status) {
	s.mu.Lock()
	s.all = append(s.all, st)
	s.mu.Unlock()
}

func (s *statuses) list() []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Status(nil), s.all...)
}

func (s *statuses) states() string {
	var out []string
	for _, st := range s.list() {
		out = append(out, st.State)
	}
	return strings.Join(out, ",")
}

// count is how many times state was told.
func (s *statuses) count(state string) int {
	n := 0
	for _, st := range s.list() {
		if st.State == state {
			n++
		}
	}
	return n
}

// freePort is a TCP port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// listening reports whether a socket listens on the local TCP port: the
// receiver is ready (a test connection would use up its one accept).
func listening(port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X ", port)
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) > 3 && strings.HasSuffix(f[1]+" ", want) && f[3] == "0A" {
			return true
		}
	}
	return false
}

// receiver is a local RTMP server: ffmpeg listening for one stream,
// writing what it gets to a file unchanged.
type receiver struct {
	cmd  *exec.Cmd
	file string
	done chan struct{}
}

func receive(t *testing.T, port int, key, file string) *receiver {
	t.Helper()
	cmd := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-listen", "1",
		"-analyzeduration", "500000", "-probesize", "65536",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key), "-c", "copy", "-flush_packets", "1", "-f", "flv", file)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &receiver{cmd: cmd, file: file, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(r.kill)
	sfutest.WaitFor(t, "the receiver listens", 5*time.Second, func() bool { return listening(port) })
	return r
}

func (r *receiver) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

// frames counts the video frames and audio packets of a received file.
func frames(t *testing.T, file string) (video, audio int) {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_packets", "-show_entries", "stream=codec_type,codec_name,width,height,nb_read_packets",
		"-of", "csv=p=0", file).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", file, err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, ",")
		n, _ := strconv.Atoi(f[len(f)-1])
		switch {
		case len(f) == 5 && f[0] == "h264" && f[1] == "video" && f[2] == "640" && f[3] == "360":
			video = n
		case len(f) == 3 && f[0] == "aac" && f[1] == "audio":
			audio = n
		default:
			t.Errorf("%s: unexpected stream %q", filepath.Base(file), l)
		}
	}
	return video, audio
}

// testConfig is a small, cheap output for the two cores of CI.
func testConfig(st *statuses, log *slog.Logger) Config {
	return Config{
		AllowPrivate: true, Width: 640, Height: 360, FrameRate: 15, VideoBitrate: 400, Preset: "ultrafast",
		VideoSlots: 4, AudioSlots: 4, MinBackoff: 300 * time.Millisecond, MaxBackoff: time.Second,
		Names:    func(room, id string) string { return strings.ToUpper(id[:1]) + id[1:] },
		OnStatus: st.add, Logger: log,
	}
}

const testKey = "sk-live-0123456789abcdef"

// A two-person meeting streams to a local RTMP server: it goes live and
// frames arrive (H.264 and AAC); the server dies: the stream is
// "reconnecting"; the server comes back: "live" again and frames arrive
// again, also after one participant leaves; the host stops it. The key
// never appears in the logs or the statuses.
func TestStreamsReconnectsAndStops(t *testing.T) {
	needFFmpeg(t)
	src, peers := meeting(t, "alice", "bob")
	logs := &syncWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := &statuses{}
	m := New(testConfig(st, log), src)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	port := freePort(t)
	dir := t.TempDir()
	rx1 := receive(t, port, testKey, filepath.Join(dir, "one.flv"))

	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live", port)
	first, err := m.Start("r1", "alice", url, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if first.State != StateStarting || strings.Contains(first.Target, testKey) || !strings.HasPrefix(first.Target, url+"/****") {
		t.Errorf("start status %+v", first)
	}
	if _, err := m.Start("r1", "alice", url, testKey); !errors.Is(err, ErrActive) {
		t.Errorf("second start: %v, want ErrActive", err)
	}
	sfutest.WaitFor(t, "the stream is live", 15*time.Second, func() bool { return st.count(StateLive) == 1 })
	time.Sleep(3 * time.Second)

	rx1.kill()
	sfutest.WaitFor(t, "the stream is reconnecting", 10*time.Second, func() bool { return st.count(StateReconnecting) >= 1 })
	if s, _ := m.Status("r1"); s.State != StateReconnecting || s.Reason == "" {
		t.Errorf("status after the receiver died: %+v", s)
	}
	t.Logf("statuses %+v", st.list())
	if fi, err := os.Stat(rx1.file); err == nil {
		t.Logf("one.flv %d bytes", fi.Size())
	}
	v1, a1 := frames(t, rx1.file)
	if v1 < 20 || a1 < 50 {
		t.Errorf("first receiver got %d video frames and %d audio packets, want about 3 s worth", v1, a1)
	}

	rx2 := receive(t, port, testKey, filepath.Join(dir, "two.flv"))
	sfutest.WaitFor(t, "the stream is live again", 15*time.Second, func() bool { return st.count(StateLive) == 2 })
	time.Sleep(1500 * time.Millisecond)
	peers["bob"].Close() // the layout changes: ffmpeg goes on
	time.Sleep(2 * time.Second)
	if s, _ := m.Status("r1"); s.State != StateLive {
		t.Errorf("status after bob left: %+v (all: %s)", s, st.states())
	}
	if err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rx2.done: // the stream ended properly: the receiver finished its file
	case <-time.After(10 * time.Second):
		t.Error("the receiver did not see the stream end")
	}
	if v2, a2 := frames(t, rx2.file); v2 < 30 || a2 < 80 {
		t.Errorf("second receiver got %d video frames and %d audio packets, want about 3.5 s worth", v2, a2)
	}
	if err := m.Stop("r1"); !errors.Is(err, ErrNotActive) {
		t.Errorf("second stop: %v", err)
	}
	all := st.list()
	if last := all[len(all)-1]; last.State != StateStopped || last.Reason != ReasonStopped {
		t.Errorf("last status %+v", last)
	}
	for _, s := range all {
		if strings.Contains(s.Reason+s.Target, testKey) {
			t.Errorf("a status shows the key: %+v", s)
		}
	}
	if strings.Contains(logs.String(), testKey) {
		t.Errorf("the logs show the key:\n%s", logs.String())
	}
	if s := m.Stats(); s.Started != 1 || s.Reconnects < 1 || s.Failed != 0 || s.Active != 0 {
		t.Errorf("stats %+v", s)
	}
	if n := src.required.Load(); n != 0 {
		t.Errorf("the SFU is still required %d times", n)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}
