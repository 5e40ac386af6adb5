package recording

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
)

// The test pattern of a fake participant: a plain colour with a white
// frame at each of flashAt, and silence with a beep at the same moments.
// The flashes come at irregular gaps, so that audio shifted by a whole
// gap cannot pass for audio in sync; every moment is a whole frame at
// patternFPS, so the flash frame starts exactly with its beep.
var flashAt = []float64{1.0, 3.2, 6.0, 8.0, 10.6, 13.0}

const (
	patternFPS     = 15
	patternSeconds = 15  // longer than anyone publishes: the files never loop
	beepSeconds    = 0.1 // how long a beep lasts
	beepAmplitude  = 0.4 // of full scale; the mix adds beeps that overlap
	syncTolerance  = 0.1 // seconds, the A/V sync bound
	// The composed picture of three cameras and a screen (stage.go): the
	// stage and one column of strip; before the share, a grid of 2x2.
	composedW       = stageW + stripW
	gridW, gridH    = composedW / 2, stageH / 2
	durationSlack   = 1.0       // seconds, the duration bound
	flashLuma       = 190       // YAVG of a white frame is about 235, lime's 145
	beepOn, beepOff = 0.2, 0.05 // tone amplitudes that start and end a beep
)

// pattern is one participant: its colour, its beep's pitch (distinct, so
// that the mixed audio tells whose beep it is) and its files.
type pattern struct {
	name   string
	colour string // ffmpeg's colour, one of colours
	freq   float64
	ivf    string
	ogg    string

	// joined is when its publishing connection came up (its media could
	// flow from then); left is when it left, zero for who stays.
	joined, left time.Time
	leave        func()
	share        func(ivf string) // shares a screen beside the camera
}

// makePattern writes p's VP8 camera (IVF) and Opus microphone (Ogg, one
// packet per page, as PublishFiles wants) into dir with ffmpeg. The VP8
// encoder neither looks ahead nor hides frames, and makes a keyframe
// every 5 frames: the sender ignores keyframe requests, so a recording
// starts at most a third of a second late.
func makePattern(t *testing.T, dir string, p *pattern) {
	t.Helper()
	var frames, beeps []string
	for _, at := range flashAt {
		frames = append(frames, fmt.Sprintf("eq(n,%d)", int(math.Round(at*patternFPS))))
		beeps = append(beeps, fmt.Sprintf("between(t,%g,%g)", at, at+beepSeconds))
	}
	p.ivf = filepath.Join(dir, p.name+".ivf")
	p.ogg = filepath.Join(dir, p.name+".ogg")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", fmt.Sprintf("color=c=%s:s=320x240:r=%d:d=%d", p.colour, patternFPS, patternSeconds),
			"-vf", fmt.Sprintf("drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='%s'", strings.Join(frames, "+")),
			"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-lag-in-frames", "0", "-auto-alt-ref", "0",
			"-g", "5", "-b:v", "400k", "-threads", "1", p.ivf},
		{"-f", "lavfi", "-i", fmt.Sprintf("aevalsrc=exprs='%g*sin(2*PI*%g*t)*(%s)':s=48000:d=%d", beepAmplitude, p.freq, strings.Join(beeps, "+"), patternSeconds),
			"-c:a", "libopus", "-b:a", "64k", "-page_duration", "20000", "-threads", "1", p.ogg},
	} {
		if out, err := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("make %s's pattern: %v %s", p.name, err, out)
		}
	}
}

