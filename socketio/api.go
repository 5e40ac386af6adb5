// Package socketio is a Socket.IO v5 server over Engine.IO v4 (WebSocket
// and HTTP long-polling), compatible with the official socket.io-client 4.x.
//
// Layering: package engineio moves whole messages over a session and knows
// nothing of events; this package parses those messages into CONNECT,
// EVENT, ACK... packets, hands each to the socket of its namespace (a
// client multiplexes the namespaces it connects over one session, see
// Server.Of), dispatches events to handlers and keeps each namespace's
// rooms as plain sets of sockets, knowing nothing of what a room means to
// the application (internal/signaling gives rooms their meaning).
//
// The package is importable on its own (Huddle's signaling imports it like
// any user would); the examples show a chat server, rooms, acks and
// namespaces.
package socketio

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/huddlehq/huddle/engineio"
)

// Server accepts Socket.IO connections. Its own On, OnAny, OnConnection,
// OnDisconnect, Use, To and Socket are those of the main namespace "/";
// Of gives the others. A CONNECT to a namespace that was never made with
// Of is refused with CONNECT_ERROR {"message":"Invalid namespace"}.
type Server struct {
	cfg    Config
	log    *slog.Logger
	engine *engineio.Server
	main   Namespace

	nmu  sync.RWMutex
	nsps map[string]*Namespace // the namespaces made by Of, "/" aside

	// pending counts sessions that have not connected a namespace yet
	// (nor ended).
	pending atomic.Int64
}

// Namespace is one Socket.IO namespace: its own handlers, middleware,
// sockets and rooms. A client multiplexes the namespaces it connects over
// one Engine.IO session, with one Socket (and socket id) in each.
type Namespace struct {
	srv  *Server
	name string
	// head is what leads the namespace's packets after their type and
	// attachment count: "" for "/", name otherwise (then a comma follows).
	head string

	hmu          sync.RWMutex // guards the handlers below
	middlewares  []func(sock *Socket, auth json.RawMessage) error
	onConnection func(sock *Socket)

	// handlers is shared by every socket; a change replaces the whole
	// table (under hmu), so events read it without a lock.
	handlers atomic.Pointer[handlerTable]

	mu      sync.RWMutex // guards sockets and rooms; taken after Socket.mu
	sockets map[string]*Socket
	rooms   map[string]map[*Socket]struct{}
}

func (n *Namespace) init(srv *Server, name string) {
	n.srv, n.name = srv, name
	if name != "/" {
		n.head = name
	}
	n.sockets = make(map[string]*Socket)
	n.rooms = make(map[string]map[*Socket]struct{})
	n.handlers.Store(&handlerTable{})
}

// NewServer returns a server; it starts no goroutine until the first request.
func NewServer(cfg Config) *Server {
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger}
	s.main.init(s, "/")
	s.engine = engineio.NewServer(engineio.Config{
		PingInterval: cfg.PingInterval,
		PingTimeout:  cfg.PingTimeout,
		MaxPayload:   cfg.MaxPayload,
		SendQueue:    cfg.SendQueue,
		CheckOrigin:  cfg.CheckOrigin,
		Logger:       cfg.Logger,

		MaxSessionsPerIP: cfg.MaxSessionsPerIP,
		ClientIP:         cfg.ClientIP,
		PollingIOTimeout: cfg.PollingIOTimeout,
	}, s.accept)
	return s
}

// ServeHTTP handles both transports under cfg.Path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != s.cfg.Path && p != strings.TrimSuffix(s.cfg.Path, "/") {
		http.NotFound(w, r)
		return
	}
	s.engine.ServeHTTP(w, r)
}

// Of returns the namespace name, made on first use, as io.of(name) in
// Node: "/" (or "") is the main namespace, and a name without its leading
// slash gets one. A namespace's name is in every packet of it, up to a
// comma, so a name with a comma panics.
func (s *Server) Of(name string) *Namespace {
	if !strings.HasPrefix(name, "/") {
		name = "/" + name
	}
	if name == "/" {
		return &s.main
	}
	if strings.IndexByte(name, ',') >= 0 {
		panic("socketio: namespace name with a comma: " + strconv.Quote(name))
	}
	s.nmu.Lock()
	defer s.nmu.Unlock()
	if n := s.nsps[name]; n != nil {
		return n
	}
	n := new(Namespace)
	n.init(s, name)
	if s.nsps == nil {
		s.nsps = make(map[string]*Namespace)
	}
	s.nsps[name] = n
	return n
}

// namespace finds the namespace a CONNECT names, nil if none was made.
func (s *Server) namespace(name string) *Namespace {
	if name == "/" {
		return &s.main
	}
	s.nmu.RLock()
	defer s.nmu.RUnlock()
	return s.nsps[name]
}

