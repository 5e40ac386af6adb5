package media

import (
	"errors"

	"golang.org/x/time/rate"
)

// ErrNegotiationRate refuses a publish, subscribe or leave of a member
// that renegotiates faster than Config.NegotiationsPerSecond allows.
var ErrNegotiationRate = errors.New("media: too many renegotiations")

// A renegotiation costs the server far more than the signaling event
// that asks for it (an SDP to parse, transceivers to set up, for a
// subscribe two peer connections with their sockets and goroutines), so
// it has a bucket of its own, beside the socket's event rate: a browser
// renegotiates when it starts or stops sending something, a few times a
// minute at most.

// allowNegotiation takes a token of the member's renegotiation bucket.
func (m *Manager) allowNegotiation(mem *member) error {
	mem.mu.Lock()
	defer mem.mu.Unlock()
	// Made on first use: most members of most rooms (a mesh) never
	// renegotiate with the server, and a limiter costs ~100 bytes.
	if mem.negotiations == nil {
		mem.negotiations = rate.NewLimiter(rate.Limit(m.cfg.NegotiationsPerSecond), m.cfg.NegotiationBurst)
	}
	if !mem.negotiations.Allow() {
		return ErrNegotiationRate
	}
	return nil
}
