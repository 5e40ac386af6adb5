package main

import (
	"encoding/binary"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// The generated stream. Sizes are those of a browser's 720p camera at
// about 850 kbit/s and its microphone: a VP8 delta frame of 2.8-3.8 KB
// (three packets of up to 1,150 bytes) 30 times a second, a 15 KB
// keyframe (14 packets) every 2 s, and an Opus frame of 100-140 bytes
// every 20 ms. About 97 video and 50 audio packets a second.
const (
	videoFPS           = 30
	videoMaxPayload    = 1150
	deltaMin, deltaMax = 2800, 3800
	keyframeSize       = 15000
	keyframeEvery      = 2 * time.Second
	opusEvery          = 20 * time.Millisecond
	opusMin, opusMax   = 100, 140
	// trailerSize ends every payload: the track's id (uint32) and the
	// send time (Unix ns, int64). At the end, so that the VP8 payload
	// descriptor and frame header keep the places an SFU reads them from.
	trailerSize = 12
	// keyframeGap bounds how often a publisher honours a keyframe
	// request, as a browser's encoder does.
	keyframeGap = 250 * time.Millisecond
)

// window is the measured interval, in send times (Unix ns): a packet
// counts when it was sent inside it.
type window struct{ start, end atomic.Int64 }

func (w *window) in(ns int64) bool {
	s := w.start.Load()
	return s != 0 && ns >= s && ns < w.end.Load()
}

func (w *window) open(now int64) {
	w.end.Store(1<<63 - 1)
	w.start.Store(now)
}

func (w *window) close(now int64) { w.end.Store(now) }

// stats are the receivers' counters, shared by all of them.
type stats struct {
	win      window
	received atomic.Uint64 // all packets
	inWindow atomic.Uint64 // packets sent inside the window
	lat      histogram     // send to receive, packets of the window
}

// histogram counts latencies in 10 µs buckets up to 1 s.
type histogram struct{ b [100001]atomic.Uint64 }

func (h *histogram) add(d time.Duration) {
	i := int(d / (10 * time.Microsecond))
	if i < 0 {
		i = 0
	}
	if i >= len(h.b) {
		i = len(h.b) - 1
	}
	h.b[i].Add(1)
}

// quantile returns the latency below which a fraction q of the counts lie.
func (h *histogram) quantile(q float64) time.Duration {
	var total uint64
	for i := range h.b {
		total += h.b[i].Load()
	}
	if total == 0 {
		return 0
	}
	want := uint64(q * float64(total))
	var n uint64
	for i := range h.b {
		n += h.b[i].Load()
		if n > want {
			return time.Duration(i)*10*time.Microsecond + 5*time.Microsecond
		}
	}
	return time.Second
}

// newAPI is the generator's pion: VP8 and Opus only, no interceptors
// (no NACK, reports or TWCC: the receivers read RTP without more work
// than SRTP needs), loopback only, no mDNS.
func newAPI() (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	fb := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: fb},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(i string) bool { return i == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, err
	}
	se.SetNet(bigBufNet{n})
	if os.Getenv("SFUBENCH_DEBUG") == "" {
		// pion logs every packet that comes before its track is known
		// (a renegotiation under way): noise in make bench's output.
		lf := logging.NewDefaultLoggerFactory()
		lf.DefaultLogLevel = logging.LogLevelDisabled
		se.LoggerFactory = lf
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se)), nil
}

// rcvBuf is the receive buffer of the generator's sockets. The machine
// is shared: when the generator waits for its core, the default 208 KB
// (about 90 datagrams of 1,200 bytes) overflow within tens of
// milliseconds, and the loss would be the generator's, not the server's.
const rcvBuf = 4 << 20

// bigBufNet is the standard network with larger receive buffers.
type bigBufNet struct{ *stdnet.Net }

func (n bigBufNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		_ = c.SetReadBuffer(rcvBuf)
	}
	return c, err
}

// publisher sends the generated camera and microphone on its two tracks.
type publisher struct {
	id           uint32 // video track id; audio is id+1
	video, audio *webrtc.TrackLocalStaticRTP
	win          *window
	sent         atomic.Uint64 // packets sent inside the window
	wantKey      atomic.Bool
	stop         chan struct{}
	once         sync.Once
}

var nextTrackID atomic.Uint32

// newPublisher adds a camera and a microphone to pc, in stream streamID.
func newPublisher(pc *webrtc.PeerConnection, streamID string, win *window) (*publisher, error) {
	p := &publisher{id: nextTrackID.Add(2), win: win, stop: make(chan struct{})}
	var err error
	if p.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", streamID); err != nil {
		return nil, err
	}
	if p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", streamID); err != nil {
		return nil, err
	}
	for _, tr := range []*webrtc.TrackLocalStaticRTP{p.video, p.audio} {
		tx, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			return nil, err
		}
		go p.readRTCP(tx.Sender())
	}
	return p, nil
}