// A three-party meeting is recorded: alice and bob are in it when the
// recording starts, carol joins two seconds later, bob leaves four
// seconds after that, the host stops three seconds later. Every track is
// a playable file lasting as long as its participant was there; the
// composed file lasts as long as the recording, shows each participant's
// colour in a tile, black before carol came; and for each participant,
// the flash and the beep sent at one moment are recorded at one moment,
// in its pair of raw tracks and in the composed file. One second after
// bob left, alice shares a screen: it is a track of its own, and the
// composed file shows it on the stage with the cameras in the strip.
func TestRecordedMeetingInSync(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	alice := &pattern{name: "alice", colour: "red", freq: 600}
	bob := &pattern{name: "bob", colour: "lime", freq: 1200}
	carol := &pattern{name: "carol", colour: "blue", freq: 2400}
	all := []*pattern{alice, bob, carol}
	begun := time.Now()
	for _, p := range all {
		makePattern(t, dir, p)
	}
	t.Logf("patterns made in %.1f s", time.Since(begun).Seconds())

	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	room := s.Room("r1")
	join := func(p *pattern) {
		c := sfutest.New(t, p.name)
		up := make(chan time.Time, 1)
		c.Pub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				select {
				case up <- time.Now():
				default: // connected again: the first time counts
				}
			}
		})
		peer, err := room.Join(p.name, c)
		if err != nil {
			t.Fatal(err)
		}
		c.Attach(peer)
		t.Cleanup(peer.Close)
		c.PublishFiles(p.ivf, p.ogg)
		select {
		case p.joined = <-up:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s's connection did not come up", p.name)
		}
		p.leave = func() {
			p.left = time.Now()
			peer.Close()
			c.Close()
		}
		p.share = c.ShareScreen
	}
	screen := filepath.Join(dir, "screen.ivf")
	if out, err := exec.Command("ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "color=c=yellow:s=640x360:r=15:d=4",
		"-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-g", "5", "-threads", "1", screen).CombinedOutput(); err != nil {
		t.Fatalf("make the screen: %v %s", err, out)
	}
	join(alice)
	join(bob)
	time.Sleep(1500 * time.Millisecond) // connected, media flowing

	m := newManager(t, Config{}, &sfuSource{s: s})
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	join(carol)
	time.Sleep(4 * time.Second)
	bob.leave()
	time.Sleep(time.Second)
	alice.share(screen)
	m.Note("r1", LayoutScreenOn, "alice")
	time.Sleep(3 * time.Second)
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	if err := m.Close(context.Background()); err != nil { // waits for the composition
		t.Fatal(err)
	}
	t.Logf("composed in %.1f s", time.Since(stopped).Seconds())
	defer func(analysed time.Time) { t.Logf("analysed in %.1f s", time.Since(analysed).Seconds()) }(time.Now())
	man = readMan(t, m, man.ID)
	if man.Stopped == nil {
		t.Fatal("the manifest has no stop time")
	}
	span := man.Stopped.Sub(man.Started).Seconds()
	t.Logf("recording %.2f s; carol joined at %.2f s, bob left at %.2f s",
		span, carol.joined.Sub(man.Started).Seconds(), bob.left.Sub(man.Started).Seconds())

	// Every track: a file ffprobe reads, of its codec, as long as its
	// participant was there, placed where the participant came.
	tracks := map[string]map[string]Track{} // participant, kind
	files, _ := filepath.Glob(m.path(man.ID, "track-*.webm"))
	if len(man.Tracks) != 7 || len(files) != 7 {
		t.Fatalf("%d tracks in the manifest, %d files, want 7: %+v", len(man.Tracks), len(files), man.Tracks)
	}
	var shared Track
	for _, tr := range man.Tracks {
		if tr.Screen {
			shared = tr
			continue
		}
		if tracks[tr.Participant] == nil {
			tracks[tr.Participant] = map[string]Track{}
		}
		tracks[tr.Participant][tr.Kind] = tr
	}
	for _, p := range all {
		from, to := man.Started, *man.Stopped
		if p.joined.After(from) {
			from = p.joined
		}
		if !p.left.IsZero() {
			to = p.left
		}
		for _, kind := range []string{"video", "audio"} {
			tr, ok := tracks[p.name][kind]
			if !ok || tr.File == "" || tr.Frames == 0 || tr.End == nil || tr.Error != "" {
				t.Errorf("%s's %s track: %+v", p.name, kind, tr)
				continue
			}
			path := m.path(man.ID, tr.File)
			pr, d := ffprobe(t, path)
			want := map[string]string{"video": "vp8", "audio": "opus"}[kind]
			if len(pr.Streams) != 1 || pr.Streams[0].CodecName != want {
				t.Errorf("%s (%s's %s): streams %+v, want one %s", tr.File, p.name, kind, pr.Streams, want)
			}
			present := to.Sub(from).Seconds()
			at := from.Sub(man.Started).Seconds()
			t.Logf("%s's %s: %.2f s from %.3f s; present %.2f s from %.3f s", p.name, kind, d, float64(tr.OffsetMs)/1000, present, at)
			if math.Abs(d-present) > durationSlack {
				t.Errorf("%s's %s track lasts %.2f s, but %s was there %.2f s", p.name, kind, d, p.name, present)
			}
			if off := float64(tr.OffsetMs) / 1000; math.Abs(off-at) > durationSlack {
				t.Errorf("%s's %s track starts at %.2f s, but %s came at %.2f s", p.name, kind, off, p.name, at)
			}
			decodes(t, path)
		}
	}

	// The screen: a track of its own, from the share to the stop.
	var sharedAt int64 = -1
	for _, e := range man.Layout {
		if e.Kind == LayoutScreenOn && e.Participant == "alice" {
			sharedAt = e.OffsetMs
		}
	}
	if shared.Participant != "alice" || shared.Kind != "video" || shared.Frames == 0 || shared.End == nil || sharedAt < 0 {
		t.Fatalf("alice's screen: %+v, shared at %d ms", shared, sharedAt)
	}
	if _, d := ffprobe(t, m.path(man.ID, shared.File)); math.Abs(d-(span-float64(sharedAt)/1000)) > durationSlack {
		t.Errorf("the screen's track lasts %.2f s, shared %.2f s", d, span-float64(sharedAt)/1000)
	}

	// The composed file: the stage layout (a screen was shared), as long
	// as the recording.
	if man.Composed != composedName || man.ComposeError != "" {
		t.Fatalf("composed %q, error %q", man.Composed, man.ComposeError)
	}
	composed := m.path(man.ID, composedName)
	pr, d := ffprobe(t, composed)
	var kinds []string
	for _, s := range pr.Streams {
		kinds = append(kinds, s.CodecType+":"+s.CodecName)
		if s.CodecType == "video" && (s.Width != composedW || s.Height != stageH) {
			t.Errorf("composed video %dx%d, want %dx%d: the stage and a strip", s.Width, s.Height, composedW, stageH)
		}
	}
	if strings.Join(kinds, ",") != "video:h264,audio:aac" {
		t.Errorf("composed streams %v", kinds)
	}
	t.Logf("composed: %.2f s", d)
	if math.Abs(d-span) > durationSlack {
		t.Errorf("the composed file lasts %.2f s, the recording %.2f s", d, span)
	}

	// The tiles, in the order of the cameras in the manifest (as
	// composeArgs lays them out): before the share a grid of 2x2 tiles of
	// 800x360 fills the picture; during it, the strip's tiles.
	tile := map[string]int{}
	for _, tr := range man.Tracks {
		if tr.Kind == "video" && !tr.Screen {
			tile[tr.Participant] = len(tile)
		}
	}
	gridAt := func(i int) [2]int { return [2]int{i%2*gridW + gridW/2, i/2*gridH + gridH/2} }
	stripAt := func(i int) [2]int {
		return [2]int{stageW + i/stripRows*stripW + stripW/2, i%stripRows*stripH + stripH/2}
	}
	tilesAt := func(at float64, want map[string]string) {
		points := map[string][2]int{}
		for name, i := range tile {
			points[name] = gridAt(i)
		}
		got := sampleColours(t, composed, at, composedW, stageH, points)
		t.Logf("tiles at %.2f s: %v", at, got)
		for name, c := range want {
			if got[name] != c {
				t.Errorf("at %.2f s %s's tile is %s, want %s", at, name, got[name], c)
			}
		}
	}
	// Before carol's video came, her tile is black; once it came (and
	// before bob left), every tile shows its participant's colour.
	first := max(tracks["alice"]["video"].OffsetMs, tracks["bob"]["video"].OffsetMs)
	carolAt := tracks["carol"]["video"].OffsetMs
	bobLeft := bob.left.Sub(man.Started).Milliseconds()
	if carolAt-first < 600 || bobLeft-carolAt < 1200 {
		t.Fatalf("the meeting went too slowly to sample the tiles: videos from %d ms, carol's from %d ms, bob left at %d ms", first, carolAt, bobLeft)
	}
	want := map[string]string{"alice": "red", "bob": "lime", "carol": "black"}
	tilesAt(float64(first+carolAt)/2000, want)
	want["carol"] = "blue"
	tilesAt(float64(carolAt+bobLeft)/2000, want)
	// While alice shares: her screen on the stage, the cameras in the strip.
	during := sampleColours(t, composed, (float64(sharedAt)/1000+span)/2, composedW, stageH, map[string][2]int{
		"stage": {stageW / 2, stageH / 2}, "alice": stripAt(tile["alice"]), "carol": stripAt(tile["carol"]),
	})
	if during["stage"] != "yellow" || during["alice"] != "red" || during["carol"] != "blue" {
		t.Errorf("while alice shares: %v, want her yellow screen on the stage, alice red and carol blue in the strip", during)
	}

	// A/V sync: in each participant's pair of raw tracks, placed by the
	// manifest's offsets, and in the composed file until the share moved
	// the tiles.
	var regions []string
	for _, p := range all {
		c := gridAt(tile[p.name])
		regions = append(regions, fmt.Sprintf("crop=%d:%d:%d:%d", gridH/2, gridH/2, c[0]-gridH/4, c[1]-gridH/4))
	}
	tileFlashes := flashes(t, composed, regions...)
	mix := decodeAudio(t, composed)
	beforeShare := func(times []float64) []float64 {
		return slices.DeleteFunc(times, func(x float64) bool { return x > float64(sharedAt)/1000-0.5 })
	}
	for i, p := range all {
		v, a := tracks[p.name]["video"], tracks[p.name]["audio"]
		fl := shift(flashes(t, m.path(man.ID, v.File), "null")[0], float64(v.OffsetMs)/1000)
		bp := shift(beeps(decodeAudio(t, m.path(man.ID, a.File)), p.freq), float64(a.OffsetMs)/1000)
		checkSync(t, p.name+"'s raw tracks", fl, bp)
		checkSync(t, p.name+" in the composed file", beforeShare(tileFlashes[i]), beforeShare(beeps(mix, p.freq)))
	}
	t.Logf("stats %+v", m.Stats())
}

