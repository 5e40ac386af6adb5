package engineio

import (
	"encoding/binary"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Transport is how a session talks to its client now.
type Transport uint8

// The two transports.
const (
	Polling Transport = iota
	WebSocket
)

func (t Transport) String() string {
	if t == WebSocket {
		return "websocket"
	}
	return "polling"
}

type sessionState uint8

const (
	stateOpen    sessionState = iota
	stateClosing              // flushing the queue, then closed
	stateClosed
)

// Session is one Engine.IO connection, whatever its transport.
type Session struct {
	srv  *Server
	id   string
	req  keptRequest
	recv Receiver
	ip   netip.Addr // counted in srv.perIP until the session ends

	// recvMu serialises the delivery of incoming packets (a POST body, a
	// WebSocket message) and OnClose.
	recvMu sync.Mutex
	dead   atomic.Bool

	mu           sync.Mutex
	state        sessionState
	transport    Transport
	pollBusy     bool // a GET is waiting
	postBusy     bool
	writing      bool // a drain goroutine owns the WebSocket writes (see writeLocked)
	corked       bool // writes wait in the queue for a read step's batch (see writeBatch)
	noop         bool // the next GET answers at least a noop
	probed       bool // the upgrade probe was answered
	awaitingPong bool
	clientClosed bool  // the client sent its close packet
	due          int64 // next ping, or pong deadline, in Server.now units
	queue        []Packet
	// step is the batch of the frames of this session's WebSocket being
	// handled, when one read brought several; nil otherwise.
	step      atomic.Pointer[writeBatch]
	wake      chan struct{} // wakes a waiting GET
	ws, probe wsConn
	timer     *time.Timer // upgrade or close timeout
	reason    string
	// out takes what a virtual session sends (virtual.go); nil for a
	// session with a transport.
	out func([]Packet)
	// closed is told when a virtual session has ended; nil otherwise.
	closed func(reason string)
}

// ID is the Engine.IO session id.
func (s *Session) ID() string { return s.id }

// Request is the request that opened the session, without its body and
// with only the headers that tell who the client is (see keptHeaders).
// Each call returns a new copy.
func (s *Session) Request() *http.Request { return s.req.request() }

// RemoteAddr is the opening request's RemoteAddr, without rebuilding the
// request.
func (s *Session) RemoteAddr() string { return s.req.remoteAddr }

// Header is the values of a kept header of the opening request (see
// Request), by canonical name, without rebuilding the request. The caller
// must not change them.
func (s *Session) Header(name string) []string { return s.req.header(name) }

// Transport is the session's current transport.
func (s *Session) Transport() Transport {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.transport
}

// Closed reports whether the session is closed or closing.
func (s *Session) Closed() bool { return s.dead.Load() }

// Send queues one message. data must not change afterwards: it may be
// shared by many sessions. Text must be valid UTF-8 (it is not checked
// again on the way out).
//
// Sent while the session's own incoming messages are handled, the
// message may wait for the others they send (see SendFrom).
func (s *Session) Send(data []byte, binary bool) error {
	return s.SendAllFrom(s, Packet{Type: Message, Data: data, Binary: binary})
}

// SendAll queues messages together, so nothing comes between them.
func (s *Session) SendAll(packets ...Packet) error {
	return s.SendAllFrom(s, packets...)
}

// SendFrom is Send for a message that an incoming message of src caused
// (src may be nil). When several of src's WebSocket messages came in one
// read, the message waits until the handler of the last of them returns,
// then leaves in one write with everything else they sent s. A handler
// that sends and then waits for the client's reply could wait for ever:
// handlers send and return.
func (s *Session) SendFrom(src *Session, data []byte, binary bool) error {
	return s.SendAllFrom(src, Packet{Type: Message, Data: data, Binary: binary})
}

// SendAllFrom is SendAll for messages that src caused, as SendFrom.
func (s *Session) SendAllFrom(src *Session, packets ...Packet) error {
	for _, p := range packets {
		if p.Type != Message {
			return ErrNotMessage
		}
	}
	var b *writeBatch
	if src != nil {
		b = src.step.Load()
	}
	s.mu.Lock()
	err := s.enqueueLocked(b, packets...)
	s.mu.Unlock()
	if err == ErrQueueFull {
		s.srv.cfg.Logger.Info("engineio: closing slow client", "sid", s.id, "queue", s.srv.cfg.SendQueue)
		s.abort("send queue full", true)
	}
	return err
}

// enqueueLocked sends packets, holding them for b (nil: none) when it is
// open.
func (s *Session) enqueueLocked(b *writeBatch, packets ...Packet) error {
	if s.state != stateOpen {
		return ErrClosed
	}
	if s.out != nil {
		s.out(packets)
		return nil
	}
	if len(s.queue)+len(packets) > s.srv.cfg.SendQueue {
		return ErrQueueFull
	}
	if s.transport == WebSocket && !s.writing && !s.corked && len(s.queue) == 0 {
		if b == nil || !b.join(s) {
			// The usual case outside a read step: straight to the
			// socket, never queued.
			s.writeLocked(packets)
			return nil
		}
		s.corked = true
	}
	s.queue = append(s.queue, packets...)
	s.flushLocked()
	return nil
}

// flushLocked starts moving the queue to the client.
func (s *Session) flushLocked() {
	if s.transport == WebSocket {
		if !s.writing && !s.corked && len(s.queue) > 0 {
			batch := s.queue
			s.queue = nil
			s.writeLocked(batch)
		}
		return
	}
	s.wakePollLocked()
}

func (s *Session) wakePollLocked() {
	if s.wake != nil {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Close flushes what is queued, then closes the session. OnClose gets
// reason.
func (s *Session) Close(reason string) {
	s.mu.Lock()
	if s.state != stateOpen {
		s.mu.Unlock()
		return
	}
	s.state = stateClosing
	s.reason = reason
	s.dead.Store(true)
	if s.out != nil {
		// Nothing is queued: out has had everything.
		s.mu.Unlock()
		s.abort(reason, false)
		return
	}
	if s.transport == WebSocket {
		// What waits for a read step's batch goes first.
		s.corked = false
		s.flushLocked()
		done := !s.writing
		s.mu.Unlock()
		if done {
			s.abort(reason, false)
		}
		return
	}
	// Polling: the next GET gets what is queued, the one after it the
	// close packet (see poll); without them soon the client is gone anyway.
	s.wakePollLocked()
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(s.srv.cfg.PingTimeout, func() { s.abort(reason, true) })
	s.mu.Unlock()
}

// Abort closes the session at once, dropping what is queued.
func (s *Session) Abort(reason string) { s.abort(reason, true) }

// abort is the one way a session ends. hard skips the WebSocket close
// handshake (the peer may not be reading).
func (s *Session) abort(reason string, hard bool) {
	s.mu.Lock()
	if s.state == stateClosed {
		s.mu.Unlock()
		return
	}
	if s.reason != "" {
		reason = s.reason
	}
	s.state = stateClosed
	s.reason = reason
	s.dead.Store(true)
	s.queue = nil
	ws, probe := s.ws, s.probe
	s.probe = nil
	// A drain may be in the middle of a frame: no close frame then.
	hard = hard || s.writing
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.wakePollLocked()
	s.mu.Unlock()

	if probe != nil {
		probe.close()
	}
	if ws != nil {
		if hard {
			ws.close()
		} else {
			ws.closeWith(closeNormal)
		}
	}
	// Counted before the session leaves the table: once Shutdown sees the
	// table empty, every close goroutine is counted.
	s.srv.tasks.start()
	s.srv.remove(s)
	s.srv.perIP.Release(s.ip)
	go s.notifyClose(reason)
}

func (s *Session) notifyClose(reason string) {
	defer s.srv.tasks.done()
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			s.srv.cfg.Logger.Error("engineio: panic in OnClose", "sid", s.id, "panic", v)
		}
	}()
	if s.recv != nil {
		s.recv.OnClose(s, reason)
	}
	if s.closed != nil {
		s.closed(reason)
	}
}

// beat pings the session when due, or closes it when the pong is late.
func (s *Session) beat(now int64) {
	s.mu.Lock()
	if s.state != stateOpen || now < s.due {
		s.mu.Unlock()
		return
	}
	if s.awaitingPong {
		s.mu.Unlock()
		s.abort("ping timeout", true)
		return
	}
	s.awaitingPong = true
	// The pong is due PingTimeout after the ping was due, as with Node's
	// timers, not after the tick that sent it: the client was told
	// interval + timeout. A ping sent very late (a stalled process) still
	// leaves the client half the timeout.
	timeout := int64(s.srv.cfg.PingTimeout)
	s.due = max(s.due+timeout, now+timeout/2)
	err := s.enqueueLocked(nil, Packet{Type: Ping})
	s.mu.Unlock()
	if err == ErrQueueFull {
		s.abort("send queue full", true)
	}
}

// pongOverdue reports whether s waits for a pong whose deadline has passed,
// or for a ping that the heartbeat has not sent yet although the pong
// would be overdue already.
func (s *Session) pongOverdue(now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state != stateOpen {
		return false
	}
	if s.awaitingPong {
		return now >= s.due
	}
	return now >= s.due+int64(s.srv.cfg.PingTimeout)
}

// receive handles one packet from the client; the caller holds recvMu.
func (s *Session) receive(p Packet) {
	if s.dead.Load() {
		// Closing: only the client's close packet still matters, ending
		// the session without waiting for the close timer.
		if p.Type == Close {
			s.closeByClient()
		}
		return
	}
	switch p.Type {
	case Message:
		s.recv.OnMessage(s, p.Data, p.Binary)
	case Pong:
		s.mu.Lock()
		s.awaitingPong = false
		s.due = s.srv.now() + int64(s.srv.cfg.PingInterval)
		s.mu.Unlock()
	case Close:
		s.closeByClient()
	case Noop:
	default:
		// A v4 client never sends open, ping or upgrade here.
		s.srv.cfg.Logger.Debug("engineio: unexpected packet", "sid", s.id, "type", string(rune(p.Type)))
		s.abort("transport error", true)
	}
}

// closeByClient ends the session on the client's close packet. A GET the
// client has waiting gets a noop, as from Node's engine.io: the client is
// closing and needs no close packet of ours.
func (s *Session) closeByClient() {
	s.mu.Lock()
	s.clientClosed = true
	s.mu.Unlock()
	s.abort("transport close", false)
}

// writeLocked moves packets to the WebSocket on the caller's goroutine
// with non-blocking writes; what the socket does not take at once goes,
// with the packets after it, to a drain goroutine, so a slow client never
// blocks the caller. The caller holds s.mu, so writes keep their order.
func (s *Session) writeLocked(packets []Packet) {
	raw := s.ws.rawConn()
	if raw == nil {
		s.queue = append(s.queue, packets...)
		s.writing = true
		go s.drain(nil, nil)
		return
	}
	bp := framePool.Get().(*[]byte)
	buf := (*bp)[:0]
	for i, p := range packets {
		buf = appendFrame(buf, p)
		if len(buf) < maxFrameBatch && i < len(packets)-1 {
			continue
		}
		n := writeNonBlocking(raw, buf)
		if n < len(buf) {
			s.queue = append(s.queue, packets[i+1:]...)
			s.writing = true
			*bp = buf
			go s.drain(bp, buf[n:])
			return
		}
		buf = buf[:0]
	}
	putFrameBuffer(bp, buf)
}

// drain writes pending (the rest of a frame buffer bp, which it then
// owns), then the queue, with blocking writes until the queue is empty.
// It runs only while a client is slow to read, so idle sessions cost no
// goroutine.
func (s *Session) drain(bp *[]byte, pending []byte) {
	s.mu.Lock()
	conn := s.ws.netConn()
	s.mu.Unlock()
	if len(pending) > 0 {
		_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := conn.Write(pending)
		putFrameBuffer(bp, (*bp)[:0])
		if err != nil {
			s.abort("transport error", true)
			return
		}
	}
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if len(batch) == 0 || s.state == stateClosed {
			s.writing = false
			finish := s.state == stateClosing
			s.mu.Unlock()
			// Later non-blocking writes must not see an expired deadline.
			_ = conn.SetWriteDeadline(time.Time{})
			if finish {
				s.abort(s.reason, false)
			}
			return
		}
		s.mu.Unlock()
		if err := writeFrames(conn, batch); err != nil {
			s.abort("transport error", true)
			return
		}
	}
}

