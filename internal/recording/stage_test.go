package recording

import (
	"context"
	"fmt"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// While a screen is shared it fills the stage and the cameras stand in
// the strip beside it; before and after, the cameras fill the picture.
// The screen's time comes from its presenter's layout events.
func TestComposeScreenOnStage(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=c=red:s=320x240:r=15:d=4", "-c:v", "libvpx", "-deadline", "realtime", "-threads", "1", "alice.webm"},
		{"-f", "lavfi", "-i", "color=c=blue:s=320x240:r=15:d=4", "-c:v", "libvpx", "-deadline", "realtime", "-threads", "1", "bob.webm"},
		{"-f", "lavfi", "-i", "color=c=yellow:s=640x360:r=15:d=3.2", "-c:v", "libvpx", "-deadline", "realtime", "-threads", "1", "screen.webm"},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	start := time.Now()
	end := start.Add(4 * time.Second)
	screenStart := start.Add(800 * time.Millisecond)
	man := Manifest{
		Participants: []Participant{{ID: "alice", Name: "Alice"}, {ID: "bob", Name: "Bob"}},
		Tracks: []Track{
			{File: "alice.webm", Participant: "alice", Kind: "video", Start: start, End: &end, Frames: 60},
			{File: "screen.webm", Participant: "bob", Kind: "video", Screen: true, Start: screenStart, OffsetMs: 800, End: &end, Frames: 48},
			{File: "bob.webm", Participant: "bob", Kind: "video", Start: start, End: &end, Frames: 60},
		},
		Layout: []LayoutEvent{{OffsetMs: 1000, Kind: LayoutScreenOn, Participant: "bob"}, {OffsetMs: 2500, Kind: LayoutScreenOff, Participant: "bob"}},
	}
	if err := composeFiles(context.Background(), "ffmpeg", 10, dir, man); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, composedName)
	pr, _ := ffprobe(t, path)
	if s := pr.Streams[0]; s.Width != stageW+stripW || s.Height != stageH {
		t.Fatalf("composed %dx%d, want the stage and one column of strip: %dx%d", s.Width, s.Height, stageW+stripW, stageH)
	}
	// Two cameras in a grid of 2x1 tiles of 800x720; the stage is 1280
	// wide from the left, the strip's tiles 320x180 beside it.
	grid := map[string][2]int{"alice": {400, 360}, "bob": {1200, 360}}
	shared := map[string][2]int{"screen": {640, 360}, "alice": {1280 + 160, 90}, "bob": {1280 + 160, 270}}
	for _, c := range []struct {
		at     float64
		points map[string][2]int
		want   map[string]string
	}{
		{0.5, grid, map[string]string{"alice": "red", "bob": "blue"}},
		{1.7, shared, map[string]string{"screen": "yellow", "alice": "red", "bob": "blue"}},
		{3.3, grid, map[string]string{"alice": "red", "bob": "blue"}},
	} {
		got := sampleColours(t, path, c.at, stageW+stripW, stageH, c.points)
		for name, want := range c.want {
			if got[name] != want {
				t.Errorf("at %.1f s %s is %s, want %s (all: %v)", c.at, name, got[name], want, got)
			}
		}
	}
}

// sampleColours names the colour around each point of the frame of a
// w x h video at a moment, or a little later when a test pattern's
// white flash is on one of them then.
func sampleColours(t *testing.T, path string, at float64, w, h int, points map[string][2]int) map[string]string {
	t.Helper()
	var got map[string]string
	for try := 0; try < 3; try++ {
		got = sampleFrame(t, path, at+0.2*float64(try), w, h, points)
		if !slices.Contains(slices.Collect(maps.Values(got)), "white") {
			break
		}
	}
	return got
}

func sampleFrame(t *testing.T, path string, at float64, w, h int, points map[string][2]int) map[string]string {
	t.Helper()
	const scale = 10
	sw, sh := w/scale, h/scale
	out, err := exec.Command("ffmpeg", "-v", "error", "-threads", "1", "-ss", fmt.Sprintf("%.3f", at), "-i", path, "-frames:v", "1",
		"-vf", fmt.Sprintf("scale=%d:%d:flags=area", sw, sh), "-f", "rawvideo", "-pix_fmt", "rgb24", "-").Output()
	if err != nil || len(out) != sw*sh*3 {
		t.Fatalf("a frame at %.2f s of %s: %v, %d bytes", at, path, err, len(out))
	}
	got := map[string]string{}
	for name, p := range points {
		cx, cy := p[0]/scale, p[1]/scale
		var sum [3]int
		for y := cy - 2; y < cy+2; y++ {
			for x := cx - 2; x < cx+2; x++ {
				for c := range 3 {
					sum[c] += int(out[(y*sw+x)*3+c])
				}
			}
		}
		got[name] = colourName(sum[0]/16, sum[1]/16, sum[2]/16)
	}
	return got
}
