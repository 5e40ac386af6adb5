package sfutest_test

import (
	"math"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// A looped file keeps real time: a pass of three frames at 15 fps lasts
// 200 ms, so 15 frames (one packet each) come per second. A pass that
// restarted the clock sent its first frame at once, with the last of the
// pass before: 22.5 a second, and a looped camera drifted away from its
// looped microphone.
func TestLoopedFileKeepsRealTime(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed (scripts/setup-test.sh installs it)")
	}
	ivf := filepath.Join(t.TempDir(), "cam.ivf")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=64x48:r=15:d=0.2",
		"-c:v", "libvpx", "-deadline", "realtime", "-threads", "1", ivf).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room("r1")
	var clients []*sfutest.Client
	for _, name := range []string{"alice", "bob"} {
		c := sfutest.New(t, name)
		p, err := room.Join(name, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(p)
		t.Cleanup(p.Close)
		clients = append(clients, c)
	}
	alice, bob := clients[0], clients[1]
	alice.PublishFiles(ivf, "")
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return bob.Received("alice/cam") > 5 })
	n0, t0 := bob.Received("alice/cam"), time.Now()
	time.Sleep(3 * time.Second)
	n, secs := bob.Received("alice/cam")-n0, time.Since(t0).Seconds()
	if rate := float64(n) / secs; math.Abs(rate-15) > 2 {
		t.Errorf("%d frames in %.2f s: %.1f a second, want 15", n, secs, rate)
	}
}
