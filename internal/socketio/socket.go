package socketio

import (
	"encoding/json"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/engineio"
)

// Socket is one client connected on the main namespace. Its methods are
// safe for concurrent use.
type Socket struct {
	srv  *Server
	sess *engineio.Session
	id   string

	mu        sync.Mutex
	connected bool
	gone      bool
	handlers  []namedHandler // a short slice is smaller than a map
	anyEvent  EventHandler
	onGone    []func(reason string)
	acks      map[int64]func(args []json.RawMessage)
	nextAck   int64
	rooms     []string
	value     any
	timer     *time.Timer // connect timeout

	// A binary packet waiting for its attachments; only the goroutine
	// delivering this session's messages touches these.
	partial   *packet
	parts     [][]byte
	partBytes int
}

type namedHandler struct {
	name string
	h    EventHandler
}

// ID is the Socket.IO socket id (not the Engine.IO session id).
func (s *Socket) ID() string { return s.id }

// Request is the HTTP request that opened the session (headers, remote
// address, query). Do not read its body.
func (s *Socket) Request() *http.Request { return s.sess.Request() }

// RemoteAddr is Request().RemoteAddr, without building the request.
func (s *Socket) RemoteAddr() string { return s.sess.RemoteAddr() }

// Header is Request().Header.Values(name) for a canonical name, without
// building the request.
func (s *Socket) Header(name string) []string { return s.sess.Header(name) }

// Transport is "polling" or "websocket".
func (s *Socket) Transport() string { return s.sess.Transport().String() }

// On registers the handler of an event. Events of one socket are dispatched
// one at a time, in the order the client sent them.
func (s *Socket) On(event string, h EventHandler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.handlers {
		if s.handlers[i].name == event {
			s.handlers[i].h = h
			return
		}
	}
	s.handlers = append(s.handlers, namedHandler{event, h})
}

// OnAny registers the handler for events that have no handler of their own.
func (s *Socket) OnAny(h EventHandler) {
	s.mu.Lock()
	s.anyEvent = h
	s.mu.Unlock()
}

// OnDisconnect registers fn, called once when the socket is gone, with the
// reason ("client namespace disconnect", "transport close", "ping timeout",
// "server shutting down", ...). When the socket is already gone, fn is not
// called.
func (s *Socket) OnDisconnect(fn func(reason string)) {
	s.mu.Lock()
	if !s.gone {
		s.onGone = append(s.onGone, fn)
	}
	s.mu.Unlock()
}

// Emit sends an event. Args are encoded as by EncodeEvent; a []byte arg
// is sent as a binary attachment. An error means the socket is closed or its
// send queue is full (then it is being disconnected).
func (s *Socket) Emit(event string, args ...any) error {
	p, err := EncodeEvent(event, args...)
	if err != nil {
		return err
	}
	return s.Send(p)
}

// EmitWithAck sends an event and calls ack with the client's reply. ack is
// never called if the socket goes away first.
func (s *Socket) EmitWithAck(ack func(args []json.RawMessage), event string, args ...any) error {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return ErrSocketClosed
	}
	id := s.nextAck
	s.nextAck++
	if s.acks == nil {
		s.acks = make(map[int64]func([]json.RawMessage))
	}
	s.acks[id] = ack
	s.mu.Unlock()
	p, err := encode(typeEvent, id, &event, args)
	if err == nil {
		err = s.Send(p)
	}
	if err != nil {
		s.mu.Lock()
		delete(s.acks, id)
		s.mu.Unlock()
	}
	return err
}

// Send queues a packet encoded once with EncodeEvent (for fan-out).
// Sent from one of s's own handlers, it may wait for the others they send
// (see SendFrom).
func (s *Socket) Send(p *Packet) error { return s.SendFrom(s, p) }

// SendFrom is Send for a packet that an event of from caused (from may be
// nil). When several of from's events came in one read, it leaves when the
// handler of the last returns, in one write with everything else their
// handlers sent s. Handlers send and return: one that waits for a reply
// to what it sent could wait for ever.
func (s *Socket) SendFrom(from *Socket, p *Packet) error {
	if s.sess.Closed() {
		return ErrSocketClosed
	}
	var src *engineio.Session
	if from != nil {
		src = from.sess
	}
	var err error
	if len(p.attachments) == 0 {
		err = s.sess.SendFrom(src, p.data, false)
	} else {
		msgs := make([]engineio.Packet, 0, 1+len(p.attachments))
		msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: p.data})
		for _, a := range p.attachments {
			msgs = append(msgs, engineio.Packet{Type: engineio.Message, Data: a, Binary: true})
		}
		err = s.sess.SendAllFrom(src, msgs...)
	}
	if err == engineio.ErrClosed {
		return ErrSocketClosed
	}
	return err
}

