package socketio

import (
	"log/slog"
	"net/http"
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
	// Logger receives connection-level logs. Nil means slog.Default().
	Logger *slog.Logger
}

// connectTimeout is how long a session may stay without CONNECT (as Node).
const connectTimeout = 45 * time.Second

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
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}
