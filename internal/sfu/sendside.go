package sfu

import (
	"encoding/binary"
	"strings"
	"sync/atomic"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// twccStamper numbers every packet a connection sends in the
// transport-wide congestion control header extension, from which the
// subscriber's feedback and the bandwidth estimate come. It replaces
// pion's twcc.HeaderExtensionInterceptor, which made two allocations per
// forwarded packet: a new 2-byte extension, and (since pion's writer
// passes no attributes) the attributes map GCC's estimator then makes to
// find the extension. Here both are kept per stream and reused, which is
// safe because the sends to one down track's stream are serialised
// (downTrack.mu) and done when Write returns.
type twccStamper struct {
	interceptor.NoOp
	next atomic.Uint32 // one sequence for all the connection's streams
}

type twccStamperFactory struct{}

func (twccStamperFactory) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &twccStamper{}, nil
}

func (s *twccStamper) BindLocalStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	var id uint8
	for _, e := range info.RTPHeaderExtensions {
		if e.URI == sdp.TransportCCURI {
			id = uint8(e.ID)
		}
	}
	if id == 0 || isAudio(info) {
		return w // audio stays out of the estimate (videoOnly)
	}
	return &twccStream{conn: s, id: id, w: w, attrs: interceptor.Attributes{}}
}

// twccStream stamps one stream's packets.
type twccStream struct {
	conn  *twccStamper
	id    uint8
	w     interceptor.RTPWriter
	ext   [2]byte
	attrs interceptor.Attributes
}

func (t *twccStream) Write(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
	binary.BigEndian.PutUint16(t.ext[:], uint16(t.conn.next.Add(1)-1))
	if err := h.SetExtension(t.id, t.ext[:]); err != nil {
		return 0, err
	}
	if a == nil {
		a = t.attrs
	}
	return t.w.Write(h, payload, a)
}

// configureTWCCStamper negotiates the extension and adds the stamper; it
// must come after the estimator in the registry, so that it runs before
// it on the way out.
func configureTWCCStamper(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, kind); err != nil {
			return err
		}
	}
	ir.Add(twccStamperFactory{})
	return nil
}

// videoOnly keeps audio out of the estimator. Audio always flows and is
// not counted against the estimate, and a third of the packets a meeting
// forwards are audio (50 a second per microphone against about 100 of a
// camera): each went through GCC's send history (a lock, a map insert
// and a list insert with two allocations) and carried a TWCC number the
// subscriber had to report on.
type videoOnly struct{ cc.BandwidthEstimator }

func (v videoOnly) AddStream(info *interceptor.StreamInfo, w interceptor.RTPWriter) interceptor.RTPWriter {
	if isAudio(info) {
		return w
	}
	est := v.BandwidthEstimator.AddStream(info, w)
	rtx := uint32(info.SSRCRetransmission)
	if rtx == 0 {
		return est
	}
	// Retransmissions on the RTX stream (downTrack.sendAgain) go around
	// the estimator: its pacer knows the stream by its own SSRC only and
	// refused them (gcc.ErrUnknownStream), and they are few.
	return interceptor.RTPWriterFunc(func(h *rtp.Header, p []byte, a interceptor.Attributes) (int, error) {
		if h.SSRC == rtx {
			return w.Write(h, p, a)
		}
		return est.Write(h, p, a)
	})
}

func isAudio(info *interceptor.StreamInfo) bool {
	return strings.HasPrefix(strings.ToLower(info.MimeType), "audio/")
}
