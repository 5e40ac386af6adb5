package socketio

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"
)

// Config tunes the Engine.IO / Socket.IO server. The zero value of every
// field means the default given in its comment, which matches the Node.js
// socket.io 4.x server.
type Config struct {
	// Path the server answers on. Default "/socket.io/".
	Path string
	// PingInterval is how often the server pings a client. Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long the server waits for a pong. Default 20s.
	PingTimeout time.Duration
	// MaxPayload is the largest WebSocket message or polling request body
	// accepted, in bytes. Default 1,000,000 (as socket.io's maxHttpBufferSize).
	MaxPayload int
	// SendQueue is how many packets may wait for a slow client before the
	// server gives up on it and closes the connection. Default 1024.
	SendQueue int
	// CheckOrigin decides whether a request's Origin may open a session.
	// Nil allows every origin.
	CheckOrigin func(r *http.Request) bool
	// ConnectTimeout closes a session that has not completed a Socket.IO
	// CONNECT this long after its handshake (socket.io's connectTimeout).
	// Default 10s, where Node's is 45s: the official client sends CONNECT
	// right after the open packet, one round trip later, so a real client
	// needs well under a second; a session that never connects only holds
	// memory and one of its address's MaxSessionsPerIP slots.
	ConnectTimeout time.Duration
	// MaxSessionsPerIP caps the Engine.IO sessions one client address holds
	// at once, connected or not (see engineio.Config). Default 64;
	// negative means no limit.
	MaxSessionsPerIP int
	// ClientIP is the address a request is counted by (see
	// engineio.Config). Nil means the host of RemoteAddr.
	ClientIP func(r *http.Request) netip.Addr
	// PollingIOTimeout bounds a polling request's body read and response
	// write (see engineio.Config). Zero means the engine's default.
	PollingIOTimeout time.Duration
	// Logger receives connection-level logs. Nil means slog.Default().
	Logger *slog.Logger
}

// DefaultConnectTimeout is Config.ConnectTimeout's default.
const DefaultConnectTimeout = 10 * time.Second

func (c Config) withDefaults() Config {
	if c.Path == "" {
		c.Path = "/socket.io/"
	}
	// PingInterval, PingTimeout and SendQueue are passed to the engine,
	// which fills their defaults; MaxPayload is also read here (binary
	// attachments), so it gets the engine's default here too.
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
