package recording

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/bench/internal/procstat"
	"github.com/huddlehq/huddle/internal/recording"
	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// window is how long each measured window lasts: the meeting alone, then
// the meeting recorded. Two meeting sizes and one composition of a window
// keep the step under two minutes.
const window = 15 * time.Second

// source is the media side over a bare SFU, as the recorder sees
// internal/media's: the room is always in the SFU.
type source struct{ s *sfu.SFU }

func (x source) Require(string, bool) error                  { return nil }
func (x source) AddSink(room string, s sfu.Sink) (rm func()) { return x.s.Room(room).AddSink(s) }

// media makes a camera as the SFU's middle layer carries it (VP8,
// 640x360, 15 fps, about 600 kbit/s, a keyframe every 2 s) and an Opus
// microphone, 10 s each (the participants loop them).
func media(t *testing.T) (cam, mic string) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=15", "-t", "10", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
			"-b:v", "600k", "-g", "30", "cam.ivf"},
		{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "10", "-c:a", "libopus", "-page_duration", "20000", "mic.ogg"},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make test media: %v %s", err, out)
		}
	}
	return filepath.Join(dir, "cam.ivf"), filepath.Join(dir, "mic.ogg")
}

// result is one meeting size's figures.
type result struct {
	participants, tracks   int
	base, rec              procstat.Window // the meeting alone; the meeting recorded
	rssBase, rssPeak       int64           // this process, end of the first window; peak of the second
	diskBytes              int64
	composed               bool
	composeCPU, composeDur time.Duration
	composePeak            int64 // ffmpeg's VmHWM
	composeErr             string
}

