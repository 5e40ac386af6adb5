package live

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// fontPaths are where Debian's fonts-dejavu-core puts a font for the
// names on the tiles; without one the tiles have no names.
var fontPaths = []string{
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
	"/usr/share/fonts/dejavu/DejaVuSans.ttf",
}

func findFont() string {
	for _, p := range fontPaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// command is ffmpeg under nice(1) when it is installed.
func command(ctx context.Context, ffmpeg string, niceness int, args []string) *exec.Cmd {
	if niceBin, err := exec.LookPath("nice"); err == nil {
		return exec.CommandContext(ctx, niceBin, append([]string{"-n", strconv.Itoa(niceness), ffmpeg}, args...)...)
	}
	return exec.CommandContext(ctx, ffmpeg, args...)
}

// grid is the layout of n tiles in a w x h picture: as many columns as
// the square root, rounded up; tiles of even size (yuv420p).
func grid(n, w, h int) (cols, rows, tw, th int) {
	cols = int(math.Ceil(math.Sqrt(float64(n))))
	rows = (n + cols - 1) / cols
	tw, th = w/cols&^1, h/rows&^1
	return
}

// The stage layout, as the composed recording draws it
// (internal/recording/stage.go): a shared screen on a 1280x720 stage, the
// cameras in a strip of 320x180 tiles beside it, stripRows to a column;
// here the whole is scaled down to fit the output.
const (
	stageW, stageH = 1280, 720
	stripW, stripH = 320, 180
	stripRows      = stageH / stripH
)

// stageLayout is the stage layout of n cameras in a w x h picture: the
// screen's size and the strip tiles' size.
func stageLayout(n, w, h int) (sw, sh, tw, th int) {
	cols := max(1, (n+stripRows-1)/stripRows)
	f := min(float64(w)/float64(stageW+cols*stripW), float64(h)/float64(stageH))
	even := func(x int) int { return int(float64(x)*f) &^ 1 }
	return even(stageW), even(stageH), even(stripW), even(stripH)
}

// ffmpegArgs is ffmpeg's command line: the WebM stream on its standard
// input (VP8 tracks first: one per tile, the screen, the layout; then the
// Opus tracks), both layouts with the names, the mix, H.264 and AAC in FLV
// to out; progress on its standard output.
//
// -reinit_filter 0 matters: a track changes its picture size (another
// participant in the slot, a simulcast layer switch, the black filler),
// and ffmpeg 5's answer to that, rebuilding the whole filter graph, ends a
// complex graph's output silently. Instead the size change goes through:
// scale adapts to each frame, and pad with eval=frame centres each frame.
//
// The layout switches without a restart: the graph makes both the grid
// and the stage picture of every frame, and maskedmerge takes one or the
// other by the layout track, a flat picture the compositor sends in the
// stream itself (black: grid; bright: stage; see compositor.layout). Other
// ways were weighed: zmq commands to streamselect or to overlay's enable
// cost the same (streamselect and a disabled overlay still pull and
// scale every input), but need a ZMTP client here, a socket anyone on
// the host could send filter commands to, the state sent again to every
// new ffmpeg, and they switch at ffmpeg's own moment rather than at the
// frames'. Both layouts and the mask cost about a sixth more of ffmpeg's
// CPU than the grid alone (measured at 1280x720 with 4 cameras: 5.4 s to
// 6.3 s of CPU per 20 s of stream), x264 being most of it; the strip's
// tiles are the grid's scaled down, drawn once, and the screen is a
// black frame twice a second while nobody shares.
func ffmpegArgs(cfg Config, font, nameDir, out string) []string {
	v, a := cfg.VideoSlots, cfg.AudioSlots
	w, h := cfg.Width&^1, cfg.Height&^1
	cols, _, tw, th := grid(v, cfg.Width, cfg.Height)
	sw, sh, stw, sth := stageLayout(v, w, h)
	args := []string{
		"-hide_banner", "-nostdin", "-loglevel", "error", "-nostats",
		"-progress", "pipe:1", "-stats_period", "0.5",
		"-threads", strconv.Itoa(cfg.Threads), "-filter_complex_threads", "1",
		"-reinit_filter", "0", "-thread_queue_size", "1024",
		"-probesize", "65536", "-analyzeduration", "200000",
		"-f", "matroska", "-i", "pipe:0",
	}
	names := font != "" && safePath(font) && safePath(nameDir)
	label := func(i, size int) string {
		if !names {
			return ""
		}
		return fmt.Sprintf(",drawtext=fontfile=%s:textfile=%s:reload=1:expansion=none:"+
			"x=10:y=h-th-10:fontsize=%d:fontcolor=white:borderw=2:bordercolor=black",
			font, namePath(nameDir, i), size)
	}
	// fit is input i fitted into a w x h tile, at the output's rate.
	fit := func(i, w, h int) string {
		return fmt.Sprintf("[0:v:%d]scale=%d:%d:force_original_aspect_ratio=decrease:force_divisible_by=2,"+
			"pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=black:eval=frame,setsar=1,fps=%d,format=yuv420p",
			i, w, h, w, h, cfg.FrameRate)
	}
	var graph []string
	stack, strip := "", ""
	var layout, stageAt []string
	stageAt = append(stageAt, "0_0")
	for i := range v {
		graph = append(graph, fit(i, tw, th)+label(i, max(12, th/14))+fmt.Sprintf(",split=2[v%d][c%d]", i, i))
		// The strip's tile is the grid's, smaller, name and all.
		graph = append(graph, fmt.Sprintf("[c%d]scale=%d:%d:force_original_aspect_ratio=decrease:force_divisible_by=2,"+
			"pad=%d:%d:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1[s%d]", i, stw, sth, stw, sth, i))
		stack += fmt.Sprintf("[v%d]", i)
		strip += fmt.Sprintf("[s%d]", i)
		layout = append(layout, fmt.Sprintf("%d_%d", (i%cols)*tw, (i/cols)*th))
		stageAt = append(stageAt, fmt.Sprintf("%d_%d", sw+i/stripRows*stw, i%stripRows*sth))
	}
	if v == 1 {
		graph = append(graph, fmt.Sprintf("[v0]pad=%d:%d:(ow-iw)/2:(oh-ih)/2[grid]", w, h))
	} else {
		graph = append(graph, fmt.Sprintf("%sxstack=inputs=%d:layout=%s:fill=black,pad=%d:%d:(ow-iw)/2:(oh-ih)/2[grid]",
			stack, v, strings.Join(layout, "|"), w, h))
	}
	graph = append(graph, fit(v, sw, sh)+label(v, max(12, sh/24))+"[screen]")
	graph = append(graph, fmt.Sprintf("[screen]%sxstack=inputs=%d:layout=%s:fill=black,pad=%d:%d:(ow-iw)/2:(oh-ih)/2[stage]",
		strip, v+1, strings.Join(stageAt, "|"), w, h))
	// The layout track: any value of any plane above 180 is the stage.
	graph = append(graph, fmt.Sprintf("[0:v:%d]format=yuv420p,lutyuv=y='255*gt(val,180)':u='255*gt(val,180)':v='255*gt(val,180)',"+
		"scale=%d:%d:flags=neighbor,setsar=1,fps=%d,format=yuv420p[mask]", v+1, w, h, cfg.FrameRate))
	graph = append(graph, "[grid][stage][mask]maskedmerge[vout]")
	mix := ""
	for j := range a {
		graph = append(graph, fmt.Sprintf("[0:a:%d]aresample=async=1000:first_pts=0[a%d]", j, j))
		mix += fmt.Sprintf("[a%d]", j)
	}
	if a == 1 {
		graph = append(graph, "[a0]anull[aout]")
	} else {
		graph = append(graph, fmt.Sprintf("%samix=inputs=%d:duration=longest:dropout_transition=0:normalize=0[aout]", mix, a))
	}
	gop := strconv.Itoa(2 * cfg.FrameRate) // a keyframe every 2 s, as the platforms ask
	kbps := cfg.VideoBitrate
	args = append(args, "-filter_complex", strings.Join(graph, ";"),
		"-map", "[vout]", "-map", "[aout]",
		"-threads", strconv.Itoa(cfg.Threads), // the encoder's; the one above is the decoders'
		"-c:v", "libx264", "-preset", cfg.Preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
		"-b:v", fmt.Sprintf("%dk", kbps), "-maxrate", fmt.Sprintf("%dk", kbps), "-bufsize", fmt.Sprintf("%dk", 2*kbps),
		"-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2",
		"-f", "flv", "-flvflags", "no_duration_filesize")
	if strings.HasPrefix(out, "rtmps://") && !cfg.InsecureTLS {
		// ffmpeg takes any certificate unless told otherwise, which would
		// give the stream key to whoever sits in the middle.
		args = append(args, "-tls_verify", "1")
		if ca := findCAFile(); ca != "" {
			args = append(args, "-ca_file", ca)
		}
	}
	return append(args, out)
}

// caFiles are where distributions keep the system's CA certificates;
// without one, ffmpeg (GnuTLS) uses the system's trust store itself.
var caFiles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/cert.pem",
}

