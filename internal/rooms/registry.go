// Package rooms keeps the meetings: who is in which room, who is host, who
// waits to be admitted, the chat history, and who may come back after a
// dropped connection. It knows nothing of the signaling events themselves;
// internal/signaling turns events into calls on it.
package rooms

import (
	"crypto/subtle"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/huddlehq/huddle/socketio"
)

// Config limits the registry. Zero values mean the defaults in comments.
type Config struct {
	MaxRooms        int // default 10,000
	MaxParticipants int // per room, waiting room included; default 8
	// MeshLimit is the most participants a room holds while any of them
	// can only talk peer to peer (a client without the SFU events): a
	// mesh of more would upload too many streams. 0: MaxParticipants.
	MeshLimit   int
	ChatHistory int // messages kept per room; default 200, negative: none
	// ChatRoomBytes bounds the chat history of one room, in bytes of
	// text, name and ids; the oldest messages go first. Default 256 KiB.
	ChatRoomBytes int
	// ChatServerBytes bounds the chat history of all rooms together. When
	// it is reached a room makes space by dropping its own oldest
	// messages, never another room's. Default 64 MiB.
	ChatServerBytes int

	// MaxPerIP is how many participants (in a room, waiting, or away
	// within their grace period) one client address may hold at once.
	// Default 50; negative: no limit.
	MaxPerIP int
	// RoomsPerIPPerMinute is how many rooms one client address may start
	// per minute. Default 10; negative: no limit.
	RoomsPerIPPerMinute int

	// TokenKey signs resume tokens (HMAC-SHA256). Give every process of a
	// server the same key, or tokens from before a restart prove nothing.
	// Empty: a random key per registry.
	TokenKey []byte
	// Store keeps a copy of every room's shared state for other
	// processes (cluster mode, shared.go). Nil: none.
	Store Store
	// TokenTTL is how long a resume token is good for. Default 24h.
	TokenTTL time.Duration
	// ReclaimWindow is how long after the registry starts a host of a
	// meeting from before the restart may take the host role back. Default
	// 2 minutes.
	ReclaimWindow time.Duration
}

// Registry holds every room. It is safe for concurrent use.
type Registry struct {
	cfg    Config
	tokens signer
	start  time.Time
	now    func() time.Time // time.Now; tests move it
	perIP  *iplimit.Counter
	starts *iplimit.Rate
	// chatBytes is the chat history held by all rooms.
	chatBytes atomic.Int64

	mu    sync.Mutex
	rooms map[string]*Room
}

// NewRegistry returns an empty registry.
func NewRegistry(cfg Config) *Registry {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = 10_000
	}
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = 8
	}
	def(&cfg.ChatHistory, 200)
	if cfg.ChatRoomBytes <= 0 {
		cfg.ChatRoomBytes = 256 << 10
	}
	if cfg.ChatServerBytes <= 0 {
		cfg.ChatServerBytes = 64 << 20
	}
	def(&cfg.MaxPerIP, 50)
	def(&cfg.RoomsPerIPPerMinute, 10)
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = 24 * time.Hour
	}
	if cfg.ReclaimWindow <= 0 {
		cfg.ReclaimWindow = 2 * time.Minute
	}
	return &Registry{
		cfg: cfg, tokens: newSigner(cfg.TokenKey), start: time.Now(), now: time.Now,
		// iplimit: 0 is no limit.
		perIP:  iplimit.NewCounter(max(cfg.MaxPerIP, 0)),
		starts: iplimit.NewRate(max(cfg.RoomsPerIPPerMinute, 0), time.Minute),
		rooms:  map[string]*Room{},
	}
}

// JoinRequest asks for a place in a room.
type JoinRequest struct {
	Room     string
	ID       string // the id a new participant gets (its socket id)
	Name     string
	Password string
	// Resume is the token of an earlier join. When it proves the
	// participant it names, the socket takes over that participant, or,
	// when the participant is gone, joins under its id if that is free.
	// Anything else is ignored and the joiner gets ID.
	Resume  string
	Dialect Dialect
	// SFU is set when the client can send and receive its media through
	// the server; a client that cannot keeps its room within MeshLimit.
	SFU    bool
	Socket *socketio.Socket
	State  MediaState
	// IP is the client's address, counted against Config.MaxPerIP and
	// Config.RoomsPerIPPerMinute.
	IP netip.Addr
	// Role is what a join token made the participant ("" without one);
	// others see it in PeerInfo.
	Role string
	// Host is set for a join token's host: it takes the host role unless
	// another such host holds it, and passes the lock, the password and
	// the waiting room (the token's issuer vouches for it).
	Host bool
}

// JoinResult says how a join went.
type JoinResult struct {
	Room        *Room
	Participant *Participant
	// Token lets the participant come back after a dropped connection.
	// It is new on every join, resumes included: the one presented no
	// longer works.
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
	// Reclaimed is true when the joiner took the host role back with a
	// token from before a restart; Demoted is the host it took it from,
	// if there was one. Everyone must be told of the new host.
	Reclaimed bool
	Demoted   *Participant
	// Started is true when the joiner is the only member now: the meeting
	// began (or began again, in a room created ahead by the API).
	Started bool
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
		// Counted before the join is decided: a refused join still spent
		// one of the address's starts, which only slows a flood further.
		if !g.starts.Allow(req.IP) {
			return JoinResult{}, ErrRoomRate
		}
		r = &Room{id: req.Room, reg: g}
		g.rooms[req.Room] = r
	}
	r.mu.Lock()
	res, err := r.join(req)
	res.Created = created && err == nil
	empty := len(r.members)+len(r.waiting) == 0
	if empty && !r.pinned {
		g.forgetLocked(r)
	}
	r.mu.Unlock()
	return res, err
}

