package config

import (
	"time"

	"github.com/huddlehq/huddle/internal/signaling"
)

func registerSignaling(fs *flagSet, c *signaling.Config) {
	fs.Int(&c.MaxParticipants, "max-participants", 8, "participants per room")
	fs.Int(&c.MaxRooms, "max-rooms", 10_000, "rooms in total")
	fs.Int(&c.MaxNameLen, "max-name-len", 64, "longest display name, in characters")
	fs.Int(&c.MaxChatLen, "max-chat-len", 2000, "longest chat message, in characters")
	fs.Int(&c.ChatHistory, "chat-history", 200, "chat messages kept for late joiners")
	fs.Int(&c.MaxEventBytes, "max-event-bytes", 65536, "largest signaling event payload, in bytes")
	fs.Float(&c.EventsPerSecond, "events-per-second", 50, "sustained signaling events per second per socket")
	fs.Int(&c.EventBurst, "event-burst", 200, "burst of signaling events per socket")
	fs.Duration(&c.ReconnectGrace, "reconnect-grace", 30*time.Second, "how long a dropped participant keeps its place")
}