func findCAFile() string {
	for _, p := range caFiles {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// safePath reports whether a path can go into the filter graph as it is:
// the graph's quoting has two levels, and the paths here are ours (the
// temporary folder, the font), so rather than escape, a path with other
// characters than these means no names on the tiles.
func safePath(p string) bool {
	for _, c := range p {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune("/._-+", c)) {
			return false
		}
	}
	return p != ""
}

// blackFrame makes a VP8 keyframe of a black 320x180 picture, the filler
// of empty tiles, with ffmpeg (IVF on its standard output).
func blackFrame(ctx context.Context, ffmpeg string) ([]byte, error) {
	return solidFrame(ctx, ffmpeg, "")
}

// stageFrame makes the layout track's "stage" frame: Y 235, U and V 240,
// far from black's 16, 128, 128 in every plane, so that ffmpeg's lutyuv
// turns either into a clean mask whatever VP8 does to a flat picture.
func stageFrame(ctx context.Context, ffmpeg string) ([]byte, error) {
	return solidFrame(ctx, ffmpeg, ",format=yuv420p,lutyuv=y=235:u=240:v=240")
}

// solidFrame makes a VP8 keyframe of a 320x180 picture, black with the
// filters in post, with ffmpeg (IVF on its standard output).
func solidFrame(ctx context.Context, ffmpeg, post string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "color=black:size=320x180:rate=1"+post, "-frames:v", "1",
		"-c:v", "libvpx", "-f", "ivf", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %v: %s", err, lastLine(stderr.String()))
	}
	// IVF: a header (its length at byte 6), then per frame 4 bytes of
	// size, 8 of timestamp, the frame.
	if len(out) < 32 {
		return nil, errors.New("ffmpeg made no VP8 frame")
	}
	hl := int(binary.LittleEndian.Uint16(out[6:]))
	if len(out) < hl+12 {
		return nil, errors.New("ffmpeg made no VP8 frame")
	}
	n := int(binary.LittleEndian.Uint32(out[hl:]))
	if n == 0 || len(out) < hl+12+n {
		return nil, errors.New("ffmpeg made a short VP8 frame")
	}
	return out[hl+12 : hl+12+n], nil
}

// progress reads ffmpeg's -progress output and calls frames with the
// count of frames encoded so far, at every report.
func progress(r io.Reader, frames func(n int64)) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && k == "frame" {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				frames(n)
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// tail keeps the last bytes written to it: ffmpeg's errors.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailLen = 4096

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailLen {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-tailLen:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// reasonLines is how many of ffmpeg's last error lines make a reason: the
// last says what failed ("...: Input/output error"), the ones before why
// ("Peer certificate failed verification").
const reasonLines = 3

// lastLine is the last non-empty line of s, at most 200 bytes.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 200 {
		l = l[:200]
	}
	return l
}

// reason is ffmpeg's last error lines, without their "[tls @ 0x55...]"
// prefixes, joined by "; ", at most 300 bytes: why a run ended.
func reason(stderr string) string {
	var out []string
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0 && len(out) < reasonLines; i-- {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "[") {
			if j := strings.Index(l, "] "); j > 0 {
				l = l[j+2:]
			}
		}
		if l != "" {
			out = append([]string{l}, out...)
		}
	}
	r := strings.Join(out, "; ")
	if len(r) > 300 {
		r = r[len(r)-300:]
	}
	return r
}
