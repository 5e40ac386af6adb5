package engineio

import (
	"io"
	"net/http"
	"time"
)

var okBody = []byte("ok")

// poll answers a long-polling GET with what is queued, waiting for
// something to send when the queue is empty.
func (s *Session) poll(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.transport != Polling {
		s.mu.Unlock()
		writeError(w, codeBadRequest)
		return
	}
	if s.pollBusy {
		// Node closes the session too: two GETs mean a confused client.
		s.mu.Unlock()
		s.srv.cfg.Logger.Debug("engineio: overlapping GET", "sid", s.id)
		writeError(w, codeBadRequest)
		s.abort("transport error", true)
		return
	}
	s.pollBusy = true
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	for len(s.queue) == 0 && !s.noop && s.state == stateOpen && s.transport == Polling {
		if !s.waitLocked(r, nil) {
			return
		}
	}
	if s.noop && len(s.queue) == 0 && s.probe != nil && s.state == stateOpen {
		// The probe was answered. A GET the client had waiting is what it
		// waits for before it sends the upgrade packet, so it gets its
		// noop; but a client that sent its GET with the upgrade packet
		// (the protocol's suite does) is upgraded before the GET is
		// answered, whichever of the two connections was read first. As
		// Node's engine.io, the noop waits a moment (its first check
		// comes after 100 ms).
		t := time.NewTimer(probeNoopDelay)
		ok := s.waitLocked(r, t.C)
		t.Stop()
		if !ok {
			return
		}
	}
	if s.transport != Polling {
		// Upgraded while this GET waited: the session is on its
		// WebSocket, and a polling request gets 400 as after the upgrade
		// (a client that follows the protocol has no GET waiting when it
		// sends the upgrade packet).
		s.pollBusy = false
		s.mu.Unlock()
		writeError(w, codeBadRequest)
		return
	}
	batch := s.queue
	s.queue = nil
	s.pollBusy = false
	// The close packet goes alone, once the queue is flushed: the official
	// client handles a payload's close packet before the messages beside
	// it reach the application, and would report "transport close"
	// instead of, say, the DISCONNECT just before.
	ending := s.state != stateOpen && len(batch) == 0
	if len(batch) == 0 {
		if ending && !s.clientClosed {
			batch = []Packet{{Type: Close}}
		} else {
			batch = []Packet{{Type: Noop}}
		}
	}
	s.noop = false
	s.mu.Unlock()

	if err := s.srv.respond(w, http.StatusOK, EncodePayload(batch)); err != nil {
		// The client did not take what was taken from the queue: the
		// session cannot go on without a gap.
		s.abort("transport error", true)
		return
	}
	if ending {
		s.abort("", false)
	}
}

// probeNoopDelay is how long a GET waits for the upgrade packet once the
// probe is answered, before it gets its noop.
const probeNoopDelay = 100 * time.Millisecond

// waitLocked waits, with s.mu unlocked meanwhile, for a wake of the GET r
// or for timeout (nil: none). False means the client went away: the
// session is closed and s.mu no longer held.
func (s *Session) waitLocked(r *http.Request, timeout <-chan time.Time) bool {
	s.mu.Unlock()
	select {
	case <-s.wake:
	case <-timeout:
	case <-r.Context().Done():
		s.mu.Lock()
		s.pollBusy = false
		s.mu.Unlock()
		s.abort("transport close", true)
		return false
	}
	s.mu.Lock()
	return true
}

// post reads packets sent by the client and delivers them in order.
func (s *Session) post(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	// A closing session still reads: the client's close packet ends it.
	if s.state == stateClosed || s.transport != Polling {
		s.mu.Unlock()
		writeError(w, codeBadRequest)
		return
	}
	if s.postBusy {
		s.mu.Unlock()
		writeError(w, codeBadRequest)
		s.abort("transport error", true)
		return
	}
	s.postBusy = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.postBusy = false
		s.mu.Unlock()
	}()

	limit := int64(s.srv.cfg.MaxPayload)
	if r.ContentLength > limit {
		writeText(w, http.StatusRequestEntityTooLarge, []byte("payload too large"))
		s.abort("transport error", true)
		return
	}
	body, err := s.srv.readBody(w, r, limit+1)
	if err != nil {
		s.srv.cfg.Logger.Debug("engineio: polling body not read", "sid", s.id, "err", err)
		s.abort("transport error", true)
		return
	}
	if int64(len(body)) > limit {
		writeText(w, http.StatusRequestEntityTooLarge, []byte("payload too large"))
		s.abort("transport error", true)
		return
	}
	packets, err := DecodePayload(body)
	if err != nil {
		s.srv.cfg.Logger.Debug("engineio: bad polling payload", "sid", s.id, "err", err)
		writeError(w, codeBadRequest)
		s.abort("parse error", true)
		return
	}
	s.recvMu.Lock()
	for _, p := range packets {
		s.receive(p)
	}
	s.recvMu.Unlock()
	// Not busy before the answer leaves: a client may send its next POST
	// the moment it has the answer, and would find this one still busy
	// (and the session closed as overlapping) if the flag waited for the
	// deferred reset.
	s.mu.Lock()
	s.postBusy = false
	s.mu.Unlock()
	_ = s.srv.respond(w, http.StatusOK, okBody)
}

// readBody reads up to limit bytes of r's body within PollingIOTimeout.
// When the whole body is read the deadline is lifted again: later requests
// on the connection must not inherit it. Otherwise it stays, so that
// net/http, which reads what is left of a body before the next request,
// gives up at once and closes the connection.
func (srv *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(srv.cfg.PollingIOTimeout)) // not every writer can: then unbounded
	body, err := io.ReadAll(io.LimitReader(r.Body, limit))
	if err == nil && int64(len(body)) < limit {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return body, err
}

// respond writes a polling response and sends it within
// PollingIOTimeout; the error says it did not leave. The write deadline
// is lifted again afterwards: net/http does not reset it between requests
// of a connection.
func (srv *Server) respond(w http.ResponseWriter, status int, body []byte) error {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Now().Add(srv.cfg.PollingIOTimeout))
	writeText(w, status, body)
	err := rc.Flush()
	if err == nil {
		_ = rc.SetWriteDeadline(time.Time{})
	}
	return err
}