func shift(times []float64, by float64) []float64 {
	for i := range times {
		times[i] += by
	}
	return times
}

// checkSync pairs every flash with the nearest beep, and every beep with
// the nearest flash: each must have its partner within syncTolerance.
// One whose partner is missing is allowed only in the first and last
// beepSeconds*3 of the span (cut by the start or end of a track).
func checkSync(t *testing.T, what string, flashes, beeps []float64) {
	t.Helper()
	if len(flashes) == 0 || len(beeps) == 0 {
		t.Errorf("%s: %d flashes and %d beeps, want some of each", what, len(flashes), len(beeps))
		return
	}
	lo := min(flashes[0], beeps[0]) + 3*beepSeconds
	hi := max(flashes[len(flashes)-1], beeps[len(beeps)-1]) - 3*beepSeconds
	var offsets []string
	worst := 0.0
	pair := func(of string, times []float64, others []float64) {
		for _, at := range times {
			d := nearest(others, at) - at
			if math.Abs(d) > 0.5 && (at < lo || at > hi) {
				continue
			}
			if of == "flash" {
				offsets = append(offsets, fmt.Sprintf("%+.0f", d*1000))
			}
			if math.Abs(d) > math.Abs(worst) {
				worst = d
			}
			if math.Abs(d) > syncTolerance {
				t.Errorf("%s: the %s at %.3f s has its partner %+.0f ms away (flashes %v, beeps %v)", what, of, at, d*1000, fmtTimes(flashes), fmtTimes(beeps))
			}
		}
	}
	pair("flash", flashes, beeps)
	pair("beep", beeps, flashes)
	t.Logf("%s: beep minus flash %s ms (worst %+.0f ms)", what, strings.Join(offsets, " "), worst*1000)
}

