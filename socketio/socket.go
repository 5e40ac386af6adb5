package socketio

import (
	"encoding/json"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/huddlehq/huddle/engineio"
)

// Socket is one client connected on one namespace. Its methods are safe
// for concurrent use.
type Socket struct {
	nsp  *Namespace
	conn *conn
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
}

type namedHandler struct {
	name string
	h    EventHandler
}

// ID is the Socket.IO socket id (not the Engine.IO session id). A client
// has one per namespace it connects.
func (s *Socket) ID() string { return s.id }

// Namespace is the namespace the socket is connected to.
func (s *Socket) Namespace() *Namespace { return s.nsp }

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
	p, err := encode(typeEvent, -1, &event, args, s.nsp.head)
	if err != nil {
		return err
	}
	return s.sendFrom(s, p)
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
	p, err := encode(typeEvent, id, &event, args, s.nsp.head)
	if err == nil {
		err = s.sendFrom(s, p)
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
	if s.nsp.head != "" {
		// Not the main namespace: a copy that names it.
		p = &Packet{data: inNamespace(p.data, s.nsp.head), attachments: p.attachments}
	}
	return s.sendFrom(from, p)
}

// sendFrom is SendFrom for a packet in s's namespace already.
func (s *Socket) sendFrom(from *Socket, p *Packet) error {
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
	n := s.nsp
	n.mu.Lock()
	members := n.rooms[room]
	if members == nil {
		members = make(map[*Socket]struct{})
		n.rooms[room] = members
	}
	members[s] = struct{}{}
	n.mu.Unlock()
}

// Leave removes the socket from room.
func (s *Socket) Leave(room string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range s.rooms {
		if r == room {
			s.rooms = append(s.rooms[:i], s.rooms[i+1:]...)
			s.nsp.mu.Lock()
			s.nsp.leaveLocked(s, room)
			s.nsp.mu.Unlock()
			return
		}
	}
}

func (n *Namespace) leaveLocked(s *Socket, room string) {
	members := n.rooms[room]
	delete(members, s)
	if len(members) == 0 {
		delete(n.rooms, room)
	}
}

// Disconnect sends DISCONNECT to the client and closes the socket. The
// OnDisconnect functions run before it returns, with the reason
// "server namespace disconnect". The client's other namespaces stay
// connected; with none left, the session closes too.
func (s *Socket) Disconnect() { s.disconnect("server namespace disconnect") }

var disconnectPacket = &Packet{data: []byte{typeDisconnect}}

func (s *Socket) disconnect(reason string) {
	s.mu.Lock()
	connected := s.connected
	s.mu.Unlock()
	if connected {
		p := disconnectPacket
		if s.nsp.head != "" {
			p = &Packet{data: appendNamespace([]byte{typeDisconnect}, s.nsp.head)}
		}
		_ = s.sendFrom(s, p)
	}
	s.close(reason)
	if s.conn.idle() {
		s.sess.Close(reason)
	}
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
	s.connected = false
	fns := s.onGone
	s.onGone, s.acks, s.handlers, s.anyEvent = nil, nil, nil, nil
	if wasConnected {
		n := s.nsp
		n.mu.Lock()
		for _, room := range s.rooms {
			n.leaveLocked(s, room)
		}
		if n.sockets[s.id] == s {
			delete(n.sockets, s.id)
		}
		n.mu.Unlock()
	}
	s.rooms = nil
	s.mu.Unlock()
	s.conn.forget(s, wasConnected)
	for _, fn := range fns {
		s.safely("disconnect handler", func() { fn(reason) })
	}
	if wasConnected {
		for _, fn := range s.nsp.handlers.Load().onGone {
			s.safely("disconnect handler", func() { fn(s, reason) })
		}
	}
}

// safely runs fn, turning a panic into a log line and the end of this
// socket only.
func (s *Socket) safely(what string, fn func()) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			s.nsp.srv.log.Error("socketio: handler panicked", "in", what, "socket", s.id, "nsp", s.nsp.name, "panic", v, "stack", string(debug.Stack()))
			s.sess.Abort("server error")
			ok = false
		}
	}()
	fn()
	return true
}

