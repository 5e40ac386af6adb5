package live

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
)

// block is one frame read back from the compositor's WebM stream.
type block struct {
	ts   int64
	key  bool
	data string
}

// readBack parses the WebM stream as ffmpeg would get it, per track.
func readBack(t *testing.T, r io.Reader, done chan<- map[int][]block) {
	readers, err := mkvcore.NewSimpleBlockReader(r)
	if err != nil {
		t.Error(err)
		done <- nil
		return
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	got := map[int][]block{}
	for i, br := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b, key, ts, err := br.Read()
				if err != nil {
					return
				}
				mu.Lock()
				got[i] = append(got[i], block{ts, key, string(b)})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	done <- got
}

func testFeed(c *compositor, id string, video bool, keyframes *atomic.Int32) *feed {
	info := sfu.TrackInfo{PublisherID: id, TrackID: id + "-t"}
	if video {
		info.Kind = webrtc.RTPCodecTypeVideo
		info.RequestKeyframe = func() { keyframes.Add(1) }
	}
	return &feed{c: c, info: info, video: video}
}

// The compositor's rules, driven by hand (no loop, no ffmpeg): a new run
// starts every slot with a filler at time 0; tracks take the free tiles
// first come first served and wait for a keyframe; a third camera waits
// for a tile and gets the first one freed, with its name; a tile whose
// track went quiet gets black frames and waits for a keyframe again;
// audio follows its RTP clock and quiet audio inputs get silence.
func TestCompositorSlots(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{VideoSlots: 2, AudioSlots: 1, Names: func(_, id string) string { return "Name of " + id }}
	black := []byte("BLACK")
	c := newCompositor("r1", cfg, black, []byte("STAGE"), dir, &atomic.Uint64{})
	pr, pw := io.Pipe()
	done := make(chan map[int][]block, 1)
	go readBack(t, pr, done)
	out, err := newWebMOut(pw, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	var keyframes atomic.Int32
	c.setOut(out)
	t0 := c.t0
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	a, b, x := testFeed(c, "a", true, &keyframes), testFeed(c, "b", true, &keyframes), testFeed(c, "x", true, &keyframes)
	mic := testFeed(c, "a", false, nil)
	for _, f := range []*feed{a, b, x, mic} {
		c.handle(event{feed: f, add: true}, at(0))
	}
	if c.video[0].feed != a || c.video[1].feed != b || len(c.waiting) != 1 || c.audio[0].feed != mic {
		t.Fatalf("slots: %v %v, waiting %d", c.video[0].feed, c.video[1].feed, len(c.waiting))
	}
	if n := keyframes.Load(); n < 2 {
		t.Errorf("%d keyframe requests for two new tiles", n)
	}
	c.handle(event{feed: a, data: []byte("a-delta-1")}, at(100)) // no keyframe yet: dropped
	c.handle(event{feed: a, keyframe: true, data: []byte("a-key")}, at(140))
	c.handle(event{feed: a, data: []byte("a-delta-2")}, at(180))
	c.handle(event{feed: x, keyframe: true, data: []byte("x-key-early")}, at(190)) // no tile: dropped
	// Audio: 20 ms frames by the RTP clock, though they arrive in a burst.
	for i := range 3 {
		c.handle(event{feed: mic, rtpTS: 1000 + uint32(i)*960, data: []byte("mic")}, at(200))
	}
	c.handle(event{feed: a, end: true}, at(300)) // a leaves: x takes its tile
	if c.video[0].feed != x || len(c.waiting) != 0 {
		t.Fatalf("the waiting camera did not take the freed tile")
	}
	if name, _ := os.ReadFile(namePath(dir, 0)); string(name) != "Name of x" {
		t.Errorf("tile 0 named %q", name)
	}
	c.handle(event{feed: x, keyframe: true, data: []byte("x-key")}, at(320))
	c.fill(at(700))  // b never sent anything: black; the audio went quiet: silence
	c.fill(at(800))  // too soon after the last black frame
	c.fill(at(1400)) // x quiet for over a second: black, and a keyframe wanted
	c.handle(event{feed: x, data: []byte("x-delta")}, at(1450))
	c.handle(event{feed: x, keyframe: true, data: []byte("x-key-2")}, at(1500))
	c.setOut(nil)

	got := <-done
	want0 := []block{{0, true, "BLACK"}, {140, true, "a-key"}, {180, false, "a-delta-2"}, {320, true, "x-key"},
		{1400, true, "BLACK"}, {1500, true, "x-key-2"}}
	want1 := []block{{0, true, "BLACK"}, {700, true, "BLACK"}, {1400, true, "BLACK"}}
	for track, want := range map[int][]block{0: want0, 1: want1} {
		if len(got[track]) != len(want) {
			t.Errorf("tile %d: %v, want %v", track, got[track], want)
			continue
		}
		for i := range want {
			if got[track][i] != want[i] {
				t.Errorf("tile %d frame %d: %v, want %v", track, i, got[track][i], want[i])
			}
		}
	}
	audio := got[4] // after the tiles, the screen and the layout
	if len(audio) < 4 || audio[0] != (block{0, true, string(opusSilence)}) {
		t.Fatalf("audio %v", audio)
	}
	for i, ts := range []int64{200, 220, 240} {
		if audio[1+i].ts != ts || audio[1+i].data != "mic" {
			t.Errorf("audio frame %d: %v, want mic at %d", 1+i, audio[1+i], ts)
		}
	}
	// Then silence every 20 ms, without gaps, up to the last fill.
	for i := 4; i < len(audio); i++ {
		if audio[i].data != string(opusSilence) || audio[i].ts != audio[i-1].ts+opusFrameMs {
			t.Fatalf("audio frame %d: %v after %v", i, audio[i], audio[i-1])
		}
	}
	if last := audio[len(audio)-1].ts; last < 1380 || last > 1400 {
		t.Errorf("silence up to %d ms, want up to 1400", last)
	}
}

// The screen's rules, driven by hand: the screen slot shows the newest
// share, from its first keyframe, and the layout track says stage from
// then; a share whose frames stopped for a second ends (the older one
// comes back, with its last keyframe); screen-off ends a share at once
// and its frames are ignored; screen-on brings it back, and keeps it
// while it sends nothing (its last keyframe again, with a keyframe asked
// for only if frames came after it); a screen whose track ends, or none
// left: the grid; frames coming back after a pause are a new share.
func TestCompositorScreen(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{VideoSlots: 1, AudioSlots: 1, Names: func(_, id string) string { return "Name of " + id }}
	c := newCompositor("r1", cfg, []byte("BLACK"), []byte("STAGE"), dir, &atomic.Uint64{})
	pr, pw := io.Pipe()
	done := make(chan map[int][]block, 1)
	go readBack(t, pr, done)
	out, err := newWebMOut(pw, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	var keyframes atomic.Int32
	c.setOut(out)
	at := func(ms int) time.Time { return c.t0.Add(time.Duration(ms) * time.Millisecond) }
	screen := func(id string) *feed {
		f := testFeed(c, id, true, &keyframes)
		f.info.Screen = true
		return f
	}
	frame := func(f *feed, ms int, key bool, data string) {
		c.handle(event{feed: f, keyframe: key, data: []byte(data)}, at(ms))
	}
	name := func() string { b, _ := os.ReadFile(namePath(dir, 1)); return string(b) }

	s1, s2 := screen("bob"), screen("carol")
	c.handle(event{feed: s1, add: true}, at(0))
	frame(s1, 50, false, "s1-d0") // before its keyframe: dropped
	frame(s1, 100, true, "s1-k1")
	frame(s1, 150, false, "s1-d1")
	if n := name(); n != "Name of bob (screen)" {
		t.Errorf("screen named %q", n)
	}
	c.handle(event{feed: s2, add: true}, at(200)) // the newest share
	frame(s1, 220, false, "s1-d2")
	frame(s2, 250, true, "s2-k1")
	if n := name(); n != "Name of carol (screen)" {
		t.Errorf("screen named %q", n)
	}
	frame(s1, 1000, true, "s1-k2")
	c.fill(at(1300)) // s2 quiet for over a second: s1 again, its last keyframe
	frame(s1, 1350, true, "s1-k3")
	c.handle(event{note: NoteScreenOff, participant: "bob"}, at(1400))
	frame(s1, 1450, true, "s1-k4") // off: ignored
	if n := name(); n != " " {
		t.Errorf("screen named %q with nobody sharing", n)
	}
	c.handle(event{note: NoteScreenOn, participant: "bob"}, at(1500))
	frame(s1, 1550, true, "s1-k5")
	frame(s1, 1600, false, "s1-d3")
	asked := keyframes.Load()
	c.fill(at(2700)) // bob's screen still, noted on: its last keyframe again
	if keyframes.Load() != asked+1 {
		t.Errorf("no keyframe asked for after a stale keyframe went in")
	}
	frame(s1, 2750, true, "s1-k6")
	asked = keyframes.Load()
	c.fill(at(3900)) // its last keyframe again, which is its picture now
	if keyframes.Load() != asked {
		t.Errorf("a still screen was asked for keyframes")
	}
	c.handle(event{feed: s1, end: true}, at(4000))
	frame(s2, 4100, true, "s2-k2") // carol's frames come back: a new share
	c.setOut(nil)

	got := <-done
	want := map[int][]block{
		1: {{0, true, "BLACK"}, {100, true, "s1-k1"}, {150, false, "s1-d1"}, {250, true, "s2-k1"},
			{1300, true, "s1-k2"}, {1350, true, "s1-k3"}, {1550, true, "s1-k5"}, {1600, false, "s1-d3"}, {2700, true, "s1-k5"},
			{2750, true, "s1-k6"}, {3900, true, "s1-k6"}, {4100, true, "s2-k2"}},
		2: {{0, true, "BLACK"}, {100, true, "STAGE"}, {1300, true, "STAGE"}, {1400, true, "BLACK"},
			{1550, true, "STAGE"}, {2700, true, "STAGE"}, {3900, true, "STAGE"}, {4000, true, "BLACK"}, {4100, true, "STAGE"}},
	}
	for track, w := range want {
		if fmt.Sprint(got[track]) != fmt.Sprint(w) {
			t.Errorf("track %d:\n got %v\nwant %v", track, got[track], w)
		}
	}
	if n := keyframes.Load(); n < 4 {
		t.Errorf("%d keyframe requests", n)
	}
}

// A stream learns who shares a screen already when it starts
// (Config.Sharing), and of the notes that come before its compositor
// exists; its compositor starts with them.
func TestStreamStartsWithTheSharers(t *testing.T) {
	needFFmpeg(t)
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{AllowPrivate: true, MinBackoff: time.Hour, Sharing: func(room string) []string { return []string{"bob", "carol"} }}
	m := New(cfg, &sfuSource{s: s})
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	if _, err := m.Start("r1", "alice", "rtmp://127.0.0.1:1/live", "k"); err != nil {
		t.Fatal(err)
	}
	m.Note("r1", NoteScreenOff, "carol")
	m.Note("r1", "spotlight", "dave") // not a screen's: ignored
	m.mu.Lock()
	st := m.streams["r1"]
	m.mu.Unlock()
	var c *compositor
	sfutest.WaitFor(t, "the compositor", 10*time.Second, func() bool {
		st.noteMu.Lock()
		defer st.noteMu.Unlock()
		c = st.comp
		return c != nil
	})
	// Before the compositor the notes wait in the stream, after it they
	// go through its queue: either way it ends up with them.
	time.Sleep(200 * time.Millisecond)
	if err := m.Stop("r1"); err != nil { // the loop is done: its state can be read
		t.Fatal(err)
	}
	if g := fmt.Sprint(c.notes); g != "map[bob:true carol:false]" {
		t.Errorf("the compositor's notes: %s", g)
	}
}

// A new ffmpeg run with a still shared screen: the grid until the
// screen's keyframe, which a still screen may never send; so its last
// keyframe, written again with the first filler, brings the stage back.
func TestStillScreenInANewRun(t *testing.T) {
	c := newCompositor("r1", Config{VideoSlots: 1, AudioSlots: 1}, []byte("BLACK"), []byte("STAGE"), t.TempDir(), &atomic.Uint64{})
	var keyframes atomic.Int32
	f := testFeed(c, "bob", true, &keyframes)
	f.info.Screen = true
	run := func() (*webmOut, chan map[int][]block) {
		pr, pw := io.Pipe()
		done := make(chan map[int][]block, 1)
		go readBack(t, pr, done)
		out, err := newWebMOut(pw, 3, 1)
		if err != nil {
			t.Fatal(err)
		}
		c.setOut(out)
		return out, done
	}
	_, done := run()
	at := func(ms int) time.Time { return c.t0.Add(time.Duration(ms) * time.Millisecond) }
	c.handle(event{note: NoteScreenOn, participant: "bob"}, at(0))
	c.handle(event{feed: f, add: true}, at(0))
	c.handle(event{feed: f, keyframe: true, data: []byte("k1")}, at(100))
	c.setOut(nil)
	<-done

	_, done = run() // ffmpeg again; bob's screen sends nothing
	c.fill(at(500))
	c.fill(at(1100))
	c.setOut(nil)
	got := <-done
	if g, w := fmt.Sprint(got[1]), fmt.Sprint([]block{{0, true, "BLACK"}, {500, true, "k1"}, {1100, true, "k1"}}); g != w {
		t.Errorf("screen %s, want %s", g, w)
	}
	if g, w := fmt.Sprint(got[2]), fmt.Sprint([]block{{0, true, "BLACK"}, {500, true, "STAGE"}, {1100, true, "STAGE"}}); g != w {
		t.Errorf("layout %s, want %s", g, w)
	}
}