func nearest(times []float64, at float64) float64 {
	best := math.Inf(1)
	for _, x := range times {
		if math.Abs(x-at) < math.Abs(best-at) {
			best = x
		}
	}
	return best
}

func fmtTimes(times []float64) string {
	var s []string
	for _, x := range times {
		s = append(s, fmt.Sprintf("%.3f", x))
	}
	return "[" + strings.Join(s, " ") + "]"
}

// flashes returns, for each region of a video that a filter (a crop, or
// "null" for the whole picture) leaves, the times of its white frames
// that follow a frame that was not: ffmpeg's signalstats measures each
// frame's mean luma, all regions in one decoding.
func flashes(t *testing.T, path string, regions ...string) [][]float64 {
	t.Helper()
	dir := t.TempDir()
	graph := fmt.Sprintf("[0:v]split=%d", len(regions))
	for i := range regions {
		graph += fmt.Sprintf("[s%d]", i)
	}
	args := []string{"-v", "error", "-threads", "1", "-i", path}
	for i, r := range regions {
		graph += fmt.Sprintf(";[s%d]%s,signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=luma%d.txt[o%d]", i, r, i, i)
		args = append(args, "-map", fmt.Sprintf("[o%d]", i))
	}
	args = append(args, "-filter_complex", graph, "-f", "null", "-")
	cmd := exec.Command("ffmpeg", args...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("signalstats of %s: %v %s", path, err, b)
	}
	all := make([][]float64, len(regions))
	for i := range regions {
		all[i] = readFlashes(t, filepath.Join(dir, fmt.Sprintf("luma%d.txt", i)))
	}
	return all
}

