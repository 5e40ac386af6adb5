// Package engineio is an Engine.IO v4 server: the transport layer under
// Socket.IO. It opens sessions over HTTP long-polling or WebSocket,
// upgrades polling sessions to WebSocket, keeps them alive with pings and
// delivers whole messages, text or binary, in order.
//
// It knows nothing of events, namespaces or rooms: a Receiver gets each
// message's bytes and the reason a session closed, and Session.Send queues
// bytes. Package socketio gives those bytes their meaning.
//
// Design for many idle connections: on Linux a plain (non-TLS) WebSocket
// is read event-driven (Config.ReadMode): the server does the RFC 6455
// handshake itself, registers the socket with one epoll poller, and runs
// a read step on a pooled worker only when bytes arrive, so an idle
// connection has no goroutine and no read buffer. TLS connections, other
// systems and ReadGoroutine use github.com/lxzan/gws, one read goroutine
// per connection. Writes go straight to the socket without blocking, on
// the sender's goroutine; only what a slow client does not take at once
// goes to a short-lived drain goroutine, behind a bounded queue. When one
// read brings several frames, what their handlers send a session leaves in
// one write once the last handler returns (see Session.SendFrom). One
// heartbeat goroutine per server pings every session.
package engineio
