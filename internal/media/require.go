package media

import "github.com/huddlehq/huddle/internal/sfu"

// Require keeps a room in the SFU while on: a server recording needs every
// track to pass through the server, so a mesh room moves to the SFU at
// once (the usual seamless move), and stays there until every Require(on)
// is matched by a Require(off), after which the policy decides again. A
// room with a member whose client cannot use the SFU cannot be required:
// ErrNotCapable. An unknown room: ErrNotInSFU.
func (m *Manager) Require(roomID string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	if r == nil {
		if on {
			return ErrNotInSFU
		}
		return nil // the meeting ended first
	}
	if !on {
		r.required = max(0, r.required-1)
		m.decideLocked(r)
		return nil
	}
	for _, mem := range r.members {
		if !mem.capable {
			return ErrNotCapable
		}
	}
	r.required++
	m.decideLocked(r)
	return nil
}

// AddSink sends a room's SFU tracks to s (a recording) until remove.
func (m *Manager) AddSink(roomID string, s sfu.Sink) (remove func()) {
	return m.sfu.Room(roomID).AddSink(s)
}
