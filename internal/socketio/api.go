// Package socketio is a Socket.IO v5 server over Engine.IO v4 (WebSocket
// and HTTP long-polling), compatible with the official socket.io-client 4.x.
//
// CONTRACT (written before the implementation): the exported names and
// signatures in this file are used by internal/signaling and internal/server.
// The implementation may move them to other files but must keep them.
package socketio

import (
	"context"
	"encoding/json"
	"net/http"
)

// Server accepts Socket.IO connections on the main namespace "/". Other
// namespaces are refused with CONNECT_ERROR.
type Server struct{}

// NewServer returns a server; it starts no goroutine until the first request.
func NewServer(cfg Config) *Server { panic("TODO") }

// ServeHTTP handles both transports under cfg.Path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { panic("TODO") }

// Use adds a check run on every CONNECT before OnConnection; a non-nil
// error refuses the connection with CONNECT_ERROR {"message": err.Error()}.
// auth is the CONNECT packet's payload (nil when absent).
func (s *Server) Use(fn func(sock *Socket, auth json.RawMessage) error) { panic("TODO") }

// OnConnection registers the handler run for each connected socket. It runs
// before any event of that socket is dispatched, so it can call On.
func (s *Server) OnConnection(fn func(sock *Socket)) { panic("TODO") }

// Socket returns the connected socket with this id, or nil.
func (s *Server) Socket(id string) *Socket { panic("TODO") }

// To starts a broadcast to every socket in room.
func (s *Server) To(room string) *Broadcast { panic("TODO") }

// Stats counts the sockets connected now.
func (s *Server) Stats() Stats { panic("TODO") }

// Shutdown stops accepting sessions, sends every socket a DISCONNECT and
// closes its transport, waiting until ctx is done at most.
func (s *Server) Shutdown(ctx context.Context) error { panic("TODO") }

// Stats is a snapshot of connection counts.
type Stats struct {
	Polling, WebSocket int // sockets by current transport
}

// Socket is one client connected on the main namespace. Its methods are
// safe for concurrent use.
type Socket struct{}

// ID is the Socket.IO socket id (not the Engine.IO session id).
func (s *Socket) ID() string { panic("TODO") }

// Request is the HTTP request that opened the session (headers, remote
// address, query). Do not read its body.
func (s *Socket) Request() *http.Request { panic("TODO") }

// Transport is "polling" or "websocket".
func (s *Socket) Transport() string { panic("TODO") }

// On registers the handler of an event. Events of one socket are dispatched
// one at a time, in the order the client sent them.
func (s *Socket) On(event string, h EventHandler) { panic("TODO") }

// OnAny registers the handler for events that have no handler of their own.
func (s *Socket) OnAny(h EventHandler) { panic("TODO") }

// OnDisconnect registers fn, called once when the socket is gone, with the
// reason ("client namespace disconnect", "transport close", "ping timeout",
// "server shutting down", ...).
func (s *Socket) OnDisconnect(fn func(reason string)) { panic("TODO") }

// Emit sends an event. Args are marshalled with encoding/json; a []byte arg
// is sent as a binary attachment. An error means the socket is closed or its
// send queue is full (then it is being disconnected).
func (s *Socket) Emit(event string, args ...any) error { panic("TODO") }

// EmitWithAck sends an event and calls ack with the client's reply.
func (s *Socket) EmitWithAck(ack func(args []json.RawMessage), event string, args ...any) error {
	panic("TODO")
}

// Send queues a packet encoded once with EncodeEvent (for fan-out).
func (s *Socket) Send(p *Packet) error { panic("TODO") }

// Join and Leave change the socket's rooms; every socket is also in the
// room named by its own id.
func (s *Socket) Join(room string)  { panic("TODO") }
func (s *Socket) Leave(room string) { panic("TODO") }

// Disconnect sends DISCONNECT to the client and closes the socket.
func (s *Socket) Disconnect() { panic("TODO") }

// Set and Get keep one application value with the socket.
func (s *Socket) Set(v any) { panic("TODO") }
func (s *Socket) Get() any  { panic("TODO") }

// Event is one EVENT or BINARY_EVENT received from a client.
type Event struct {
	Name string
	// Args are the JSON arguments after the name. In a binary event the
	// placeholders {"_placeholder":true,"num":N} stay in place.
	Args        []json.RawMessage
	Attachments [][]byte
}

// HasAck reports whether the client asked for an acknowledgement.
func (e *Event) HasAck() bool { panic("TODO") }

// Ack answers the client's acknowledgement; it is a no-op without one and
// after the first call.
func (e *Event) Ack(args ...any) error { panic("TODO") }

// EventHandler handles one event.
type EventHandler func(s *Socket, e *Event)

// Packet is an event encoded once, to be sent to many sockets.
type Packet struct{}

// EncodeEvent encodes an event for Send and Broadcast.
func EncodeEvent(event string, args ...any) (*Packet, error) { panic("TODO") }

// Broadcast sends to the sockets of a room, less some.
type Broadcast struct{}

// Except leaves these socket ids out.
func (b *Broadcast) Except(ids ...string) *Broadcast { panic("TODO") }

// Emit encodes once and queues to each socket.
func (b *Broadcast) Emit(event string, args ...any) error { panic("TODO") }