// namespaces lists every namespace, "/" first.
func (s *Server) namespaces() []*Namespace {
	s.nmu.RLock()
	defer s.nmu.RUnlock()
	list := make([]*Namespace, 0, 1+len(s.nsps))
	list = append(list, &s.main)
	for _, n := range s.nsps {
		list = append(list, n)
	}
	return list
}

// Name is the namespace's name, "/" for the main one.
func (n *Namespace) Name() string { return n.name }

// Use adds a check run on every CONNECT before OnConnection; a non-nil
// error refuses the connection with CONNECT_ERROR {"message": err.Error()}.
// auth is the CONNECT packet's payload (nil when absent).
func (n *Namespace) Use(fn func(sock *Socket, auth json.RawMessage) error) {
	n.hmu.Lock()
	n.middlewares = append(n.middlewares, fn)
	n.hmu.Unlock()
}

// OnConnection registers the handler run for each connected socket. It runs
// before any event of that socket is dispatched, so it can call On.
func (n *Namespace) OnConnection(fn func(sock *Socket)) {
	n.hmu.Lock()
	n.onConnection = fn
	n.hmu.Unlock()
}

// handlerTable is a namespace's handlers; never changed once published.
type handlerTable struct {
	named    map[string]EventHandler
	any      EventHandler
	onGone   []func(sock *Socket, reason string)
	hasNamed bool
}

// change publishes a modified copy of the handler table.
func (n *Namespace) change(fn func(t *handlerTable)) {
	n.hmu.Lock()
	defer n.hmu.Unlock()
	old := n.handlers.Load()
	t := &handlerTable{named: maps.Clone(old.named), any: old.any, onGone: slices.Clone(old.onGone)}
	if t.named == nil {
		t.named = make(map[string]EventHandler)
	}
	fn(t)
	t.hasNamed = len(t.named) > 0
	n.handlers.Store(t)
}

// On registers the handler of an event for every socket of the
// namespace: one table instead of a closure per socket and event. A
// handler a socket registers itself with Socket.On for the same event wins.
func (n *Namespace) On(event string, h EventHandler) {
	n.change(func(t *handlerTable) { t.named[event] = h })
}

// OnAny registers the handler for events that have no handler of their
// own, neither the socket's nor the namespace's; a socket's own OnAny wins.
func (n *Namespace) OnAny(h EventHandler) {
	n.change(func(t *handlerTable) { t.any = h })
}

// OnDisconnect registers fn, called once for every connected socket of the
// namespace when it is gone, after the socket's own OnDisconnect
// functions, with the same reason.
func (n *Namespace) OnDisconnect(fn func(sock *Socket, reason string)) {
	n.change(func(t *handlerTable) { t.onGone = append(t.onGone, fn) })
}

// handler finds the handler of event: the socket's own, then the
// namespace's, then the socket's catch-all, then the namespace's.
func (n *Namespace) handler(sock *Socket, event string) EventHandler {
	t := n.handlers.Load()
	h, own := sock.handlerLocked(event)
	if own != nil {
		return own
	}
	if t.hasNamed {
		if sh := t.named[event]; sh != nil {
			return sh
		}
	}
	if h != nil {
		return h
	}
	return t.any
}

// Socket returns the connected socket of the namespace with this id, or nil.
func (n *Namespace) Socket(id string) *Socket {
	n.mu.RLock()
	defer n.mu.RUnlock()
	return n.sockets[id]
}

// To starts a broadcast to every socket of the namespace in room.
func (n *Namespace) To(room string) *Broadcast {
	return &Broadcast{nsp: n, room: room}
}

// Use, OnConnection, On, OnAny, OnDisconnect, Socket and To of the server
// are those of the main namespace.

// Use is Of("/").Use.
func (s *Server) Use(fn func(sock *Socket, auth json.RawMessage) error) { s.main.Use(fn) }

// OnConnection is Of("/").OnConnection.
func (s *Server) OnConnection(fn func(sock *Socket)) { s.main.OnConnection(fn) }

// On is Of("/").On.
func (s *Server) On(event string, h EventHandler) { s.main.On(event, h) }

// OnAny is Of("/").OnAny.
func (s *Server) OnAny(h EventHandler) { s.main.OnAny(h) }

// OnDisconnect is Of("/").OnDisconnect.
func (s *Server) OnDisconnect(fn func(sock *Socket, reason string)) { s.main.OnDisconnect(fn) }

// Socket is Of("/").Socket.
func (s *Server) Socket(id string) *Socket { return s.main.Socket(id) }

// To is Of("/").To.
func (s *Server) To(room string) *Broadcast { return s.main.To(room) }

// sockets lists the connected sockets of every namespace.
func (s *Server) sockets() []*Socket {
	var list []*Socket
	for _, n := range s.namespaces() {
		n.mu.RLock()
		for _, sock := range n.sockets {
			list = append(list, sock)
		}
		n.mu.RUnlock()
	}
	return list
}

