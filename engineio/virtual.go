package engineio

import (
	"errors"
	"math"
	"net/http"
)

// Virtual sessions stand for a client whose connection is held by another
// server: a cluster node relays the client's messages here (Deliver) and
// what this server sends it back (the out function). The session has no
// transport and no heartbeat of its own (the relaying server's session has
// them); it ends with Close, Abort or the server's Shutdown, and its
// Receiver sees it as any other session.

// ErrSessionExists is returned by OpenVirtual for an id in use.
var ErrSessionExists = errors.New("engineio: session id in use")

// OpenVirtual makes a virtual session for a client whose opening request
// was r (its headers and remote address are what Request, Header and
// RemoteAddr report) and whose real transport is transport. out gets the
// messages the session sends, in order, each call with what one send
// queued together (a binary Socket.IO packet and its attachments); it is
// called with the session's lock held, so it must not block or call back
// into the session. id is the session's id (empty: a new one): the
// relaying server's id for its client, so that the client is known by one
// id on both. closed (may be nil) is called once when the session
// has ended, after its Receiver's OnClose, with the reason. The session is not counted against MaxSessionsPerIP:
// the relaying server counted the client.
func (srv *Server) OpenVirtual(r *http.Request, id string, transport Transport, out func(packets []Packet), closed func(reason string)) (*Session, error) {
	srv.mu.Lock()
	down := srv.closed
	taken := id != "" && srv.sessions[id] != nil
	srv.mu.Unlock()
	if down {
		return nil, ErrShuttingDown
	}
	if taken {
		return nil, ErrSessionExists
	}
	if id == "" {
		id = newID()
	}
	s := &Session{srv: srv, id: id, req: keepRequest(r), transport: transport, out: out, closed: closed}
	// Never due: the heartbeat skips it.
	s.due = math.MaxInt64 / 2
	s.recv = srv.accept(s)
	if !srv.add(s) {
		s.abort("server shutting down", true)
		return nil, ErrShuttingDown
	}
	return s, nil
}

// Deliver hands the session a message from its client, as if it came over
// a transport. It is a no-op on a session that is not virtual or is
// closed. Calls must not overlap (the relay delivers one at a time, in
// order).
func (s *Session) Deliver(data []byte, binary bool) {
	if s.out == nil {
		return
	}
	s.recvMu.Lock()
	defer s.recvMu.Unlock()
	s.receive(Packet{Type: Message, Data: data, Binary: binary})
}

// Virtual reports whether the session is virtual (see OpenVirtual).
func (s *Session) Virtual() bool { return s.out != nil }
