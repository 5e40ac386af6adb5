// Package rooms keeps the meetings: who is in which room, who is host, who
// waits to be admitted, the chat history, and who may come back after a
// dropped connection. It knows nothing of the signaling events themselves;
// internal/signaling turns events into calls on it.
package rooms

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/socketio"
)

// Config limits the registry. Zero values mean the defaults in comments.
type Config struct {
	MaxRooms        int // default 10,000
	MaxParticipants int // per room, waiting room included; default 8
	ChatHistory     int // messages kept per room; default 200
}

// Registry holds every room. It is safe for concurrent use.
type Registry struct {
	cfg   Config
	mu    sync.Mutex
	rooms map[string]*Room
}

// NewRegistry returns an empty registry.
func NewRegistry(cfg Config) *Registry {
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = 10_000
	}
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = 8
	}
	if cfg.ChatHistory == 0 {
		cfg.ChatHistory = 200
	}
	return &Registry{cfg: cfg, rooms: map[string]*Room{}}
}

// JoinRequest asks for a place in a room.
type JoinRequest struct {
	Room     string
	ID       string // the id a new participant gets (its socket id)
	Name     string
	Password string
	// Resume is the token of an earlier join: the socket takes over that
	// participant instead of joining as someone new.
	Resume  string
	Dialect Dialect
	Socket  *socketio.Socket
	State   MediaState
}

// JoinResult says how a join went.
type JoinResult struct {
	Room        *Room
	Participant *Participant
	// Token lets the participant come back after a dropped connection.
	Token string
	// Resumed is true when an existing participant was taken over; the
	// others must not be told of a join.
	Resumed bool
	// Replaced is the participant's previous socket on a resume, if it was
	// still open; the caller closes it.
	Replaced *socketio.Socket
	// Waiting is true when the participant waits for the host to admit it.
	Waiting bool
	// Pending are the packets kept while the participant was away.
	Pending []*socketio.Packet
	// Created is true when this join started the meeting.
	Created bool
}

// Join puts a socket into a room, as a new participant or as a returning
// one.
func (g *Registry) Join(req JoinRequest) (JoinResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.rooms[req.Room]
	created := r == nil
	if created {
		if len(g.rooms) >= g.cfg.MaxRooms {
			return JoinResult{}, ErrTooManyRooms
		}
		r = &Room{id: req.Room, reg: g}
		g.rooms[req.Room] = r
	}
	r.mu.Lock()
	res, err := r.join(req)
	res.Created = created && err == nil
	empty := len(r.members)+len(r.waiting) == 0
	r.mu.Unlock()
	if empty {
		delete(g.rooms, r.id)
	}
	return res, err
}

// join runs with the room (and registry) locked.
func (r *Room) join(req JoinRequest) (JoinResult, error) {
	if req.Resume != "" {
		if p := r.byToken(req.Resume); p != nil {
			return r.resume(p, req.Socket), nil
		}
		// The server restarted (or the grace period ended): come back with
		// the old id if it is free, so running calls keep their addresses.
		if id, ok := tokenID(req.Resume); ok && r.member(id) == nil && !r.isWaiting(id) {
			req.ID = id
		}
	}
	if err := r.checkEntry(req.Password); err != nil {
		return JoinResult{}, err
	}
	p := &Participant{
		ID: req.ID, Name: req.Name, Dialect: req.Dialect, JoinedAt: time.Now(),
		state: req.State, token: newToken(req.ID), room: r, sock: req.Socket,
	}
	res := JoinResult{Room: r, Participant: p, Token: p.token}
	if r.settings.WaitingRoom && len(r.members) > 0 {
		p.waiting = true
		r.waiting = append(r.waiting, p)
		res.Waiting = true
		return res, nil
	}
	r.members = append(r.members, p)
	return res, nil
}

func (r *Room) resume(p *Participant, sock *socketio.Socket) JoinResult {
	res := JoinResult{Room: r, Participant: p, Token: p.token, Resumed: true, Waiting: p.waiting}
	if p.sock != sock {
		res.Replaced = p.sock
	}
	p.sock = sock
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
	res.Pending, p.pending = p.pending, nil
	return res
}

func (r *Room) byToken(token string) *Participant {
	for _, list := range [][]*Participant{r.members, r.waiting} {
		for _, p := range list {
			if subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) == 1 {
				return p
			}
		}
	}
	return nil
}

func (r *Room) isWaiting(id string) bool {
	for _, p := range r.waiting {
		if p.ID == id {
			return true
		}
	}
	return false
}

// newToken makes a resume token: the participant id, a dot, and 128
// random bits. The id part lets a participant keep its id across a
// server restart; the random part is what proves it on the same server.
func newToken(id string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return id + "." + base64.RawURLEncoding.EncodeToString(b[:])
}

func tokenID(token string) (string, bool) {
	i := strings.LastIndexByte(token, '.')
	if i <= 0 || i > 64 {
		return "", false
	}
	id := token[:i]
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", false
		}
	}
	return id, true
}

// dropIfEmpty forgets a room nobody is in any more, and reports whether it
// did.
func (g *Registry) dropIfEmpty(r *Room) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.mu.Lock()
	empty := len(r.members)+len(r.waiting) == 0
	r.mu.Unlock()
	if empty && g.rooms[r.id] == r {
		delete(g.rooms, r.id)
		return true
	}
	return false
}

// Stats counts rooms and participants (waiting ones included).
func (g *Registry) Stats() (rooms, participants int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range g.rooms {
		r.mu.Lock()
		participants += len(r.members) + len(r.waiting)
		r.mu.Unlock()
	}
	return len(g.rooms), participants
}
