// Package engineio is an Engine.IO v4 server: the transport layer under
// Socket.IO. It opens sessions over HTTP long-polling or WebSocket (on
// github.com/lxzan/gws), upgrades polling sessions to WebSocket, keeps them
// alive with pings and delivers whole messages, text or binary, in order.
//
// It knows nothing of events, namespaces or rooms: a Receiver gets each
// message's bytes and the reason a session closed, and Session.Send queues
// bytes. Package socketio gives those bytes their meaning.
//
// Design for many idle connections: a WebSocket session has no goroutine of
// its own besides gws's read loop; writes go through a bounded queue drained
// by a short-lived goroutine only while there is something to write, and one
// heartbeat goroutine per server pings every session.
package engineio
