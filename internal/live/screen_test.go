package live

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// colourIVF makes a 3 s VP8 picture of one colour.
func colourIVF(t *testing.T, dir, colour, size string) string {
	t.Helper()
	p := filepath.Join(dir, colour+".ivf")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c="+colour+":s="+size+":r=15:d=3",
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "8", "-threads", "1", p).CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v %s", p, err, out)
	}
	return p
}

// What a received frame shows, by the colours at three points of the
// 640x360 test output (see layouts): the camera is red, the screen blue.
const (
	shotGrid  = "grid"  // red in the first tile, not in the strip
	shotStage = "stage" // blue on the stage, red in the strip's first tile
	shotOther = "other"
)

// layouts decodes the received stream at 4 frames a second and returns
// the layouts it showed in order, each once per run of frames, other
// frames (black before the first keyframe, a frame between two layouts)
// left out.
func layouts(t *testing.T, file string) []string {
	t.Helper()
	const w, h = 640, 360
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", file, "-an", "-vf", "fps=4", "-pix_fmt", "rgb24", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	at := func(frame []byte, x, y int) (r, g, b int) {
		i := (y*w + x) * 3
		return int(frame[i]), int(frame[i+1]), int(frame[i+2])
	}
	red := func(r, g, b int) bool { return r > 150 && g < 90 && b < 90 }
	blue := func(r, g, b int) bool { return b > 150 && r < 90 && g < 90 }
	var runs, all []string
	for off := 0; off+w*h*3 <= len(out); off += w * h * 3 {
		f := out[off : off+w*h*3]
		// Grid: the first tile is 320x180 at 0,0. Stage: 512x288 at 0,36,
		// the strip's tiles 128x72 from 512,36.
		tile, stage, strip := func() bool { return red(at(f, 160, 90)) }, func() bool { return blue(at(f, 256, 180)) }, func() bool { return red(at(f, 576, 72)) }
		shot := shotOther
		switch {
		case tile() && !strip():
			shot = shotGrid
		case stage() && strip():
			shot = shotStage
		}
		all = append(all, shot)
		if shot != shotOther && (len(runs) == 0 || runs[len(runs)-1] != shot) {
			runs = append(runs, shot)
		}
	}
	t.Logf("frames at 4/s: %s", strings.Join(all, " "))
	return runs
}

// A meeting streams while a screen comes and goes; the receiver's frames
// show the layout follow it, in one RTMP connection throughout: alice's
// red camera fills the grid's first tile; bob shares a blue screen: it
// is on the stage and alice in the strip beside it; the meeting says bob
// stopped sharing (his track stays, its frames go on): the grid again;
// he shares again: the stage; he leaves (his track ends): the grid.
func TestScreenOnTheStage(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	media, err := testMedia()
	if err != nil {
		t.Fatal(err)
	}
	cam, screen := colourIVF(t, dir, "red", "320x240"), colourIVF(t, dir, "blue", "640x360")
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	src := &sfuSource{s: s}
	join := func(name string) (*sfutest.Client, *sfu.Peer) {
		c := sfutest.New(t, name)
		p, err := s.Room("r1").Join(name, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(p)
		t.Cleanup(p.Close)
		return c, p
	}
	alice, _ := join("alice")
	alice.PublishFiles(cam, filepath.Join(media, "mic.ogg"))

	st := &statuses{}
	m := New(testConfig(st, slog.New(slog.NewTextHandler(io.Discard, nil))), src)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	port := freePort(t)
	rx := receive(t, port, testKey, filepath.Join(dir, "rx.flv"))
	if _, err := m.Start("r1", "alice", fmt.Sprintf("rtmp://127.0.0.1:%d/live", port), testKey); err != nil {
		t.Fatal(err)
	}
	sfutest.WaitFor(t, "the stream is live", 15*time.Second, func() bool { return st.count(StateLive) == 1 })
	time.Sleep(2500 * time.Millisecond)

	bob, bobPeer := join("bob")
	bob.ShareScreen(screen)
	time.Sleep(3 * time.Second)
	m.Note("r1", NoteScreenOff, "bob")
	time.Sleep(2500 * time.Millisecond)
	m.Note("r1", NoteScreenOn, "bob")
	time.Sleep(2500 * time.Millisecond)
	bobPeer.Close()
	bob.Close()
	time.Sleep(2500 * time.Millisecond)
	if err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rx.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver did not see the stream end")
	}

	want := []string{shotGrid, shotStage, shotGrid, shotStage, shotGrid}
	if got := layouts(t, rx.file); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("layouts %v, want %v", got, want)
	}
	// One connection: the receiver takes one (-listen 1), and ffmpeg was
	// never started again.
	if n := st.count(StateReconnecting); n != 0 || m.Stats().Reconnects != 0 {
		t.Errorf("the stream reconnected: %s", st.states())
	}
}
