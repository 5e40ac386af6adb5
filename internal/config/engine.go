package config

import (
	"time"

	"github.com/huddlehq/huddle/internal/socketio"
)

func registerEngine(fs *flagSet, c *socketio.Config) {
	fs.Duration(&c.PingInterval, "ping-interval", 25*time.Second, "Engine.IO ping interval")
	fs.Duration(&c.PingTimeout, "ping-timeout", 20*time.Second, "Engine.IO ping timeout")
	fs.Int(&c.MaxPayload, "max-payload", 1_000_000, "largest WebSocket message or polling body, in bytes")
	fs.Int(&c.SendQueue, "send-queue", 1024, "packets queued for a slow client before it is disconnected")
}
