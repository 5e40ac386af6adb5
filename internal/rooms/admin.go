package rooms

import (
	"sort"
	"time"
)

// What the server API (internal/api, through internal/signaling) needs of
// rooms: list and describe them, create one ahead with its settings, end
// one, take someone out, change settings, all without a host asking.

// ErrRoomExists refuses to create a room that exists.
var ErrRoomExists = &Error{Code: "room-exists", Message: "a meeting with this id exists"}

// Rooms returns every room, sorted by id.
func (g *Registry) Rooms() []*Room {
	g.mu.Lock()
	out := make([]*Room, 0, len(g.rooms))
	for _, r := range g.rooms {
		out = append(out, r)
	}
	g.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Create makes an empty room with settings that stays until End, however
// often it empties. expires is recorded for View (zero: none); ending the
// room then is the caller's business.
func (g *Registry) Create(id string, s Settings, expires time.Time) (*Room, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rooms[id] != nil {
		return nil, ErrRoomExists
	}
	if len(g.rooms) >= g.cfg.MaxRooms {
		return nil, ErrTooManyRooms
	}
	r := &Room{id: id, reg: g, settings: s, pinned: true, created: g.now(), expires: expires}
	g.rooms[id] = r
	return r, nil
}

// End takes everyone out of the room (members and waiting room) and
// forgets it. It returns who left with their departures, in leaving order,
// the last one's Ended set.
func (g *Registry) End(r *Room) []Leaver {
	r.mu.Lock()
	r.pinned = false
	people := append(append([]*Participant{}, r.members...), r.waiting...)
	var out []Leaver
	for _, p := range people {
		sock := p.sock
		d := r.leaveLocked(p)
		d.Socket = sock
		out = append(out, Leaver{p, d})
	}
	r.mu.Unlock()
	ended := g.dropIfEmpty(r)
	if n := len(out); n > 0 {
		out[n-1].Departure.Ended = ended
	}
	return out
}

// Leaver is one participant taken out by End, and what its leaving changed.
type Leaver struct {
	Participant *Participant
	Departure   Departure
}

// Evict takes a member or a waiting participant out without a host asking.
func (r *Room) Evict(id string) (*Participant, Departure, error) {
	r.mu.Lock()
	p := r.member(id)
	if p == nil {
		for _, w := range r.waiting {
			if w.ID == id {
				p = w
			}
		}
	}
	if p == nil {
		r.mu.Unlock()
		return nil, Departure{}, ErrUnknownPeer
	}
	sock := p.sock
	d := r.leaveLocked(p)
	r.mu.Unlock()
	d.Ended = r.reg.dropIfEmpty(r)
	d.Socket = sock
	return p, d, nil
}

// View is a room as the server API shows it.
type View struct {
	ID           string
	Host         string
	Members      []PeerInfo
	Waiting      []PeerInfo
	Settings     SettingsView
	MaxPeople    int
	Pinned       bool
	Created      time.Time // zero unless created ahead
	Expires      time.Time // zero: no expiry
	ChatMessages int
}

// View describes the room.
func (r *Room) View() View {
	r.mu.Lock()
	defer r.mu.Unlock()
	v := View{ID: r.id, Host: r.hostID(), Settings: r.settingsView(), MaxPeople: r.capacity(true),
		Pinned: r.pinned, Created: r.created, Expires: r.expires, ChatMessages: len(r.chat),
		Members: []PeerInfo{}, Waiting: []PeerInfo{}}
	for _, p := range r.members {
		v.Members = append(v.Members, p.info())
	}
	for _, p := range r.waiting {
		v.Waiting = append(v.Waiting, p.info())
	}
	return v
}

// ConfigureAsServer applies a settings patch without a host asking.
func (r *Room) ConfigureAsServer(patch SettingsPatch) SettingsView {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applySettings(patch)
	return r.settingsView()
}

// HostParticipant returns the host, or nil in an empty room.
func (r *Room) HostParticipant() *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members) == 0 {
		return nil
	}
	return r.members[0]
}
