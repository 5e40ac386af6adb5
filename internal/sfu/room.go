package sfu

import (
	"sync"

	"github.com/pion/webrtc/v4"
)

// Direction names one of a participant's two peer connections.
type Direction string

const (
	// Publish is the connection the participant sends on; it offers.
	Publish Direction = "publish"
	// Subscribe is the connection the participant receives on; the
	// server offers.
	Subscribe Direction = "subscribe"
)

// Signaler carries what the SFU has to say to one participant's client.
// Its methods must not block for long: they run on pion's goroutines.
type Signaler interface {
	// Offer sends the server's offer for the subscribing connection; the
	// client answers through Peer.Answer.
	Offer(webrtc.SessionDescription)
	// Candidate sends one of the server's ICE candidates for a connection.
	Candidate(Direction, webrtc.ICECandidateInit)
}

// Room is one meeting's media: who publishes what, and who receives it.
// Media never crosses rooms: a participant receives only the tracks of
// the room it joined.
type Room struct {
	id  string
	sfu *SFU

	mu    sync.Mutex
	peers map[string]*Peer
	sinks []Sink // see sink.go
	// speakers follows who speaks (speakers.go).
	speakers *speakers
}

// ID returns the room's id.
func (r *Room) ID() string { return r.id }

// Join adds a participant, which at once receives every track already
// published in the room (the server's first offer follows).
func (r *Room) Join(id string, sig Signaler) (*Peer, error) {
	r.mu.Lock()
	if r.peers[id] != nil {
		r.mu.Unlock()
		return nil, ErrDuplicate
	}
	p, err := newPeer(r, id, sig)
	if err != nil {
		r.mu.Unlock()
		return nil, err
	}
	r.peers[id] = p
	var existing []*track
	for _, other := range r.peers {
		if other != p {
			existing = append(existing, other.tracks()...)
		}
	}
	r.mu.Unlock()
	p.subscribeAll(existing)
	return p, nil
}

// Peers returns the ids of the participants in the room.
func (r *Room) Peers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.peers))
	for id := range r.peers {
		ids = append(ids, id)
	}
	return ids
}

// published sends a new track to every other participant.
func (r *Room) published(t *track) {
	for _, p := range r.others(t.owner) {
		p.subscribe(t)
	}
	r.sinksPublished(t)
}

// unpublished takes a track away from every other participant.
func (r *Room) unpublished(t *track) {
	for _, p := range r.others(t.owner) {
		p.unsubscribe(t)
	}
	t.endSinks()
}

func (r *Room) others(of *Peer) []*Peer {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Peer, 0, len(r.peers))
	for _, p := range r.peers {
		if p != of {
			out = append(out, p)
		}
	}
	return out
}

// left forgets p; the room goes when it is empty.
func (r *Room) left(p *Peer) {
	r.mu.Lock()
	if r.peers[p.id] == p {
		delete(r.peers, p.id)
	}
	empty := len(r.peers) == 0
	r.mu.Unlock()
	r.speakers.left(p.id, empty)
	r.sfu.forget(r)
}
