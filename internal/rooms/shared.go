package rooms

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"time"

	"github.com/huddlehq/huddle/socketio"
)

// Store keeps a copy of the rooms' shared state outside this process, so
// that another process can take a room over when this one dies (cluster
// mode: internal/clusterlink implements it). Without one (Config.Store
// nil) nothing of this runs.
type Store interface {
	// Changed is told that what r.Shared returns may have changed. It is
	// called with the room locked: it must not block, and must not call
	// back into r before returning (it reads r.Shared later, elsewhere).
	Changed(r *Room)
	// Flush waits, briefly, until what Changed told of r is written, so
	// that a join or a setting is kept before anyone is told of it; it
	// returns at once when it cannot be (no copy kept, storage away).
	// Called with no lock held.
	Flush(r *Room)
}

// Shared is the part of a room another process needs to take it over:
// who is in it and waiting, the host, the settings, the chat history, and
// which resume tokens are good, by hash (a token proves an identity, so
// it never leaves the process that issued it).
type Shared struct {
	ID string
	// Members are in line for the host role: the host first.
	Members []SharedParticipant
	Waiting []SharedParticipant
	Locked  bool
	// PasswordHash is PasswordHash of the room's password; "" none.
	PasswordHash string
	WaitingRoom  bool
	Chat         []ChatMessage
}

// SharedParticipant is one participant in Shared.
type SharedParticipant struct {
	ID, Name, Role string
	Dialect        Dialect
	SFU            bool
	JoinedAt       time.Time
	// TokenHash and PrevHash are TokenHash of the tokens that resume it.
	TokenHash, PrevHash string
	// Socket is its connection now, nil while it is away; Restore
	// ignores it.
	Socket *socketio.Socket
}

// TokenHash is how a resume token is kept outside the process: hex
// SHA-256 (the token is random enough that no salt is needed).
func TokenHash(token string) string {
	if token == "" {
		return ""
	}
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// passwordLabel separates password hashes from the key's other uses.
const passwordLabel = "huddle room password v1\x00"

// passwordHash is what a room's password is kept as outside the process:
// an HMAC under the registry's token key (the same on every node), so that
// a copy in Redis does not give the password away. "" for no password.
func (g *Registry) passwordHash(room, password string) string {
	if password == "" {
		return ""
	}
	m := hmac.New(sha256.New, g.tokens.key)
	m.Write([]byte(passwordLabel))
	m.Write([]byte(room))
	m.Write([]byte{0})
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil))
}

// checkPassword compares a joiner's password with the room's, kept in
// clear or, in a room taken over from another process, as a hash.
// Called with the room locked.
func (r *Room) checkPassword(password string) bool {
	switch {
	case r.settings.Password != "":
		return subtle.ConstantTimeCompare([]byte(password), []byte(r.settings.Password)) == 1
	case r.pwHash != "":
		return subtle.ConstantTimeCompare([]byte(r.reg.passwordHash(r.id, password)), []byte(r.pwHash)) == 1
	}
	return true
}

// changed tells the store that r changed. Called with the room locked.
func (r *Room) changed() {
	if s := r.reg.cfg.Store; s != nil && !r.ended {
		s.Changed(r)
	}
}

// Shared returns the room's shared state now.
func (r *Room) Shared() Shared {
	r.mu.Lock()
	defer r.mu.Unlock()
	pw := r.pwHash
	if r.settings.Password != "" {
		pw = r.reg.passwordHash(r.id, r.settings.Password)
	}
	sh := Shared{ID: r.id, Locked: r.settings.Locked, WaitingRoom: r.settings.WaitingRoom, PasswordHash: pw,
		Chat: append([]ChatMessage(nil), r.chat...)}
	for _, p := range r.members {
		sh.Members = append(sh.Members, p.shared())
	}
	for _, p := range r.waiting {
		sh.Waiting = append(sh.Waiting, p.shared())
	}
	return sh
}

// shared describes p for Shared. Called with its room locked.
func (p *Participant) shared() SharedParticipant {
	sp := SharedParticipant{ID: p.ID, Name: p.Name, Role: p.Role, Dialect: p.Dialect, SFU: p.sfu, JoinedAt: p.JoinedAt,
		TokenHash: p.tokenHash, PrevHash: p.prevHash, Socket: p.sock}
	if p.token != "" {
		sp.TokenHash, sp.PrevHash = TokenHash(p.token), TokenHash(p.prevToken)
	}
	return sp
}

// Restore makes a room from the shared state another process kept, to
// take it over: its participants are all away (their connections were to
// that process, or through it) and keep their places for grace, as after a
// dropped connection; expire runs for each that has not come back by
// then. A participant comes back by resuming with a token whose hash is
// its TokenHash or PrevHash, keeping its id, and nobody is told of a join.
// Restored participants are not counted against Config.MaxPerIP (their
// addresses are not known). ErrRoomExists if the room is here already.
func (g *Registry) Restore(sh Shared, grace time.Duration, expire func(*Room, *Participant)) (*Room, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.rooms[sh.ID] != nil {
		return nil, ErrRoomExists
	}
	if len(g.rooms) >= g.cfg.MaxRooms {
		return nil, ErrTooManyRooms
	}
	r := &Room{id: sh.ID, reg: g, pwHash: sh.PasswordHash,
		settings: Settings{Locked: sh.Locked, WaitingRoom: sh.WaitingRoom}}
	r.mu.Lock()
	defer r.mu.Unlock()
	restore := func(sp SharedParticipant, waiting bool) *Participant {
		p := &Participant{ID: sp.ID, Name: sp.Name, Role: sp.Role, Dialect: sp.Dialect, sfu: sp.SFU, JoinedAt: sp.JoinedAt,
			tokenHash: sp.TokenHash, prevHash: sp.PrevHash, room: r, waiting: waiting, uncounted: true}
		p.grace = time.AfterFunc(grace, func() { expire(r, p) })
		return p
	}
	for _, sp := range sh.Members {
		r.members = append(r.members, restore(sp, false))
	}
	for _, sp := range sh.Waiting {
		r.waiting = append(r.waiting, restore(sp, true))
	}
	g.rooms[sh.ID] = r
	for _, m := range sh.Chat {
		r.addChatLocked(m)
	}
	r.changed()
	return r, nil
}

// byHash finds a restored participant that token resumes. Called with
// the room locked.
func (r *Room) byHash(token string) *Participant {
	h := []byte(TokenHash(token))
	for _, list := range [][]*Participant{r.members, r.waiting} {
		for _, p := range list {
			if p.tokenHash == "" {
				continue
			}
			if subtle.ConstantTimeCompare([]byte(p.tokenHash), h) == 1 ||
				p.prevHash != "" && subtle.ConstantTimeCompare([]byte(p.prevHash), h) == 1 {
				return p
			}
		}
	}
	return nil
}