// readFlashes reads what the metadata filter printed: a line with the
// frame's time, a line with its mean luma.
func readFlashes(t *testing.T, path string) []float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var times []float64
	var at float64
	white := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "pts_time:"); i >= 0 {
			at, err = strconv.ParseFloat(strings.TrimSpace(line[i+len("pts_time:"):]), 64)
			if err != nil {
				t.Fatalf("signalstats: %q", line)
			}
		} else if v, ok := strings.CutPrefix(line, "lavfi.signalstats.YAVG="); ok {
			y, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("signalstats: %q", line)
			}
			if y > flashLuma && !white {
				times = append(times, at)
			}
			white = y > flashLuma
		}
	}
	return times
}

const audioRate = 48000

// decodeAudio decodes a file's audio to 48 kHz mono from the file's time
// 0 (aresample pads or trims to it).
func decodeAudio(t *testing.T, path string) []int16 {
	t.Helper()
	out, err := exec.Command("ffmpeg", "-v", "error", "-threads", "1", "-i", path, "-map", "0:a",
		"-af", "aresample=async=1:first_pts=0", "-ac", "1", "-ar", strconv.Itoa(audioRate), "-f", "s16le", "-").Output()
	if err != nil {
		t.Fatalf("decode the audio of %s: %v", path, err)
	}
	samples := make([]int16, len(out)/2)
	if err := binary.Read(bytes.NewReader(out), binary.LittleEndian, samples); err != nil {
		t.Fatal(err)
	}
	return samples
}

// beeps returns the times where a tone of freq Hz starts in the
// samples, measured in windows of 5 ms with the Goertzel algorithm, whose
// bins at that length are 200 Hz apart, as the participants' pitches are.
func beeps(samples []int16, freq float64) []float64 {
	const window = audioRate / 200
	var times []float64
	on := false
	for i := 0; i+window <= len(samples); i += window {
		a := tone(samples[i:i+window], freq, audioRate)
		if a > beepOn && !on {
			times = append(times, float64(i)/audioRate)
		}
		if a > beepOn {
			on = true
		} else if a < beepOff {
			on = false
		}
	}
	return times
}

// tone is the amplitude (of full scale) of freq Hz in x: Goertzel.
func tone(x []int16, freq, rate float64) float64 {
	c := 2 * math.Cos(2*math.Pi*freq/rate)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = float64(v)/32768+c*s1-s2, s1
	}
	return 2 * math.Sqrt(s1*s1+s2*s2-c*s1*s2) / float64(len(x))
}

func colourName(r, g, b int) string {
	switch {
	case r < 40 && g < 40 && b < 40:
		return "black"
	case r > 200 && g > 200 && b > 200:
		return "white"
	case r > 180 && g < 70 && b < 70:
		return "red"
	case g > 180 && r < 70 && b < 70:
		return "lime"
	case b > 180 && r < 70 && g < 70:
		return "blue"
	case r > 200 && g > 200 && b < 70:
		return "yellow"
	}
	return fmt.Sprintf("rgb(%d,%d,%d)", r, g, b)
}

// A track whose start (when its first frame was sent) is before the
// recording's, because its first packets came late, is cut there: the
// composition does not fail on a negative delay, and lasts as long as
// the tracks from the recording's start.
func TestComposeCutsWhatCameBeforeTheStart(t *testing.T) {
	needFFmpeg(t)
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "color=c=red:s=320x240:r=15:d=2", "-c:v", "libvpx", "-deadline", "realtime", "-threads", "1", "v.webm"},
		{"-f", "lavfi", "-i", "sine=frequency=600:sample_rate=48000:d=2", "-c:a", "libopus", "-threads", "1", "a.webm"},
	} {
		cmd := exec.Command("ffmpeg", append([]string{"-v", "error", "-y"}, args...)...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	start := time.Now()
	end := start.Add(2 * time.Second)
	man := Manifest{Participants: []Participant{{ID: "alice", Name: "Alice"}}, Tracks: []Track{
		{File: "v.webm", Participant: "alice", Kind: "video", Start: start, OffsetMs: -300, End: &end, Frames: 30},
		{File: "a.webm", Participant: "alice", Kind: "audio", Start: start, OffsetMs: -200, End: &end, Frames: 100},
	}}
	if err := composeFiles(context.Background(), "ffmpeg", 10, dir, man); err != nil {
		t.Fatal(err)
	}
	if _, d := ffprobe(t, filepath.Join(dir, composedName)); math.Abs(d-1.8) > 0.15 {
		t.Errorf("composed %.2f s, want 1.8 (2 s from 200 ms before the start)", d)
	}
}
