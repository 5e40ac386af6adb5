package media

import "github.com/huddlehq/huddle/internal/sfu"

// Stats returns the SFU's figures of each member of a room that has a
// peer in the SFU now, by participant id: nothing for a mesh room, where
// media never passes the server. For the admin dashboard; read-only.
func (m *Manager) Stats(roomID string) map[string]sfu.PeerStats {
	m.mu.Lock()
	r := m.rooms[roomID]
	var members []*member
	if r != nil {
		members = append(members, r.members...)
	}
	m.mu.Unlock()
	out := map[string]sfu.PeerStats{}
	for _, mem := range members {
		mem.peerMu.Lock()
		p := mem.peer
		mem.peerMu.Unlock()
		if p != nil {
			out[mem.id] = p.Stats()
		}
	}
	return out
}