// TestRecordingCost is the benchmark (see doc.go): for meetings of 2 and
// 4 participants (camera and microphone each), the CPU and memory that
// recording adds to the server, per minute of meeting, and for the 4 the
// cost of composing their 1280x720 grid. The SFU, the recorder and the
// test participants run in this process: the participants' and the SFU's
// own cost is the first window's, the same in the second, so the
// difference is the recording's.
func TestRecordingCost(t *testing.T) {
	out := os.Getenv("HUDDLE_BENCH_RECORDING")
	if out == "" {
		t.Skip("a benchmark: HUDDLE_BENCH_RECORDING=<markdown file, or -> runs it (make bench does)")
	}
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (scripts/setup-test.sh installs it)", p)
		}
	}
	cam, mic := media(t)
	var results []result
	for _, n := range []int{2, 4} {
		results = append(results, measure(t, n, cam, mic, n == 4))
	}
	md := table(results)
	fmt.Print(md)
	if out != "-" {
		if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func measure(t *testing.T, n int, cam, mic string, compose bool) result {
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room("bench")
	var clients []*sfutest.Client
	for i := range n {
		c := sfutest.New(t, "p"+strconv.Itoa(i))
		peer, err := room.Join(c.Name, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(peer)
		c.PublishFiles(cam, mic)
		clients = append(clients, c)
		defer peer.Close()
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	sfutest.WaitFor(t, "every participant receives every other", 20*time.Second, func() bool {
		for _, c := range clients {
			if c.Tracks() < 2*(n-1) {
				return false
			}
		}
		return true
	})
	time.Sleep(2 * time.Second)

	res := result{participants: n, tracks: 2 * n}
	self := os.Getpid()
	first, err := procstat.Take(self)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(window)
	mid, err := procstat.Take(self)
	if err != nil {
		t.Fatal(err)
	}
	res.base, res.rssBase = mid.Since(first), mid.ServerRSS

	dir := t.TempDir()
	composed := make(chan recording.Manifest, 1)
	ffmpeg := "-"
	if compose {
		ffmpeg = "ffmpeg"
	}
	m, err := recording.New(recording.Config{
		Dir: dir, MinFreeDisk: -1, FFmpeg: ffmpeg,
		OnComposed: func(_ string, man recording.Manifest) { composed <- man },
	}, source{s})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	man, err := m.Start("bench", "p0")
	if err != nil {
		t.Fatal(err)
	}
	start, err := procstat.Take(self)
	if err != nil {
		t.Fatal(err)
	}
	res.rssPeak = sampleRSS(self, window)
	end, err := procstat.Take(self)
	if err != nil {
		t.Fatal(err)
	}
	res.rec = end.Since(start)
	if _, err := m.Stop("bench"); err != nil {
		t.Fatal(err)
	}
	res.diskBytes = dirSize(filepath.Join(dir, man.ID))
	if !compose {
		return res
	}

	// ffmpeg is the only child from here on: its CPU is the children's
	// rusage once it is waited for; its peak memory its VmHWM, read while
	// it runs.
	before := childCPU()
	began := time.Now()
	peak := make(chan int64, 1)
	stop := make(chan struct{})
	go func() { peak <- watchChildren(self, stop) }()
	select {
	case got := <-composed:
		res.composed, res.composeErr = got.Composed != "", got.ComposeError
	case <-time.After(5 * time.Minute):
		res.composeErr = "composition did not end in 5 minutes"
	}
	res.composeDur = time.Since(began)
	close(stop)
	res.composePeak = <-peak
	res.composeCPU = childCPU() - before
	return res
}

// sampleRSS waits d, reading this process's RSS every 250 ms; it returns
// the largest.
func sampleRSS(pid int, d time.Duration) int64 {
	var peak int64
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if rss, err := procstat.RSS(pid); err == nil {
			peak = max(peak, rss)
		}
	}
	return peak
}

// childCPU is the user and system CPU of this process's waited-for
// children.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// watchChildren returns the largest VmHWM of pid's children seen until
// stop (the recorder's ffmpeg; nice(1) execs it, so it is a child).
func watchChildren(pid int, stop <-chan struct{}) int64 {
	var peak int64
	var mu sync.Mutex
	for {
		select {
		case <-stop:
			return peak
		case <-time.After(50 * time.Millisecond):
		}
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			child, err := strconv.Atoi(e.Name())
			if err != nil || parent(child) != pid {
				continue
			}
			if hwm := vmHWM(child); hwm > 0 {
				mu.Lock()
				peak = max(peak, hwm)
				mu.Unlock()
			}
		}
	}
}

func parent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

func vmHWM(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func dirSize(dir string) int64 {
	var n int64
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// perMinute scales a window's quantity to a minute of meeting.
func perMinute(d time.Duration, over time.Duration) float64 {
	return d.Seconds() * float64(time.Minute) / float64(over)
}

func table(rs []result) string {
	var b strings.Builder
	b.WriteString("\n## Server recording (bench/recording)\n\n")
	fmt.Fprintf(&b, "Meetings of VP8 640x360 (600 kbit/s) + Opus per participant, everyone receiving everyone; %s of the meeting alone, then %s recorded (copy only, WebM per track). The SFU, the recorder and the participants share this process: the recording's cost is the difference of the two windows.\n\n", window, window)
	b.WriteString("| participants | tracks recorded | CPU, meeting alone | CPU, recorded | recording: CPU-s per meeting minute | recording: memory (RSS peak - before) | disk per meeting minute | other processes (of 200 %) |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range rs {
		add := r.rec.Server - r.base.Server
		fmt.Fprintf(&b, "| %d | %d | %.1f %% | %.1f %% | %.2f | %+.1f MiB | %.1f MB | %.0f %% |\n",
			r.participants, r.tracks, r.base.Percent(r.base.Server), r.rec.Percent(r.rec.Server),
			perMinute(add, r.rec.Wall), float64(r.rssPeak-r.rssBase)/(1<<20),
			float64(r.diskBytes)*float64(time.Minute)/float64(r.rec.Wall)/1e6,
			// Server and Self are both this process: the rest is Others+Server.
			r.rec.Percent(r.rec.Others+r.rec.Server))
	}
	for _, r := range rs {
		if r.composeDur == 0 {
			continue
		}
		b.WriteString("\nComposition by ffmpeg (under nice 10, `-threads 2`) of the recorded meeting into one 1280x720 MP4 (H.264 veryfast + AAC, a 2x2 grid, audio mixed):\n\n")
		b.WriteString("| inputs | meeting length | ffmpeg CPU-s per meeting minute | wall time per meeting minute | ffmpeg peak RSS | result |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
		status := "made"
		if !r.composed {
			status = "failed: " + r.composeErr
		}
		fmt.Fprintf(&b, "| %d tracks | %.1f s | %.1f | %.1f s | %.0f MiB | %s |\n", r.tracks, r.rec.Wall.Seconds(),
			perMinute(r.composeCPU, r.rec.Wall), perMinute(r.composeDur, r.rec.Wall), float64(r.composePeak)/(1<<20), status)
	}
	return b.String()
}
