package media

import (
	"errors"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// Joined records a new member of a room. capable says whether its client
// asked for the SFU events. It returns the room's mode for the join ack.
func (m *Manager) Joined(roomID, id string, conn Conn, capable bool) Mode {
	m.mu.Lock()
	r := m.rooms[roomID]
	if r == nil {
		r = &room{id: roomID, mode: Mesh}
		m.rooms[roomID] = r
	}
	if old := r.find(id); old != nil {
		old.setConn(conn)
		mode := r.mode
		m.mu.Unlock()
		return mode
	}
	r.members = append(r.members, &member{id: id, capable: capable, conn: conn})
	mode := m.decideLocked(r)
	m.mu.Unlock()
	return mode
}

func (mem *member) setConn(c Conn) {
	mem.mu.Lock()
	mem.conn = c
	mem.mu.Unlock()
}

// Left forgets a member for good: its tracks go from everyone.
func (m *Manager) Left(roomID, id string) {
	m.mu.Lock()
	r := m.rooms[roomID]
	var mem *member
	if r != nil {
		mem = r.remove(id)
	}
	if mem == nil {
		m.mu.Unlock()
		return
	}
	if len(r.members) == 0 {
		if r.meshTimer != nil {
			r.meshTimer.Stop()
		}
		delete(m.rooms, roomID)
		delete(m.policies, roomID) // the meeting is over
	} else {
		m.decideLocked(r)
	}
	m.mu.Unlock()
	mem.closePeer()
}

func (mem *member) closePeer() {
	mem.peerMu.Lock()
	p := mem.peer
	mem.peer = nil
	mem.peerMu.Unlock()
	if p != nil {
		p.Close()
	}
}

// Mode returns a room's mode now (Mesh for an unknown room).
func (m *Manager) Mode(roomID string) Mode {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[roomID]; r != nil {
		return r.mode
	}
	return Mesh
}

// want is the mode a room should have now, by policy and membership.
func (m *Manager) want(r *room) Mode {
	for _, mem := range r.members {
		if !mem.capable {
			return Mesh // a client that cannot follow keeps everyone in the mesh
		}
	}
	if r.required > 0 {
		return SFU // a recording needs every track through the server
	}
	policy := m.cfg.Mode
	if p, ok := m.policies[r.id]; ok {
		policy = p
	}
	switch policy {
	case SFU:
		return SFU
	case Mesh:
		return Mesh
	}
	if len(r.members) >= m.cfg.SFUFrom {
		return SFU
	}
	return Mesh
}

// decideLocked moves r to the mode it should have, at once towards the
// SFU and after MeshAfter back to the mesh. m.mu is held.
func (m *Manager) decideLocked(r *room) Mode {
	want := m.want(r)
	if want == r.mode {
		if r.meshTimer != nil {
			r.meshTimer.Stop()
			r.meshTimer = nil
		}
		return r.mode
	}
	if want == SFU {
		m.switchLocked(r, SFU)
		return SFU
	}
	if r.meshTimer == nil {
		r.meshTimer = time.AfterFunc(m.cfg.MeshAfter, func() { m.meshTimerFired(r) })
	}
	return r.mode
}

func (m *Manager) meshTimerFired(r *room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rooms[r.id] != r {
		return
	}
	r.meshTimer = nil
	if m.want(r) == Mesh && r.mode != Mesh {
		m.switchLocked(r, Mesh)
	}
}

// switchLocked tells every member of r the new mode. Moving to the mesh,
// the SFU peers stay until each client has its direct connections and
// says so with sfu-leave (or leaves), so no tile freezes in between.
func (m *Manager) switchLocked(r *room, to Mode) {
	m.log.Info("meeting media mode", "room", r.id, "from", r.mode, "to", to, "members", len(r.members))
	r.mode = to
	// Sent at once, under the lock: the members hear of the move before
	// signaling announces the participant who caused it, so nobody starts
	// a direct connection to a newcomer that arrives through the SFU.
	// Emits only queue; they never wait for the network.
	for _, mem := range r.members {
		mem.emit("media-mode", modeMsg{Mode: to})
	}
}

func (m *Manager) member(roomID, id string) *member {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r := m.rooms[roomID]; r != nil {
		return r.find(id)
	}
	return nil
}

// Publish is sfu-publish: the member's offer for its publishing
// connection, answered by the SFU. The first one joins the SFU room.
func (m *Manager) Publish(roomID, id string, offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	return m.PublishWithScreen(roomID, id, offer, "")
}

// PublishWithScreen is Publish with the mid of the offer's section that
// carries a shared screen ("" for none), forwarded beside the camera.
func (m *Manager) PublishWithScreen(roomID, id string, offer webrtc.SessionDescription, screenMid string) (webrtc.SessionDescription, error) {
	mem, err := m.sfuMember(roomID, id)
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	if err := m.allowNegotiation(mem); err != nil {
		return webrtc.SessionDescription{}, err
	}
	p, err := m.peerOf(roomID, mem)
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	p.SetScreen(screenMid)
	return p.Publish(offer)
}

// Subscribe is sfu-subscribe: a member that publishes nothing (no camera,
// or a viewer) joins the SFU room to receive; the server's offer follows.
func (m *Manager) Subscribe(roomID, id string) error {
	mem, err := m.sfuMember(roomID, id)
	if err != nil {
		return err
	}
	if err := m.allowNegotiation(mem); err != nil {
		return err
	}
	_, err = m.peerOf(roomID, mem)
	return err
}

// Answer is sfu-answer: the member's answer to the server's offer.
func (m *Manager) Answer(roomID, id string, answer webrtc.SessionDescription) error {
	p, err := m.existingPeer(roomID, id)
	if err != nil {
		return err
	}
	return p.Answer(answer)
}

// Candidate is sfu-candidate: one of the member's ICE candidates.
func (m *Manager) Candidate(roomID, id string, d sfu.Direction, c webrtc.ICECandidateInit) error {
	p, err := m.existingPeer(roomID, id)
	if err != nil {
		return err
	}
	return p.AddCandidate(d, c)
}

// SetViews is sfu-view: how the member shows the others' video, which
// picks the simulcast layer each sends it, or pauses it (height 0).
func (m *Manager) SetViews(roomID, id string, views []View) error {
	p, err := m.existingPeer(roomID, id)
	if err != nil {
		return err
	}
	for _, v := range views {
		p.SetView(v.ID, v.Height)
	}
	return nil
}

// LeaveSFU is sfu-leave: the member has its mesh connections up again
// and drops its SFU ones.
func (m *Manager) LeaveSFU(roomID, id string) error {
	mem := m.member(roomID, id)
	if mem == nil {
		return ErrNotInSFU
	}
	if err := m.allowNegotiation(mem); err != nil {
		return err
	}
	mem.closePeer()
	return nil
}

// sfuMember checks that a member may use the SFU now.
func (m *Manager) sfuMember(roomID, id string) (*member, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	var mem *member
	if r != nil {
		mem = r.find(id)
	}
	if mem == nil {
		return nil, ErrNotInSFU
	}
	if !mem.capable {
		return nil, ErrNotCapable
	}
	if r.mode != SFU {
		return nil, ErrNotInSFU
	}
	return mem, nil
}

func (m *Manager) peerOf(roomID string, mem *member) (*sfu.Peer, error) {
	mem.peerMu.Lock()
	defer mem.peerMu.Unlock()
	if mem.peer != nil {
		return mem.peer, nil
	}
	p, err := m.sfu.Room(roomID).Join(mem.id, mem)
	if err != nil {
		return nil, err
	}
	if m.member(roomID, mem.id) != mem {
		p.Close() // it left while joining
		return nil, ErrNotInSFU
	}
	mem.peer = p
	return p, nil
}

func (m *Manager) existingPeer(roomID, id string) (*sfu.Peer, error) {
	mem := m.member(roomID, id)
	if mem == nil {
		return nil, ErrNotInSFU
	}
	mem.peerMu.Lock()
	defer mem.peerMu.Unlock()
	if mem.peer == nil {
		return nil, ErrNotInSFU
	}
	return mem.peer, nil
}

// maxPolicies bounds the rooms given a mode of their own before anyone
// joined them (a room made by the API that nobody enters keeps its entry).
const maxPolicies = 100_000

// ErrTooManyPolicies: too many rooms have a mode of their own.
var ErrTooManyPolicies = errors.New("media: too many rooms with a media mode of their own")

// SetPolicy gives one room its own media mode (auto, mesh or sfu) in place
// of Config.Mode, as the server API's room settings ask; it lasts until
// the meeting ends.
func (m *Manager) SetPolicy(roomID string, mode Mode) error {
	if _, err := ParseMode(string(mode)); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.policies[roomID]; !ok && len(m.policies) >= maxPolicies {
		return ErrTooManyPolicies
	}
	m.policies[roomID] = mode
	if r := m.rooms[roomID]; r != nil {
		m.decideLocked(r)
	}
	return nil
}
