package recording

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// composedName is the playable file: MP4 with H.264 and AAC, which every
// browser and player opens.
const composedName = "composed.mp4"

// Tile size of the grid: four cameras make 1280x720.
const tileW, tileH = 640, 360

// fontPaths are where Debian's fonts-dejavu-core puts a font for the
// names on the tiles; without one the tiles have no names.
var fontPaths = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
}

// compose runs ffmpeg on the recording's tracks and notes the result in
// the manifest.
func (r *Recording) compose() {
	man := r.manifest()
	ctx, cancel := context.WithTimeout(r.m.ctx, r.m.cfg.ComposeTimeout)
	defer cancel()
	err := composeFiles(ctx, r.m.cfg.FFmpeg, r.m.cfg.Nice, r.dir, man)
	r.mu.Lock()
	if err != nil {
		r.man.ComposeError = err.Error()
		r.m.stats.composeFailed.Add(1)
		r.m.log.Warn("recording: composition failed", "recording", r.id, "err", err)
	} else {
		r.man.Composed = composedName
		r.m.stats.composed.Add(1)
	}
	r.writeManifestLocked()
	man = r.man
	r.mu.Unlock()
	if r.m.cfg.OnComposed != nil {
		r.m.cfg.OnComposed(r.room, man)
	}
}

// errNothingToCompose: no track has a frame.
var errNothingToCompose = errors.New("no recorded frames to compose")

// composeFiles makes dir/composed.mp4 from the manifest's tracks.
func composeFiles(ctx context.Context, ffmpeg string, nice int, dir string, man Manifest) error {
	args, err := composeArgs(dir, man, findFont())
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	if niceBin, err := exec.LookPath("nice"); err == nil {
		cmd = exec.CommandContext(ctx, niceBin, append([]string{"-n", fmt.Sprint(nice), ffmpeg}, args...)...)
	}
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		_ = os.Remove(filepath.Join(dir, composedName))
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		return fmt.Errorf("ffmpeg: %v: %s", err, msg)
	}
	return nil
}

func findFont() string {
	for _, p := range fontPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// composeArgs builds ffmpeg's command line: every camera in a grid, each
// shown from the time it started (black before) to the end (its last
// frame held), every audio delayed to its start and mixed. A recording
// with a shared screen has the stage layout instead (stage.go).
func composeArgs(dir string, man Manifest, font string) ([]string, error) {
	var cameras, screens, audios []Track
	var total int64 // ms
	for _, t := range man.Tracks {
		if t.File == "" || t.Frames == 0 || t.End == nil {
			continue
		}
		end := t.OffsetMs + t.End.Sub(t.Start).Milliseconds()
		total = max(total, end)
		switch {
		case t.Kind == "video" && t.Screen:
			screens = append(screens, t)
		case t.Kind == "video":
			cameras = append(cameras, t)
		default:
			audios = append(audios, t)
		}
	}
	videos := len(cameras) + len(screens)
	if videos+len(audios) == 0 || total <= 0 {
		return nil, errNothingToCompose
	}
	names := map[string]string{}
	for _, p := range man.Participants {
		names[p.ID] = p.Name
	}
	// label draws a track's name (a screen's with "screen") on its tile.
	label := func(t Track, size int) string {
		name := names[t.Participant]
		if name == "" || font == "" {
			return "null"
		}
		if t.Screen {
			name += " (screen)"
		}
		return fmt.Sprintf("drawtext=fontfile=%s:text='%s':x=12:y=h-th-12:fontsize=%d:fontcolor=white:box=1:boxcolor=black@0.5:boxborderw=6",
			font, drawtextEscape(name), size)
	}
	sec := func(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-threads", "2"}
	for _, t := range append(append(append([]Track(nil), cameras...), screens...), audios...) {
		args = append(args, "-i", t.File)
	}
	var graph []string
	var outs []string
	switch {
	case len(screens) > 0:
		graph = stageGraph(man, cameras, screens, total, label)
	case len(cameras) > 0:
		graph = gridGraph(cameras, total, label)
	}
	if videos > 0 {
		outs = append(outs, "-map", "[vout]", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26", "-pix_fmt", "yuv420p")
	}
	if len(audios) > 0 {
		in := ""
		for j, t := range audios {
			graph = append(graph, fmt.Sprintf("[%d:a]asetpts=PTS-STARTPTS,%sadelay=%d:all=1[a%d]",
				videos+j, cutBefore("a", t.OffsetMs), max(t.OffsetMs, 0), j))
			in += fmt.Sprintf("[a%d]", j)
		}
		graph = append(graph, fmt.Sprintf("%samix=inputs=%d:duration=longest:dropout_transition=0:normalize=0[aout]", in, len(audios)))
		outs = append(outs, "-map", "[aout]", "-c:a", "aac", "-b:a", "128k")
	}
	args = append(args, "-filter_complex", strings.Join(graph, ";"))
	args = append(args, outs...)
	args = append(args, "-t", sec(total), "-movflags", "+faststart", composedName)
	return args, nil
}

// gridGraph lays the cameras out in a grid of tiles, out as [vout]: the
// picture is as large as the tiles' bounding box, cols x rows.
func gridGraph(cameras []Track, total int64, label func(Track, int) string) []string {
	cols := int(math.Ceil(math.Sqrt(float64(len(cameras)))))
	var graph, layout []string
	for i, t := range cameras {
		graph = append(graph, fmt.Sprintf("%s,%s[v%d]", fitted(i, t, tileW, tileH, total), label(t, 24), i))
		layout = append(layout, fmt.Sprintf("%d_%d", (i%cols)*tileW, (i/cols)*tileH))
	}
	if len(cameras) == 1 {
		return append(graph, "[v0]null[vout]")
	}
	in := ""
	for i := range cameras {
		in += fmt.Sprintf("[v%d]", i)
	}
	return append(graph, fmt.Sprintf("%sxstack=inputs=%d:layout=%s:fill=black[vout]", in, len(cameras), strings.Join(layout, "|")))
}

// cutBefore is the filters ("" for video, "a" for audio) that cut what a
// track has from before the recording started: a track's start is when
// its first frame was sent (see trackWriter.refine), which can be before
// the recording's start when its first packets came late. The frames
// after the cut keep their times, less the cut, so that the track stays
// in sync with the others.
func cutBefore(a string, offsetMs int64) string {
	if offsetMs >= 0 {
		return ""
	}
	cut := fmt.Sprintf("%.3f", float64(-offsetMs)/1000)
	return fmt.Sprintf("%strim=start=%s,%ssetpts=PTS-%s/TB,", a, cut, a, cut)
}

// drawtextEscape makes a name safe inside drawtext's quoted text: the
// filter graph's and drawtext's special characters go.
func drawtextEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '\'', '\\', ':', '%', ';', ',', '[', ']', '=':
			b.WriteRune(' ')
		default:
			if c >= ' ' {
				b.WriteRune(c)
			}
		}
	}
	return b.String()
}
