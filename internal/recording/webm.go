package recording

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"sync"

	"github.com/at-wat/ebml-go/mkvcore"
	"github.com/at-wat/ebml-go/webm"
)

// webmFile is one track written as a WebM file as frames come, with
// github.com/at-wat/ebml-go: a WebM file is playable up to its last
// complete block, so a crash loses only the frames not yet written (pion's
// ivfwriter and oggwriter would do too, but they give two container
// formats instead of one, and IVF has no audio).
//
// ebml-go writes on a goroutine of its own that stops for good at its
// first write error, after which a further frame would block its caller.
// So the file under it never reports an error to it: errFile keeps the
// first one, and the writer stops writing frames once it is set.
type webmFile struct {
	f   *errFile
	bw  webm.BlockWriteCloser
	mu  sync.Mutex
	end int64 // the last frame's timestamp, ms
}

// durationMark is the Segment Duration written in the header until the
// file is closed, when the real duration takes its place: found by its
// bytes, which no real header has.
var durationMark = math.Float64frombits(0x7FE0_1234_5678_9ABC)

// errFile is an os.File that records its first write error and swallows
// it (see webmFile), and keeps the first bytes written: the header.
type errFile struct {
	f      *os.File
	mu     sync.Mutex
	err    error
	n      int64
	header []byte
}

// errHeaderLen is how much of the start of the file is kept to find the
// duration in; the header is a few hundred bytes.
const errHeaderLen = 1024

func (e *errFile) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return len(p), nil
	}
	if len(e.header) < errHeaderLen {
		e.header = append(e.header, p[:min(len(p), errHeaderLen-len(e.header))]...)
	}
	n, err := e.f.Write(p)
	e.n += int64(n)
	if err != nil {
		e.err = err
	}
	return len(p), nil
}

// Close is called by ebml-go when its writer ends; the file itself is
// closed by webmFile.Close, after the duration is set.
func (e *errFile) Close() error { return nil }

func (e *errFile) state() (written int64, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n, e.err
}

// Track types of the Matroska TrackEntry.
const (
	trackVideo = 1
	trackAudio = 2
)

// createWebM makes a WebM file with one track of the given codec ("V_VP8",
// "A_OPUS").
func createWebM(path string, codecID string, channels uint64, rate float64) (*webmFile, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	entry := webm.TrackEntry{Name: "track", TrackNumber: 1, TrackUID: 1, CodecID: codecID}
	if codecID == "A_OPUS" {
		entry.TrackType = trackAudio
		entry.Audio = &webm.Audio{SamplingFrequency: rate, Channels: channels}
		entry.CodecPrivate = opusHead(channels)
	} else {
		entry.TrackType = trackVideo
		// The real size is in the frames; players take it from there.
		entry.Video = &webm.Video{PixelWidth: 640, PixelHeight: 480}
	}
	ef := &errFile{f: f}
	info := *webm.DefaultSegmentInfo
	info.Duration = durationMark
	ws, err := webm.NewSimpleBlockWriter(ef, []webm.TrackEntry{entry},
		mkvcore.WithSegmentInfo(&info),
		// One track per file: nothing to interleave, so frames go to the
		// file at once instead of waiting in a sorter.
		mkvcore.WithBlockInterceptor(nil),
		mkvcore.WithOnErrorHandler(func(error) {}),
		mkvcore.WithOnFatalHandler(func(error) {}),
	)
	if err == nil {
		_, err = ef.state()
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return &webmFile{f: ef, bw: ws[0]}, nil
}

// opusHead is the CodecPrivate of an Opus track (RFC 7845 ID header).
func opusHead(channels uint64) []byte {
	b := make([]byte, 19)
	copy(b, "OpusHead")
	b[8] = 1 // version
	b[9] = byte(channels)
	binary.LittleEndian.PutUint16(b[10:], 312)   // pre-skip, as browsers set
	binary.LittleEndian.PutUint32(b[12:], 48000) // input rate, informative
	return b
}

// errWriteFailed wraps the file's write error.
var errWriteFailed = errors.New("recording: write failed")

// write adds one frame at ts milliseconds from the track's start, lasting
// dur milliseconds.
func (w *webmFile) write(keyframe bool, ts, dur int64, frame []byte) error {
	if _, err := w.f.state(); err != nil {
		return errors.Join(errWriteFailed, err)
	}
	w.mu.Lock()
	w.end = max(w.end, ts+dur)
	w.mu.Unlock()
	_, _ = w.bw.Write(keyframe, ts, frame)
	return nil
}

// Close finishes the file: the last cluster, and the real duration in
// the header so that players and ffprobe show it.
func (w *webmFile) Close() error {
	_ = w.bw.Close() // waits for ebml-go's goroutine to write the tail
	w.mu.Lock()
	end := w.end
	w.mu.Unlock()
	_, werr := w.f.state()
	err := setDuration(w.f.f, w.f.header, float64(end))
	if cerr := w.f.f.Close(); err == nil {
		err = cerr
	}
	if werr != nil {
		return errors.Join(errWriteFailed, werr)
	}
	return err
}

// setDuration overwrites the durationMark in a file's header.
func setDuration(f io.WriterAt, header []byte, ms float64) error {
	var mark [8]byte
	binary.BigEndian.PutUint64(mark[:], math.Float64bits(durationMark))
	i := bytes.Index(header, mark[:])
	if i < 0 {
		return errors.New("recording: duration not found in the WebM header")
	}
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], math.Float64bits(ms))
	_, err := f.WriteAt(v[:], int64(i))
	return err
}
