package config

import (
	"time"

	"github.com/huddlehq/huddle/engineio"
	"github.com/huddlehq/huddle/socketio"
)

func registerEngine(fs *flagSet, c *socketio.Config) {
	fs.Duration(&c.PingInterval, "ping-interval", 25*time.Second, "Engine.IO ping interval")
	fs.Duration(&c.PingTimeout, "ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	fs.Int(&c.MaxPayload, "max-payload", 1_000_000, "largest WebSocket message or polling body, in bytes")
	fs.Int(&c.SendQueue, "send-queue", 1024, "packets queued for a slow client before it is disconnected")
	fs.Duration(&c.ConnectTimeout, "connect-timeout", socketio.DefaultConnectTimeout,
		"time a session may take from its handshake to its Socket.IO CONNECT before it is closed")
	fs.Int(&c.MaxSessionsPerIP, "max-sessions-per-ip", engineio.DefaultMaxSessionsPerIP,
		"Engine.IO sessions one client IP address may hold at once, connected or not (0: no limit)")
}

// settleEngine checks the engine's flags and turns them into
// socketio.Config's terms, where zero means the default.
func settleEngine(c *socketio.Config) error {
	switch {
	case c.ConnectTimeout <= 0:
		return invalid("--connect-timeout must be positive")
	case c.MaxSessionsPerIP < 0:
		return invalid("--max-sessions-per-ip must not be negative")
	case c.MaxSessionsPerIP == 0:
		c.MaxSessionsPerIP = -1 // no limit
	}
	return nil
}