// join runs with the room (and registry) locked.
func (r *Room) join(req JoinRequest) (JoinResult, error) {
	g := r.reg
	now := g.now()
	var claim tokenClaim
	proved := false
	if req.Resume != "" {
		claim, proved = g.tokens.verify(r.id, req.Resume)
	}
	if proved {
		// A participant's current token resumes it however old it is (a
		// meeting may outlast TokenTTL); expiry bounds only the claim on
		// an id the registry no longer holds.
		if p := r.byToken(req.Resume); p != nil {
			res := r.resume(p, req.Socket, now)
			r.changed()
			return res, nil
		}
		proved = !claim.expired(now)
	}
	if proved {
		// The server restarted, the grace period ended, or the token was
		// rotated by a resume elsewhere: come back with the proved id if
		// it is free, so running calls keep their addresses.
		if r.member(claim.id) == nil && !r.isWaiting(claim.id) {
			req.ID = claim.id
		}
	}
	reclaim := proved && req.ID == claim.id && r.reclaims(claim, now)
	// A token's host takes the role from anyone but another token's host.
	takeHost := req.Host && (len(r.members) == 0 || !r.members[0].hostRight)
	if !reclaim && !req.Host {
		if err := r.checkEntry(req.Password, req.SFU); err != nil {
			return JoinResult{}, err
		}
	} else if len(r.members)+len(r.waiting) >= r.capacity(req.SFU) {
		return JoinResult{}, ErrRoomFull
	}
	if !g.perIP.Acquire(req.IP) {
		return JoinResult{}, ErrTooManyFromIP
	}
	p := &Participant{
		ID: req.ID, Name: req.Name, Dialect: req.Dialect, JoinedAt: now, Role: req.Role,
		state: req.State, room: r, sock: req.Socket, ip: req.IP, hostRight: req.Host, sfu: req.SFU,
	}
	res := JoinResult{Room: r, Participant: p}
	switch {
	case reclaim || takeHost:
		// The host of the meeting before the restart: first in line again,
		// whoever came in first since.
		if reclaim {
			r.hostClaim = claim.issued
		}
		if len(r.members) > 0 {
			// Its token still says host, but was issued before the one
			// the reclaimer gets now: after another restart the
			// reclaimer's wins (see reclaims).
			res.Demoted = r.members[0]
		}
		r.members = append([]*Participant{p}, r.members...)
		res.Reclaimed = true
	case r.settings.WaitingRoom && len(r.members) > 0 && !req.Host:
		p.waiting = true
		r.waiting = append(r.waiting, p)
		res.Waiting = true
	default:
		r.members = append(r.members, p)
	}
	p.token = r.issue(p, r.hostID() == p.ID, now)
	res.Token = p.token
	res.Started = len(r.members) == 1 && r.members[0] == p
	r.changed()
	return res, nil
}

// reclaims reports whether a proved claim takes the host role back: it
// was the host's, issued before this registry started (so by an earlier
// process: within this one the role passes only by the succession rules),
// the restart is recent, and no newer host token has been used since. The
// last rule settles two host tokens from two restarts: the newer wins.
func (r *Room) reclaims(c tokenClaim, now time.Time) bool {
	g := r.reg
	return c.host && c.issued <= g.start.UnixNano() && now.Sub(g.start) < g.cfg.ReclaimWindow && c.issued > r.hostClaim
}

// issue makes a new token for p. Called with the room locked.
func (r *Room) issue(p *Participant, host bool, now time.Time) string {
	// Tokens of this registry say they were issued after it started;
	// those of an earlier process were issued before (or, with a clock
	// that did not move, at the same nanosecond).
	issued := max(now.UnixNano(), r.reg.start.UnixNano()+1)
	return r.reg.tokens.sign(r.id, tokenClaim{
		id: p.ID, issued: issued, expires: now.Add(r.reg.cfg.TokenTTL).UnixMilli(), host: host,
	})
}

func (r *Room) resume(p *Participant, sock *socketio.Socket, now time.Time) JoinResult {
	// A new token on every resume: whoever else holds the old one can no
	// longer take the participant over.
	p.token, p.prevToken = r.issue(p, r.hostID() == p.ID, now), ""
	p.tokenHash, p.prevHash = "", "" // a restored participant is back
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
			if subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) == 1 ||
				p.prevToken != "" && subtle.ConstantTimeCompare([]byte(p.prevToken), []byte(token)) == 1 {
				return p
			}
		}
	}
	return r.byHash(token)
}

func (r *Room) isWaiting(id string) bool {
	for _, p := range r.waiting {
		if p.ID == id {
			return true
		}
	}
	return false
}

// dropIfEmpty forgets a room nobody is in any more, and reports whether it
// did.
func (g *Registry) dropIfEmpty(r *Room) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.members)+len(r.waiting) == 0 && g.rooms[r.id] == r && !r.pinned {
		g.forgetLocked(r)
		return true
	}
	return false
}

// forgetLocked drops room r and gives back its chat bytes. Called with
// the registry and r locked.
func (g *Registry) forgetLocked(r *Room) {
	if g.rooms[r.id] == r {
		delete(g.rooms, r.id)
	}
	r.ended = true
	g.chatBytes.Add(-int64(r.chatBytes))
	r.chat, r.chatBytes = nil, 0
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