// readRTCP turns the server's PLI and FIR into a keyframe.
func (p *publisher) readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				p.wantKey.Store(true)
			}
		}
	}
}

func (p *publisher) close() { p.once.Do(func() { close(p.stop) }) }

// run sends until close: audio every 20 ms, a video frame every 1/30 s.
func (p *publisher) run() {
	rng := rand.New(rand.NewPCG(uint64(p.id), 7))
	buf := make([]byte, 1500)
	var vseq, aseq uint16 = uint16(rng.Uint32()), uint16(rng.Uint32())
	vts, ats := rng.Uint32(), rng.Uint32()
	var pid uint16
	start := time.Now()
	nextA, nextV := start, start
	lastKey := time.Time{}
	frameEvery := time.Second / videoFPS
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		next := nextA
		if nextV.Before(next) {
			next = nextV
		}
		timer.Reset(time.Until(next))
		select {
		case <-p.stop:
			return
		case <-timer.C:
		}
		now := time.Now()
		if !now.Before(nextA) {
			size := opusMin + rng.IntN(opusMax-opusMin+1)
			payload := buf[:size]
			payload[0] = 0x78 // TOC: a 20 ms CELT/hybrid frame
			p.send(p.audio, &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: aseq, Timestamp: ats, Marker: false}, Payload: payload}, p.id+1)
			aseq++
			ats += 960
			nextA = nextA.Add(opusEvery)
		}
		if !now.Before(nextV) {
			key := now.Sub(lastKey) >= keyframeEvery || (p.wantKey.Load() && now.Sub(lastKey) >= keyframeGap)
			size := deltaMin + rng.IntN(deltaMax-deltaMin+1)
			if key {
				size = keyframeSize
				lastKey = now
				p.wantKey.Store(false)
			}
			vseq = p.sendFrame(buf, size, key, pid, vseq, vts)
			pid = (pid + 1) & 0x7fff
			vts += 90000 / videoFPS
			nextV = nextV.Add(frameEvery)
		}
	}
}

// sendFrame packetizes one VP8 frame of size bytes as a browser does:
// a 4-byte payload descriptor with a 15-bit picture id, the frame
// header in the first packet, the marker bit on the last.
func (p *publisher) sendFrame(buf []byte, size int, key bool, pid, seq uint16, ts uint32) uint16 {
	room := videoMaxPayload - vp8Desc - trailerSize
	for off := 0; off < size; off += room {
		n := min(room, size-off)
		payload := vp8Payload(buf, size, off, n, key, pid)
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: ts, Marker: off+n >= size}, Payload: payload}
		p.send(p.video, pkt, p.id)
		seq++
	}
	return seq
}

const vp8Desc = 4 // payload descriptor: X, S, I and a 15-bit picture id

// vp8Payload writes into buf the payload of the packet carrying bytes
// [off, off+n) of a frame of size bytes, trailer space included.
func vp8Payload(buf []byte, size, off, n int, key bool, pid uint16) []byte {
	const desc = vp8Desc
	payload := buf[:desc+n+trailerSize]
	clear(payload)
	payload[0] = 0x80 // X
	if off == 0 {
		payload[0] |= 0x10 // S: start of partition 0
	}
	payload[1] = 0x80 // I: picture id present
	payload[2] = 0x80 | byte(pid>>8)
	payload[3] = byte(pid)
	if off == 0 {
		// Frame tag: bit 0 clear on a keyframe, show_frame set, the
		// first partition's size; a keyframe's start code and 1280x720.
		tag := uint32(size/4)<<5 | 1<<4
		if !key {
			tag |= 1
		}
		payload[desc], payload[desc+1], payload[desc+2] = byte(tag), byte(tag>>8), byte(tag>>16)
		if key {
			copy(payload[desc+3:], []byte{0x9d, 0x01, 0x2a, 0x00, 0x05, 0xd0, 0x02})
		}
	}
	return payload
}

func (p *publisher) send(tr *webrtc.TrackLocalStaticRTP, pkt *rtp.Packet, id uint32) {
	t := binary.BigEndian
	tail := pkt.Payload[len(pkt.Payload)-trailerSize:]
	t.PutUint32(tail, id)
	now := time.Now().UnixNano()
	t.PutUint64(tail[4:], uint64(now))
	if p.win.in(now) {
		p.sent.Add(1)
	}
	_ = tr.WriteRTP(pkt)
}