// conn is one Engine.IO session: the sockets of the namespaces its client
// connects over it. The engine delivers a session's messages and its close
// one at a time, so what only OnMessage and OnClose touch needs no lock.
type conn struct {
	// first is the first socket of "/", made with the connection: the
	// usual client connects "/" alone, and then costs one allocation.
	// Its nsp and sess are set from the start: conn reads the server and
	// the session there.
	first Socket

	// partial is a binary packet waiting for its attachments (OnMessage
	// only).
	partial *pendingBinary

	mu sync.Mutex
	// others are the sockets of the other namespaces, by name, and of "/"
	// when it is not first (mainMoved).
	others        map[string]*Socket
	timer         *time.Timer // connect timeout, until a first CONNECT succeeds
	live          int32       // connected sockets
	connectedOnce bool
	closed        bool
	// mainMoved says the socket of "/" is in others: the client left "/"
	// and connected it again. Written under mu by OnMessage, which alone
	// reads it without mu. (No pointer to the socket of "/" here: conn
	// keeps the size class of the Socket that was a connection before
	// namespaces, 208 bytes.)
	mainMoved bool
}

type pendingBinary struct {
	p     packet
	parts [][]byte
	size  int
}

func (c *conn) srv() *Server { return c.first.nsp.srv }

// accept makes the conn of a new Engine.IO session; it waits for CONNECT.
// ConnectTimeout counts for the session, not per namespace: as in Node,
// the first namespace connected ends it.
func (srv *Server) accept(sess *engineio.Session) engineio.Receiver {
	c := &conn{}
	c.first.nsp, c.first.conn, c.first.sess = &srv.main, c, sess
	srv.pending.Add(1)
	c.timer = time.AfterFunc(srv.cfg.ConnectTimeout, c.connectTimeout)
	return c
}

func (c *conn) connectTimeout() {
	c.mu.Lock()
	late := !c.connectedOnce && !c.closed
	c.mu.Unlock()
	if late {
		c.first.sess.Abort("connect timeout")
	}
}

// socketFor is the socket of namespace name on this connection, or nil.
// Only OnMessage calls it.
func (c *conn) socketFor(name string) *Socket {
	if name == "/" && !c.mainMoved {
		if c.first.id == "" {
			return nil // no CONNECT yet
		}
		return &c.first
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.others[name]
}

// newSocket makes the socket of n on this connection (OnMessage only).
func (c *conn) newSocket(n *Namespace) *Socket {
	s := &c.first
	if n.name != "/" || s.id != "" {
		s = &Socket{nsp: n, conn: c, sess: c.first.sess}
	}
	if s == &c.first && s.sess.Virtual() {
		s.id = s.sess.ID() // a remote client keeps its id (OpenRemote)
	} else {
		s.id = engineio.NewID()
	}
	if s == &c.first {
		return s
	}
	c.mu.Lock()
	if n.name == "/" {
		c.mainMoved = true
	}
	if c.others == nil {
		c.others = make(map[string]*Socket, 1)
	}
	c.others[n.name] = s
	c.mu.Unlock()
	return s
}

// connected counts a socket that has just connected.
func (c *conn) connected() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.live++
	if !c.connectedOnce && !c.closed {
		c.connectedOnce = true
		c.srv().pending.Add(-1)
		if c.timer != nil {
			c.timer.Stop()
			c.timer = nil
		}
	}
}

// forget takes a socket that has ended off the connection.
func (c *conn) forget(s *Socket, wasConnected bool) {
	c.mu.Lock()
	if wasConnected {
		c.live--
	}
	if c.others[s.nsp.name] == s {
		delete(c.others, s.nsp.name)
	}
	c.mu.Unlock()
}

// idle reports whether no socket is connected on the connection.
func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live == 0
}

func (c *conn) OnClose(_ *engineio.Session, reason string) {
	c.partial = nil
	c.mu.Lock()
	c.closed = true
	if !c.connectedOnce {
		c.srv().pending.Add(-1)
	}
	if c.timer != nil {
		c.timer.Stop()
		c.timer = nil
	}
	var others []*Socket
	if len(c.others) > 0 {
		others = make([]*Socket, 0, len(c.others))
		for _, s := range c.others {
			others = append(others, s)
		}
	}
	c.mu.Unlock()
	if c.first.id != "" {
		c.first.close(reason) // a no-op if gone already (mainMoved)
	}
	for _, s := range others {
		s.close(reason)
	}
}