// Join and Leave change the socket's rooms; every socket is also in the
// room named by its own id. Join does nothing before the socket is
// connected (in a Use function) or after it is gone.
func (s *Socket) Join(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone || !s.connected || room == s.id {
		return
	}
	for _, r := range s.rooms {
		if r == room {
			return
		}
	}
	s.rooms = append(s.rooms, room)
	s.srv.mu.Lock()
	members := s.srv.rooms[room]
	if members == nil {
		members = make(map[*Socket]struct{})
		s.srv.rooms[room] = members
	}
	members[s] = struct{}{}
	s.srv.mu.Unlock()
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rooms {
		if r == room {
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			s.srv.mu.Lock()
			s.srv.leaveLocked(s, room)
			s.srv.mu.Unlock()
			return
		}
	}
}

func (srv *Server) leaveLocked(s *Socket, room string) {
	members := srv.rooms[room]
	delete(members, s)
	if len(members) == 0 {
		delete(srv.rooms, room)
	}
}

// Disconnect sends DISCONNECT to the client and closes the socket. The
// OnDisconnect functions run before it returns, with the reason
// "server namespace disconnect".
func (s *Socket) Disconnect() { s.disconnect("server namespace disconnect") }

var disconnectPacket = []byte{typeDisconnect}

func (s *Socket) disconnect(reason string) {
	s.mu.Lock()
	connected := s.connected
	s.mu.Unlock()
	if connected {
		_ = s.sess.Send(disconnectPacket, false)
	}
	s.close(reason)
	s.sess.Close(reason)
}

// Set and Get keep one application value with the socket.
func (s *Socket) Set(v any) {
	s.mu.Lock()
	s.value = v
	s.mu.Unlock()
}

// Get returns the value given to Set.
func (s *Socket) Get() any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// close ends the socket once: it leaves every room, forgets pending acks
// and runs the OnDisconnect functions.
func (s *Socket) close(reason string) {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.gone = true
	wasConnected := s.connected
	if !wasConnected {
		s.srv.pending.Add(-1)
	}
	s.connected = false
	fns := s.onGone
	s.onGone, s.acks, s.handlers, s.anyEvent = nil, nil, nil, nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if wasConnected {
		s.srv.mu.Lock()
		for _, room := range s.rooms {
			s.srv.leaveLocked(s, room)
		}
		if s.srv.sockets[s.id] == s {
			delete(s.srv.sockets, s.id)
		}
		s.srv.mu.Unlock()
	}
	s.rooms = nil
	s.mu.Unlock()
	for _, fn := range fns {
		s.safely("disconnect handler", func() { fn(reason) })
	}
	if wasConnected {
		for _, fn := range s.srv.handlers.Load().onGone {
			s.safely("disconnect handler", func() { fn(s, reason) })
		}
	}
}

// safely runs fn, turning a panic into a log line and the end of this
// socket only.
func (s *Socket) safely(what string, fn func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			s.srv.log.Error("socketio: handler panicked", "in", what, "socket", s.id, "panic", v, "stack", string(debug.Stack()))
			s.sess.Abort("server error")
			ok = false
		}
	}()
	fn()
	return true
}

// accept makes the Socket of a new Engine.IO session; it waits for CONNECT.
func (srv *Server) accept(sess *engineio.Session) engineio.Receiver {
	s := &Socket{srv: srv, sess: sess, id: engineio.NewID()}
	srv.pending.Add(1)
	s.timer = time.AfterFunc(srv.cfg.ConnectTimeout, func() {
		s.mu.Lock()
		late := !s.connected && !s.gone
		s.mu.Unlock()
		if late {
			sess.Abort("connect timeout")
		}
	})
	return (*receiver)(s)
}

// receiver is the engineio side of a Socket, kept off Socket's method set.
type receiver Socket

func (r *receiver) OnClose(_ *engineio.Session, reason string) {
	s := (*Socket)(r)
	s.partial, s.parts = nil, nil
	s.close(reason)
}

func (r *receiver) OnMessage(_ *engineio.Session, data []byte, binary bool) {
	s := (*Socket)(r)
	if err := s.onMessage(data, binary); err != nil {
		s.srv.log.Debug("socketio: closing on bad packet", "socket", s.id, "err", err)
		s.sess.Abort("parse error")
	}
}