// writeTimeout bounds a blocking write to a slow client.
const writeTimeout = 10 * time.Second

// wsPong is a WebSocket pong frame in a session's queue (the answer to a
// client's ping); it never leaves the package.
const wsPong PacketType = 0

// framePool holds the buffers frames are built in.
var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func putFrameBuffer(bp *[]byte, buf []byte) {
	if bp != nil && cap(buf) <= 2*maxFrameBatch {
		*bp = buf[:0]
		framePool.Put(bp)
	}
}

// maxFrameBatch is about how many bytes one write carries; a larger frame
// goes alone.
const maxFrameBatch = 64 << 10

// writeFrames encodes packets as WebSocket frames and writes them with as
// few blocking writes as it can (one for a usual batch). Each write has a
// deadline: a client that does not read for writeTimeout is gone.
// With gws reading, the frames go beside it: gws only writes whole
// frames in one Write (close), which a net.Conn never interleaves with
// another Write, and its pongs go through the queue (onWebSocketPing).
func writeFrames(conn net.Conn, packets []Packet) error {
	bp := framePool.Get().(*[]byte)
	buf := (*bp)[:0]
	var err error
	for _, p := range packets {
		buf = appendFrame(buf, p)
		if len(buf) >= maxFrameBatch {
			if err = writeWithDeadline(conn, buf); err != nil {
				break
			}
			buf = buf[:0]
		}
	}
	if err == nil && len(buf) > 0 {
		err = writeWithDeadline(conn, buf)
	}
	putFrameBuffer(bp, buf)
	return err
}

func writeWithDeadline(conn net.Conn, b []byte) error {
	_ = conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := conn.Write(b)
	return err
}

// appendFrame appends p as one unmasked server frame: binary messages as
// they are, other packets as text led by their type.
func appendFrame(dst []byte, p Packet) []byte {
	if p.Type == wsPong {
		return appendControlFrame(dst, opPong, p.Data)
	}
	op, n := byte(0x1), len(p.Data)+1 // text: the type character first
	if p.Binary {
		op, n = 0x2, len(p.Data)
	}
	dst = append(dst, 0x80|op) // FIN
	switch {
	case n < 126:
		dst = append(dst, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	if !p.Binary {
		dst = append(dst, byte(p.Type))
	}
	return append(dst, p.Data...)
}
