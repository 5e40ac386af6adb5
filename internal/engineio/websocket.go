package engineio

import (
	"net/http"
	"time"

	"github.com/lxzan/gws"
)

// slot is the gws session storage: it holds only the Engine.IO session, far
// smaller than gws's default map.
type slot struct{ s *Session }

func (*slot) Len() int                     { return 1 }
func (*slot) Load(string) (any, bool)      { return nil, false }
func (*slot) Delete(string)                {}
func (*slot) Store(string, any)            {}
func (*slot) Range(func(string, any) bool) {}
func sessionOf(c *gws.Conn) *Session       { return c.Session().(*slot).s }

// upgrade starts the probe of a polling session's WebSocket.
func (s *Session) upgrade(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ok := s.state == stateOpen && s.transport == Polling && s.probe == nil
	s.mu.Unlock()
	if !ok {
		writeError(w, codeBadRequest)
		return
	}
	conn, err := s.srv.upgrader.Upgrade(w, r)
	if err != nil {
		s.srv.cfg.Logger.Debug("engineio: websocket upgrade failed", "sid", s.id, "err", err)
		return
	}
	conn.Session().(*slot).s = s
	s.mu.Lock()
	if s.state != stateOpen || s.transport != Polling || s.probe != nil {
		s.mu.Unlock()
		_ = conn.NetConn().Close()
		return
	}
	s.probe = conn
	s.probed = false
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(s.srv.cfg.UpgradeTimeout, func() { s.dropProbe(conn) })
	s.mu.Unlock()
	go conn.ReadLoop()
}

func (s *Session) dropProbe(conn *gws.Conn) {
	s.mu.Lock()
	mine := s.probe == conn
	if mine {
		s.probe = nil
	}
	s.mu.Unlock()
	if mine {
		_ = conn.NetConn().Close()
	}
}

// onProbe handles the messages of a WebSocket that is not yet the session's
// transport: "2probe" then "5".
func (s *Session) onProbe(conn *gws.Conn, data []byte, binary bool) {
	switch {
	case !binary && string(data) == "2probe":
		if err := conn.WriteString("3probe"); err != nil {
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
		s.mu.Unlock()
	default:
		s.srv.cfg.Logger.Debug("engineio: bad upgrade packet", "sid", s.id)
		s.dropProbe(conn)
	}
}

type wsHandler struct{ srv *Server }

func (wsHandler) OnOpen(*gws.Conn)         {}
func (wsHandler) OnPong(*gws.Conn, []byte) {}
func (wsHandler) OnPing(c *gws.Conn, _ []byte) {
	_ = c.WritePong(nil)
}

func (wsHandler) OnClose(c *gws.Conn, err error) {
	s := sessionOf(c)
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.probe == c {
		s.probe = nil
		s.mu.Unlock()
		return
	}
	mine := s.ws == c
	s.mu.Unlock()
	if mine {
		s.abort("transport close", true)
	}
}

func (wsHandler) OnMessage(c *gws.Conn, m *gws.Message) {
	s := sessionOf(c)
	if s == nil {
		return
	}
	// The buffer is not given back to gws's pool: receivers may keep it.
	data, binary := m.Bytes(), m.Opcode == gws.OpcodeBinary
	s.mu.Lock()
	isProbe := s.probe == c
	s.mu.Unlock()
	if isProbe {
		s.onProbe(c, data, binary)
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