func (s *Socket) onMessage(data []byte, binary bool) error {
	if binary {
		if s.partial == nil {
			return ErrUnexpectedData
		}
		s.partBytes += len(data)
		if s.partBytes > s.srv.cfg.MaxPayload {
			return ErrTooMuchData
		}
		s.parts = append(s.parts, data)
		if len(s.parts) == s.partial.attachments {
			p, parts := s.partial, s.parts
			s.partial, s.parts, s.partBytes = nil, nil, 0
			s.dispatch(p, parts)
		}
		return nil
	}
	if s.partial != nil {
		return ErrAttachments // text while attachments were expected
	}
	p, err := decodePacket(data)
	if err != nil {
		return err
	}
	if p.nsp != "/" {
		if p.typ == typeConnect {
			msg := append([]byte{typeConnectError}, p.nsp...)
			msg = append(msg, `,{"message":"Invalid namespace"}`...)
			_ = s.sess.Send(msg, false)
		} else {
			s.srv.log.Debug("socketio: packet for an unknown namespace", "socket", s.id, "nsp", p.nsp)
		}
		return nil
	}
	if (p.typ == typeBinaryEvent || p.typ == typeBinaryAck) && p.attachments > 0 {
		pending := p // a copy: p itself stays off the heap
		s.partial = &pending
		return nil
	}
	s.dispatch(&p, nil)
	return nil
}

func (s *Socket) dispatch(p *packet, attachments [][]byte) {
	switch p.typ {
	case typeConnect:
		s.connect(p.data)
	case typeDisconnect:
		s.close("client namespace disconnect")
	case typeEvent, typeBinaryEvent:
		s.event(p, attachments)
	case typeAck, typeBinaryAck:
		s.mu.Lock()
		fn := s.acks[p.id]
		delete(s.acks, p.id)
		s.mu.Unlock()
		if fn == nil {
			s.srv.log.Debug("socketio: ack with unknown id", "socket", s.id, "id", p.id)
			return
		}
		s.safely("ack handler", func() { fn(p.args) })
	}
}

func (s *Socket) connect(auth json.RawMessage) {
	s.mu.Lock()
	skip := s.connected || s.gone
	s.mu.Unlock()
	if skip {
		s.srv.log.Debug("socketio: CONNECT again ignored", "socket", s.id)
		return
	}
	s.srv.hmu.RLock()
	mws, onConn := s.srv.middlewares, s.srv.onConnection
	s.srv.hmu.RUnlock()
	for _, mw := range mws {
		var err error
		if !s.safely("middleware", func() { err = mw(s, auth) }) {
			return
		}
		if err != nil {
			msg, _ := json.Marshal(map[string]string{"message": err.Error()})
			_ = s.sess.Send(append([]byte{typeConnectError}, msg...), false)
			return
		}
	}
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.connected = true
	s.srv.pending.Add(-1)
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.srv.mu.Lock()
	s.srv.sockets[s.id] = s
	s.srv.mu.Unlock()
	s.mu.Unlock()
	// The socket's own room (its id) is implicit: Broadcast finds it in
	// srv.sockets, so no room set is kept per socket for it.
	reply := make([]byte, 0, 40)
	reply = append(reply, typeConnect)
	reply = append(reply, `{"sid":`...)
	reply = strconv.AppendQuote(reply, s.id)
	_ = s.sess.Send(append(reply, '}'), false)
	if onConn != nil {
		s.safely("connection handler", func() { onConn(s) })
	}
}

// handlerLocked returns the socket's own handler of event and its
// catch-all; the caller holds s.mu.
func (s *Socket) handlerLocked(event string) (anyEvent, own EventHandler) {
	for _, nh := range s.handlers {
		if nh.name == event {
			return s.anyEvent, nh.h
		}
	}
	return s.anyEvent, nil
}

func (s *Socket) event(p *packet, attachments [][]byte) {
	s.mu.Lock()
	if !s.connected {
		s.mu.Unlock()
		s.srv.log.Debug("socketio: event before CONNECT ignored", "socket", s.id)
		return
	}
	h := s.srv.handler(s, p.name)
	s.mu.Unlock()
	if h == nil {
		s.srv.log.Debug("socketio: no handler", "socket", s.id, "event", p.name)
		return
	}
	e := &Event{Name: p.name, Args: p.args, Attachments: attachments, sock: s, ackID: p.id}
	s.safely(p.name, func() { h(s, e) })
}