func (c *conn) OnMessage(_ *engineio.Session, data []byte, binary bool) {
	if err := c.onMessage(data, binary); err != nil {
		c.srv().log.Debug("socketio: closing on bad packet", "session", c.first.sess.ID(), "err", err)
		c.first.sess.Abort("parse error")
	}
}

func (c *conn) onMessage(data []byte, binary bool) error {
	if binary {
		b := c.partial
		if b == nil {
			return ErrUnexpectedData
		}
		b.size += len(data)
		if b.size > c.srv().cfg.MaxPayload {
			return ErrTooMuchData
		}
		b.parts = append(b.parts, data)
		if len(b.parts) == b.p.attachments {
			c.partial = nil
			c.dispatch(&b.p, b.parts)
		}
		return nil
	}
	if c.partial != nil {
		return ErrAttachments // text while attachments were expected
	}
	p, err := decodePacket(data)
	if err != nil {
		return err
	}
	if (p.typ == typeBinaryEvent || p.typ == typeBinaryAck) && p.attachments > 0 {
		c.partial = &pendingBinary{p: p} // a copy: p itself stays off the heap
		return nil
	}
	c.dispatch(&p, nil)
	return nil
}

// dispatch hands a whole packet to the socket of its namespace.
func (c *conn) dispatch(p *packet, attachments [][]byte) {
	s := c.socketFor(p.nsp)
	if p.typ == typeConnect {
		c.connect(s, p)
		return
	}
	if s == nil {
		c.srv().log.Debug("socketio: packet for a namespace not connected", "session", c.first.sess.ID(), "nsp", p.nsp)
		return
	}
	s.dispatch(p, attachments)
}

// connect handles a CONNECT for the namespace whose socket is s (nil if
// none yet).
func (c *conn) connect(s *Socket, p *packet) {
	n := c.srv().namespace(p.nsp)
	if n == nil {
		msg := appendNamespace([]byte{typeConnectError}, p.nsp)
		msg = append(msg, `{"message":"Invalid namespace"}`...)
		_ = c.first.sess.Send(msg, false)
		return
	}
	if s == nil || s.isGone() {
		s = c.newSocket(n)
	}
	s.connect(p.data)
}

func (s *Socket) isGone() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
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
			s.nsp.srv.log.Debug("socketio: ack with unknown id", "socket", s.id, "id", p.id)
			return
		}
		s.safely("ack handler", func() { fn(p.args) })
	}
}

func (s *Socket) connect(auth json.RawMessage) {
	s.mu.Lock()
	skip := s.connected || s.gone
	s.mu.Unlock()
	n := s.nsp
	if skip {
		n.srv.log.Debug("socketio: CONNECT again ignored", "socket", s.id, "nsp", n.name)
		return
	}
	n.hmu.RLock()
	mws, onConn := n.middlewares, n.onConnection
	n.hmu.RUnlock()
	for _, mw := range mws {
		var err error
		if !s.safely("middleware", func() { err = mw(s, auth) }) {
			return
		}
		if err != nil {
			msg, _ := json.Marshal(map[string]string{"message": err.Error()})
			reply := appendNamespace([]byte{typeConnectError}, n.head)
			_ = s.sess.Send(append(reply, msg...), false)
			return
		}
	}
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.connected = true
	n.mu.Lock()
	n.sockets[s.id] = s
	n.mu.Unlock()
	s.mu.Unlock()
	s.conn.connected()
	// The socket's own room (its id) is implicit: Broadcast finds it in
	// the namespace's sockets, so no room set is kept per socket for it.
	reply := make([]byte, 0, 40+len(n.head))
	reply = append(reply, typeConnect)
	reply = appendNamespace(reply, n.head)
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
		s.nsp.srv.log.Debug("socketio: event before CONNECT ignored", "socket", s.id)
		return
	}
	h := s.nsp.handler(s, p.name)
	s.mu.Unlock()
	if h == nil {
		s.nsp.srv.log.Debug("socketio: no handler", "socket", s.id, "event", p.name)
		return
	}
	e := &Event{Name: p.name, Args: p.args, Attachments: attachments, sock: s, ackID: p.id}
	s.safely(p.name, func() { h(s, e) })
}
