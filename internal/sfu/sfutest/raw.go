package sfutest

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
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
	// levelID is the negotiated id of the RFC 6464 audio-level
	// extension, 0 when there is none.
	levelID uint8
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
			for _, e := range ctx.HeaderExtensions() {
				if e.URI == sdp.AudioLevelURI {
					r.levelID = uint8(e.ID)
				}
			}
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

// AudioLevelID is the negotiated id of the audio-level extension (0:
// none), for a test that says how loud its packets are.
func (r *RawTrack) AudioLevelID() uint8 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.levelID
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

// Layer is one simulcast layer of PublishLayers: each 20 ms frame is
// Packets packets of Size bytes of VP8 payload.
type Layer struct {
	RID           string
	Packets, Size int
}

// PublishLayers sends a VP8 camera ("cam") as these simulcast layers, a
// frame every 20 ms and a keyframe every 10 frames, plus an Opus
// microphone ("mic"): PublishSimulcast at the bitrates a test chooses
// (a layer of 3 packets of 1200 bytes is 1.4 Mbit/s).
func (c *Client) PublishLayers(layers ...Layer) {
	c.t.Helper()
	tracks := map[string]*webrtc.TrackLocalStaticRTP{}
	var sender *webrtc.RTPSender
	for _, l := range layers {
		tr, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", c.Name, webrtc.WithRTPStreamID(l.RID))
		if err != nil {
			c.t.Fatal(err)
		}
		tracks[l.RID] = tr
		if sender == nil {
			if sender, err = c.Pub.AddTrack(tr); err != nil {
				c.t.Fatal(err)
			}
			go c.countPLIs(sender)
		} else if err := sender.AddEncoding(tr); err != nil {
			c.t.Fatal(err)
		}
	}
	audio, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", c.Name)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.Pub.AddTrack(audio); err != nil {
		c.t.Fatal(err)
	}
	c.negotiatePublish()
	var midID, ridID uint8
	for _, e := range sender.GetParameters().HeaderExtensions {
		switch e.URI {
		case sdp.SDESMidURI:
			midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			ridID = uint8(e.ID)
		}
	}
	mid := ""
	for _, tr := range c.Pub.GetTransceivers() {
		if tr.Sender() == sender {
			mid = tr.Mid()
		}
	}
	go c.sendLayers(layers, tracks, audio, mid, midID, ridID)
}

func (c *Client) sendLayers(layers []Layer, tracks map[string]*webrtc.TrackLocalStaticRTP, audio *webrtc.TrackLocalStaticSample, mid string, midID, ridID uint8) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	// Each layer is its own RTP stream with its own numbering, far apart,
	// so that a switch the server does not rewrite shows as a jump.
	seq := make([]uint16, len(layers))
	for i := range seq {
		seq[i] = uint16(100 + 20000*i)
	}
	for frame := uint32(0); ; frame++ {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		for i, l := range layers {
			for p := range l.Packets {
				payload := make([]byte, l.Size)
				if p == 0 {
					payload[0] = 0x10 // VP8 descriptor: start of partition 0
				}
				if frame%10 != 0 {
					payload[1] = 0x01 // an interframe (P bit set)
				}
				seq[i]++
				pkt := &rtp.Packet{Header: rtp.Header{
					Version: 2, Marker: p == l.Packets-1, SequenceNumber: seq[i],
					Timestamp: uint32(i)<<28 + frame*1800,
				}, Payload: payload}
				_ = pkt.Header.SetExtension(midID, []byte(mid))
				_ = pkt.Header.SetExtension(ridID, []byte(l.RID))
				_ = tracks[l.RID].WriteRTP(pkt)
			}
		}
		_ = audio.WriteSample(media.Sample{Data: make([]byte, 80), Duration: 20 * time.Millisecond})
	}
}

// Speak sends an Opus packet of silence every 20 ms on an audio track,
// each with the RFC 6464 level that level says (0 loud, 127 silent),
// until stop closes: a participant speaking, as the server hears it.
func (r *RawTrack) Speak(stop <-chan struct{}, level func() uint8) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		ssrc, pt, ok := r.Negotiated()
		id := r.AudioLevelID()
		if !ok || id == 0 {
			continue
		}
		seq++
		ts += 960
		h := &rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: ssrc}
		_ = h.SetExtension(id, []byte{level() & 0x7f})
		_ = r.WriteRTP(h, []byte{0xf8, 0xff, 0xfe})
	}
}
