package rooms

// Lookup returns the room with this id, or nil when there is none. The
// signaling layer uses it to tell a room's host about events that happened
// outside the room (failed password attempts) and to see the host's name
// before a join.
func (g *Registry) Lookup(id string) *Room {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rooms[id]
}