// Stats counts the sockets connected now, in every namespace, and the
// sessions that have connected none yet.
func (s *Server) Stats() Stats {
	var st Stats
	for _, sock := range s.sockets() {
		if sock.sess.Virtual() {
			st.Remote++
			continue
		}
		if sock.sess.Transport() == engineio.WebSocket {
			st.WebSocket++
		} else {
			st.Polling++
		}
	}
	st.Pending = int(s.pending.Load())
	return st
}

// Shutdown stops accepting sessions, ends every socket on the server side
// (its OnDisconnect handlers run with reason "server shutting down") and
// closes its transport after flushing what is queued, waiting until ctx is
// done at most. Like Node's io.close(), it sends no DISCONNECT packet: the
// client sees its transport close and reconnects by itself, to this address
// once a server answers there again.
func (s *Server) Shutdown(ctx context.Context) error {
	for _, sock := range s.sockets() {
		sock.close("server shutting down")
	}
	return s.engine.Shutdown(ctx)
}

// Stats is a snapshot of connection counts.
type Stats struct {
	Polling, WebSocket int // sockets by current transport
	// Pending is the Engine.IO sessions that have not completed a
	// Socket.IO CONNECT (yet): each holds memory and a slot of its
	// address's MaxSessionsPerIP until it connects or ConnectTimeout ends
	// it.
	Pending int
	// Remote is the sockets of clients another server relays here
	// (OpenRemote), counted in neither transport.
	Remote int
}

// Broadcast sends to the sockets of a namespace's room, less some.
type Broadcast struct {
	nsp    *Namespace
	room   string
	except []string
}

// Except leaves these socket ids out.
func (b *Broadcast) Except(ids ...string) *Broadcast {
	b.except = append(b.except, ids...)
	return b
}

// Emit encodes once and queues to each socket. Sockets that are gone or
// whose queue is full are skipped (the latter get disconnected).
func (b *Broadcast) Emit(event string, args ...any) error {
	p, err := encode(typeEvent, -1, &event, args, b.nsp.head)
	if err != nil {
		return err
	}
	n := b.nsp
	n.mu.RLock()
	members := n.rooms[b.room]
	list := make([]*Socket, 0, len(members)+1)
	for sock := range members {
		if !b.excluded(sock.id) {
			list = append(list, sock)
		}
	}
	if own := n.sockets[b.room]; own != nil && !b.excluded(own.id) {
		if _, dup := members[own]; !dup {
			list = append(list, own) // every socket is in the room of its own id
		}
	}
	n.mu.RUnlock()
	for _, sock := range list {
		_ = sock.sendFrom(sock, p) // as Send, but p has the namespace already
	}
	return nil
}

func (b *Broadcast) excluded(id string) bool {
	for _, x := range b.except {
		if x == id {
			return true
		}
	}
	return false
}

// Packet is an event encoded once, to be sent to many sockets. It names
// no namespace: Socket.Send puts it on the socket's.
type Packet struct {
	data        []byte // the Socket.IO packet, without the Engine.IO type
	attachments [][]byte
}

// EncodeEvent encodes an event for Send and Broadcast. Args are marshalled
// with encoding/json, except json.RawMessage args, copied as they are: they
// must be valid JSON (an Event's Args are).
func EncodeEvent(event string, args ...any) (*Packet, error) {
	return encode(typeEvent, -1, &event, args, "")
}

// StartEvent begins the packet of event with one argument that the caller
// appends itself, as JSON: it returns the head of the packet in a buffer
// with room for argSize more bytes. FinishEvent ends it. The whole packet
// is one buffer, where EncodeEvent copies the argument again.
func StartEvent(event string, argSize int) []byte {
	buf := make([]byte, 0, len(event)+argSize+8)
	buf = append(buf, typeEvent, '[')
	buf = appendJSONString(buf, event)
	return append(buf, ',')
}

// FinishEvent ends a packet that StartEvent began and the caller appended
// exactly one valid JSON value to. The buffer must not change afterwards.
func FinishEvent(buf []byte) *Packet {
	return &Packet{data: append(buf, ']')}
}

// EventHandler handles one event.
type EventHandler func(s *Socket, e *Event)

// Event is one EVENT or BINARY_EVENT received from a client.
type Event struct {
	Name string
	// Args are the JSON arguments after the name. In a binary event the
	// placeholders {"_placeholder":true,"num":N} stay in place.
	Args        []json.RawMessage
	Attachments [][]byte

	sock  *Socket
	ackID int64 // -1: no ack asked
	acked atomic.Bool
}

// HasAck reports whether the client asked for an acknowledgement.
func (e *Event) HasAck() bool { return e.ackID >= 0 }

// Ack answers the client's acknowledgement; it is a no-op without one and
// after the first call. It may be called later, from any goroutine.
func (e *Event) Ack(args ...any) error {
	if e.ackID < 0 || e.acked.Swap(true) {
		return nil
	}
	p, err := encode(typeAck, e.ackID, nil, args, e.sock.nsp.head)
	if err != nil {
		return err
	}
	return e.sock.sendFrom(e.sock, p)
}
