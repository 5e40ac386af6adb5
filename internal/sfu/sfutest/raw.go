package sfutest

import (
	"errors"
	"strings"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// RawTrack is a local track whose packets the test writes as it likes,
// SSRC and all: they are encrypted and sent like any other (a client
// with valid keys that sends what it did not negotiate), which pion's
// own tracks do not allow.
type RawTrack struct {
	id, stream string
	kind       webrtc.RTPCodecType
	mime       string

	mu    sync.Mutex
	w     webrtc.TrackLocalWriter
	ssrc  webrtc.SSRC
	ptype webrtc.PayloadType
}

// NewRawTrack returns a track of this codec (webrtc.MimeTypeVP8, ...).
func NewRawTrack(mime, id, stream string) *RawTrack {
	kind := webrtc.RTPCodecTypeVideo
	if strings.HasPrefix(mime, "audio/") {
		kind = webrtc.RTPCodecTypeAudio
	}
	return &RawTrack{id: id, stream: stream, kind: kind, mime: mime}
}

var errNoCodec = errors.New("sfutest: codec not negotiated")

// Bind is webrtc.TrackLocal's.
func (r *RawTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, c := range ctx.CodecParameters() {
		if strings.EqualFold(c.MimeType, r.mime) {
			r.mu.Lock()
			r.w, r.ssrc, r.ptype = ctx.WriteStream(), ctx.SSRC(), c.PayloadType
			r.mu.Unlock()
			return c, nil
		}
	}
	return webrtc.RTPCodecParameters{}, errNoCodec
}

// Unbind is webrtc.TrackLocal's.
func (r *RawTrack) Unbind(webrtc.TrackLocalContext) error {
	r.mu.Lock()
	r.w = nil
	r.mu.Unlock()
	return nil
}

func (r *RawTrack) ID() string                { return r.id }
func (r *RawTrack) RID() string               { return "" }
func (r *RawTrack) StreamID() string          { return r.stream }
func (r *RawTrack) Kind() webrtc.RTPCodecType { return r.kind }

// Negotiated returns the track's SSRC and payload type; ok is false until
// the track is bound.
func (r *RawTrack) Negotiated() (ssrc uint32, pt uint8, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return uint32(r.ssrc), uint8(r.ptype), r.w != nil
}

// WriteRTP sends a packet as it is given.
func (r *RawTrack) WriteRTP(h *rtp.Header, payload []byte) error {
	r.mu.Lock()
	w := r.w
	r.mu.Unlock()
	if w == nil {
		return errNoCodec
	}
	_, err := w.WriteRTP(h, payload)
	return err
}
