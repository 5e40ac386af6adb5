package engineio

import (
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// wsConn is one WebSocket connection as a session sees it, whoever reads
// it: gws's read goroutine or the server's poller (event-driven reads).
// Writes of frames go straight to netConn (see writeFrames).
type wsConn interface {
	netConn() net.Conn
	// rawConn is the socket for non-blocking writes, nil when there is
	// none (TLS).
	rawConn() syscall.RawConn
	// close closes the connection at once.
	close()
	// closeWith sends a close frame with code, then closes.
	closeWith(code uint16)
}

// wantsEventDriven reports whether r's WebSocket is read by the poller.
func (srv *Server) wantsEventDriven(r *http.Request) bool {
	return srv.cfg.ReadMode == ReadEventDriven && r.TLS == nil && eventDrivenSupported
}

// acceptWebSocket completes the WebSocket handshake of r and sends first,
// frames that must lead (or nil). Reading starts with startReading.
func (srv *Server) acceptWebSocket(w http.ResponseWriter, r *http.Request, first []byte) (wsConn, error) {
	if srv.wantsEventDriven(r) {
		return srv.acceptEventDriven(w, r, first)
	}
	conn, err := srv.upgradeGWS(w, r)
	if err != nil {
		return nil, err
	}
	return acceptedGWS(conn, first)
}

// acceptedGWS sends first on a connection gws has upgraded.
func acceptedGWS(conn *gws.Conn, first []byte) (wsConn, error) {
	if len(first) > 0 {
		nc := conn.NetConn()
		if err := writeWithDeadline(nc, first); err != nil {
			_ = nc.Close()
			return nil, err
		}
		_ = nc.SetWriteDeadline(time.Time{})
	}
	return newGWSConn(conn), nil
}

// upgrade starts the probe of a polling session's WebSocket.
//
// A session has one WebSocket at most: "should [a client open another],
// the server MUST close the WebSocket connection", so a WebSocket with
// the sid of a session that is upgraded, probing or closing is opened and
// closed at once, as by Node's engine.io, and the session is not touched.
func (s *Session) upgrade(w http.ResponseWriter, r *http.Request) {
	if err := s.srv.checkHandshake(r); err != nil {
		s.srv.cfg.Logger.Debug("engineio: websocket upgrade refused", "sid", s.id, "err", err)
		writeError(w, codeBadRequest)
		return
	}
	conn, err := s.srv.acceptWebSocket(w, r, nil)
	if err != nil {
		s.srv.cfg.Logger.Debug("engineio: websocket upgrade failed", "sid", s.id, "err", err)
		return
	}
	s.mu.Lock()
	if s.state != stateOpen || s.transport != Polling || s.probe != nil {
		s.mu.Unlock()
		s.srv.cfg.Logger.Debug("engineio: extra websocket closed", "sid", s.id)
		conn.closeWith(closeNormal)
		return
	}
	s.probe = conn
	s.probed = false
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(s.srv.cfg.UpgradeTimeout, func() { s.dropProbe(conn) })
	s.mu.Unlock()
	startReading(conn, s)
}

func (s *Session) dropProbe(conn wsConn) {
	s.mu.Lock()
	mine := s.probe == conn
	if mine {
		s.probe = nil
	}
	s.mu.Unlock()
	if mine {
		conn.close()
	}
}

// onProbe handles the messages of a WebSocket that is not yet the session's
// transport: "2probe" then "5".
func (s *Session) onProbe(conn wsConn, data []byte, binary bool) {
	switch {
	case !binary && string(data) == "2probe":
		// One whole frame in one Write: nothing else writes to a probe.
		frame := appendFrame(nil, Packet{Type: Pong, Data: []byte("probe")})
		if _, err := conn.netConn().Write(frame); err != nil {
			s.dropProbe(conn)
			return
		}
		s.mu.Lock()
		s.probed = true
		// Make a waiting GET return so the client can pause polling.
		s.noop = true
		s.wakePollLocked()
		s.mu.Unlock()
	case !binary && string(data) == "5":
		s.mu.Lock()
		if s.probe != conn || !s.probed || s.state == stateClosed {
			s.mu.Unlock()
			s.dropProbe(conn)
			return
		}
		s.probe, s.ws, s.transport = nil, conn, WebSocket
		s.wakePollLocked()
		if s.state == stateClosing {
			// Close came while the upgrade was in flight. The client has
			// switched already and polls no more, so what was queued for
			// polling (typically a DISCONNECT) must go over the WebSocket,
			// then the WebSocket closes; as Node's engine.io, the upgrade
			// completes first. The close timer stays as the bound.
			if len(s.queue) == 0 {
				s.mu.Unlock()
				s.abort(s.reason, false)
				return
			}
		} else if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
		s.flushLocked()
		// Closing and all written already: the drain that would end the
		// session is not needed.
		done := s.state == stateClosing && !s.writing
		s.mu.Unlock()
		if done {
			s.abort(s.reason, false)
		}
	default:
		s.srv.cfg.Logger.Debug("engineio: bad upgrade packet", "sid", s.id)
		s.dropProbe(conn)
	}
}

// onWebSocketMessage handles a whole message read from conn.
func (s *Session) onWebSocketMessage(conn wsConn, data []byte, binary bool) {
	s.mu.Lock()
	isProbe := s.probe == conn
	s.mu.Unlock()
	if isProbe {
		s.onProbe(conn, data, binary)
		return
	}
	p := Packet{Type: Message, Data: data, Binary: true}
	if !binary {
		var err error
		if p, err = DecodePacket(data, false); err != nil {
			s.srv.cfg.Logger.Debug("engineio: bad packet", "sid", s.id, "err", err)
			s.abort("parse error", true)
			return
		}
	}
	s.recvMu.Lock()
	s.receive(p)
	s.recvMu.Unlock()
}

// onWebSocketPing answers a client's ping. On the transport the pong goes
// through the queue so that it never lands inside a frame being written.
func (s *Session) onWebSocketPing(conn wsConn, payload []byte) {
	s.mu.Lock()
	if s.ws == conn {
		_ = s.enqueueLocked(nil, Packet{Type: wsPong, Data: payload})
		s.mu.Unlock()
		return
	}
	s.mu.Unlock()
	_, _ = conn.netConn().Write(appendControlFrame(nil, opPong, payload))
}

// onWebSocketGone handles the end of conn's reading: the peer closed it,
// or it failed.
func (s *Session) onWebSocketGone(conn wsConn, reason string) {
	s.mu.Lock()
	if s.probe == conn {
		s.probe = nil
		s.mu.Unlock()
		conn.close()
		return
	}
	mine := s.ws == conn
	s.mu.Unlock()
	if mine {
		s.abort(reason, true)
	}
}

// mayWriteDirect reports whether a frame can be written to conn now
// without landing inside one the session is writing.
func (s *Session) mayWriteDirect(conn wsConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws != conn || !s.writing
}

// gwsConn is a WebSocket read by gws's goroutine (TLS, other systems, or
// ReadGoroutine). It is also gws's session storage, far smaller than
// gws's default map.
type gwsConn struct {
	s       *Session
	conn    *gws.Conn
	raw     syscall.RawConn
	watched *watchedConn // nil if gws reads the connection directly
}

func newGWSConn(conn *gws.Conn) *gwsConn {
	c := conn.Session().(*gwsConn)
	c.conn = conn
	nc := conn.NetConn()
	if wc, ok := nc.(*watchedConn); ok {
		wc.owner = c
		c.watched = wc
		nc = wc.Conn
	}
	if tc, ok := nc.(syscall.Conn); ok {
		if _, isTCP := nc.(*net.TCPConn); isTCP {
			if raw, err := tc.SyscallConn(); err == nil {
				c.raw = writeLockedRaw{raw}
			}
		}
	}
	return c
}

// writeLockedRaw is a gws connection's socket for non-blocking writes.
// Its Control holds the descriptor's write lock, as a blocking Write does:
// gws may write a frame (a close) with one at the same time.
type writeLockedRaw struct{ syscall.RawConn }

func (r writeLockedRaw) Control(f func(fd uintptr)) error {
	return r.RawConn.Write(func(fd uintptr) bool { f(fd); return true })
}

func (c *gwsConn) netConn() net.Conn        { return c.conn.NetConn() }
func (c *gwsConn) rawConn() syscall.RawConn { return c.raw }
func (c *gwsConn) close()                   { _ = c.conn.NetConn().Close() }
func (c *gwsConn) closeWith(code uint16)    { _ = c.conn.WriteClose(code, nil) }

func (*gwsConn) Len() int                     { return 1 }
func (*gwsConn) Load(string) (any, bool)      { return nil, false }
func (*gwsConn) Delete(string)                {}
func (*gwsConn) Store(string, any)            {}
func (*gwsConn) Range(func(string, any) bool) {}

// startReading starts reading conn for s.
func startReading(conn wsConn, s *Session) {
	switch c := conn.(type) {
	case *gwsConn:
		c.s = s
		go c.conn.ReadLoop()
	default:
		startEventDriven(conn, s)
	}
}

type wsHandler struct{ srv *Server }

func (wsHandler) OnOpen(*gws.Conn)         {}
func (wsHandler) OnPong(*gws.Conn, []byte) {}

func (wsHandler) OnPing(conn *gws.Conn, payload []byte) {
	c := conn.Session().(*gwsConn)
	if c.s != nil {
		c.s.onWebSocketPing(c, payload)
	}
}

func (wsHandler) OnClose(conn *gws.Conn, err error) {
	c := conn.Session().(*gwsConn)
	if c.s != nil {
		reason := "transport close"
		if c.watched != nil && c.watched.tooBig.Load() {
			reason = "transport error" // as the event-driven reader's
		}
		c.s.onWebSocketGone(c, reason)
	}
}

func (wsHandler) OnMessage(conn *gws.Conn, m *gws.Message) {
	c := conn.Session().(*gwsConn)
	if c.s == nil {
		return
	}
	// The buffer is not given back to gws's pool: receivers may keep it.
	c.s.onWebSocketMessage(c, m.Bytes(), m.Opcode == gws.OpcodeBinary)
}
