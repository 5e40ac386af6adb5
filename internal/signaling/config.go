package signaling

import "time"

// Config holds the limits of the signaling service. The zero value of every
// field means the default given in its comment.
type Config struct {
	// MaxParticipants per room. Default 8.
	MaxParticipants int
	// MaxRooms in total. Default 10,000.
	MaxRooms int
	// MaxNameLen is the longest display name, in characters. Default 64.
	MaxNameLen int
	// MaxChatLen is the longest chat message, in characters. Default 2,000.
	MaxChatLen int
	// ChatHistory is how many chat messages a late joiner receives. Default 200.
	ChatHistory int
	// MaxEventBytes is the largest event payload accepted. Default 65,536.
	MaxEventBytes int
	// EventsPerSecond and EventBurst shape the per-socket token bucket.
	// Defaults 50 and 200 (a burst of ICE candidates fits).
	EventsPerSecond float64
	EventBurst      int
	// ReconnectGrace is how long a participant whose connection dropped
	// keeps its place. Default 30s.
	ReconnectGrace time.Duration
}