// receiver is the receiving side of one participant: it counts what
// arrives on every track of every connection it has.
type receiver struct {
	st        *stats
	joinStart time.Time
	// watch is the video track id whose first packet and first keyframe
	// are timed from joinStart (the first publisher of the room).
	watch    uint32
	firstPkt atomic.Int64 // ns after joinStart, 0 until then
	firstKey atomic.Int64
	mu       sync.Mutex
	tracks   map[uint32]bool // track ids seen
}

func newReceiver(st *stats, watch uint32) *receiver {
	return &receiver{st: st, watch: watch, tracks: map[uint32]bool{}}
}

func (r *receiver) seen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tracks)
}

// read reads one remote track's RTP until it ends, without decoding:
// only the RTP header's length, the VP8 descriptor of the first packets
// and the trailer are looked at.
func (r *receiver) read(pc *webrtc.PeerConnection, tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
	go func() { // drain the server's reports
		buf := make([]byte, 1500)
		for {
			if _, _, err := rx.Read(buf); err != nil {
				return
			}
		}
	}()
	video := tr.Kind() == webrtc.RTPCodecTypeVideo
	buf := make([]byte, 1600)
	var id uint32
	keyed := !video
	var lastPLI, lastReport time.Time
	var seq, cycles uint32
	ssrc := uint32(tr.SSRC())
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if n < 12+trailerSize {
			continue
		}
		b := buf[:n]
		if s := uint32(binary.BigEndian.Uint16(b[2:])); s < seq && seq-s > 0x8000 {
			cycles += 1 << 16
			seq = s
		} else if s > seq || lastReport.IsZero() {
			seq = s
		}
		if now.Sub(lastReport) >= time.Second {
			// As a browser does: a receiver report a second, and for
			// video the bandwidth it estimates (REMB). Loopback has
			// plenty; without it Galène holds video back.
			lastReport = now
			pkts := []rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: ssrc, LastSequenceNumber: cycles | seq}}}}
			if video {
				pkts = append(pkts, &rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: 1, Bitrate: 20e6, SSRCs: []uint32{ssrc}})
			}
			_ = pc.WriteRTCP(pkts)
		}
		tail := b[n-trailerSize:]
		sent := int64(binary.BigEndian.Uint64(tail[4:]))
		r.st.received.Add(1)
		if r.st.win.in(sent) {
			r.st.inWindow.Add(1)
			r.st.lat.add(now.Sub(time.Unix(0, sent)))
		}
		if id == 0 {
			id = binary.BigEndian.Uint32(tail)
			r.mu.Lock()
			r.tracks[id] = true
			r.mu.Unlock()
			if id == r.watch || id == r.watch+1 {
				r.firstPkt.CompareAndSwap(0, int64(now.Sub(r.joinStart)))
			}
		}
		if !keyed {
			if isKeyframe(b) {
				keyed = true
				if id == r.watch {
					r.firstKey.CompareAndSwap(0, int64(now.Sub(r.joinStart)))
				}
			} else if now.Sub(lastPLI) > 300*time.Millisecond {
				// A browser's decoder asks for a keyframe when it has
				// none to start from.
				lastPLI = now
				_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
			}
		}
	}
}

// isKeyframe reports whether an RTP packet starts a VP8 keyframe.
func isKeyframe(b []byte) bool {
	if len(b) < 12 {
		return false
	}
	off := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 { // header extension
		if len(b) < off+4 {
			return false
		}
		off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
	}
	p := b[min(off, len(b)):]
	if len(p) < 1 || p[0]&0x10 == 0 || p[0]&0x0f != 0 {
		return false // not the start of partition 0
	}
	i := 1
	if p[0]&0x80 != 0 {
		if len(p) < 2 {
			return false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 {
			if len(p) > i && p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 {
			i++
		}
		if x&0x30 != 0 {
			i++
		}
	}
	return len(p) > i && p[i]&0x01 == 0
}

// queue runs functions one at a time, in the order pushed, on a
// goroutine of its own: signaling messages are handled in order without
// holding up the socket's reader.
type queue struct {
	ch   chan func()
	done chan struct{}
	once sync.Once
}

func newQueue() *queue {
	q := &queue{ch: make(chan func(), 4096), done: make(chan struct{})}
	go func() {
		for {
			select {
			case f := <-q.ch:
				f()
			case <-q.done:
				return
			}
		}
	}()
	return q
}

func (q *queue) push(f func()) {
	select {
	case q.ch <- f:
	case <-q.done:
	}
}

func (q *queue) stop() { q.once.Do(func() { close(q.done) }) }
