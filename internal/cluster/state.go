package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Participant is what another node needs to know of a room member (or of
// someone in the waiting room) to take the room over.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
	// Node holds the participant's socket; events for the participant go
	// there.
	Node string `json:"node"`
	// JoinedAt orders members for the host succession.
	JoinedAt time.Time `json:"joinedAt"`
	// Dialect is the event vocabulary it joined with (rooms.Dialect);
	// SFU is set when its client can use the SFU.
	Dialect int  `json:"dialect,omitempty"`
	SFU     bool `json:"sfu,omitempty"`
}

// Meta is a room's settings and host.
type Meta struct {
	Host   string // participant ID of the host; "" none
	Locked bool
	// PasswordHash is the room password as the rooms package keeps it for
	// comparison (never the password itself).
	PasswordHash string
	WaitingRoom  bool
}

// ChatMessage mirrors rooms.ChatMessage (same JSON).
type ChatMessage struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
	TS   int64  `json:"ts"` // Unix milliseconds
}

// Resume says which resume tokens are valid for a participant: by hash
// (HashToken), never the tokens, which prove an identity.
type Resume struct {
	Participant string    `json:"participant"`
	TokenHash   string    `json:"token"`
	PrevHash    string    `json:"prev,omitempty"` // the token held before, still good
	Expires     time.Time `json:"expires"`
}

// HashToken is how a resume token is stored: hex SHA-256.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// Room is a room's shared state as read from Redis.
type Room struct {
	Name         string
	Meta         Meta
	Participants []Participant     // by JoinedAt
	Waiting      []Participant     // by JoinedAt
	Chat         []ChatMessage     // oldest first, at most ChatHistory
	Resume       map[string]Resume // by participant ID; expired ones left out
}

// fencedScript runs one write on a room's state if KEYS[1], the owner
// hash, still holds the writer's token. KEYS[2..]: the keys written.
// ARGV: token, op, state TTL ms, then the op's arguments:
//
//	hset  field value ...  on KEYS[2]
//	hdel  field ...        on KEYS[2]
//	push  value max        on KEYS[2] (a list trimmed to its last max)
//	del                    every key in KEYS (the room ends)
//
// Returns 1, 0 when fenced, or 2 when the owner hash is gone (the room
// ended, or Redis lost its data: Renew tells which).
var fencedScript = redis.NewScript(`
local tok = redis.call('HGET', KEYS[1], 'token')
if not tok then return 2 end
if tok ~= ARGV[1] then return 0 end
local op = ARGV[2]
if op == 'del' then
  redis.call('DEL', unpack(KEYS))
  return 1
end
local k = KEYS[2]
if op == 'hset' then
  redis.call('HSET', k, unpack(ARGV, 4))
elseif op == 'hdel' then
  redis.call('HDEL', k, unpack(ARGV, 4))
elseif op == 'push' then
  redis.call('RPUSH', k, ARGV[4])
  redis.call('LTRIM', k, -tonumber(ARGV[5]), -1)
else
  return redis.error_reply('unknown op ' .. op)
end
redis.call('PEXPIRE', k, ARGV[3])
return 1
`)

// stateKeys are a room's keys besides owner and lease.
func (c *Cluster) stateKeys(room string) []string {
	return []string{c.roomKey(room, "meta"), c.roomKey(room, "parts"), c.roomKey(room, "waiting"),
		c.roomKey(room, "chat"), c.roomKey(room, "resume")}
}

// State is the room's shared state, written under this lease: every write
// fails with ErrFenced once another node owns the room (and the lease is
// then lost), however stale this node's view.
func (l *Lease) State() *RoomState { return &RoomState{l: l} }

// RoomState writes a room's shared state, fenced by its lease.
type RoomState struct{ l *Lease }

func (s *RoomState) write(ctx context.Context, op, part string, args ...any) error {
	l := s.l
	c := l.c
	keys := []string{c.roomKey(l.Room, "owner")}
	if part != "" {
		keys = append(keys, c.roomKey(l.Room, part))
	}
	argv := append([]any{l.token, op, c.cfg.StateTTL.Milliseconds()}, args...)
	return s.run(ctx, keys, argv)
}

func (s *RoomState) run(ctx context.Context, keys []string, argv []any) error {
	return s.runScript(ctx, fencedScript, keys, argv, fmt.Sprint(argv[1]))
}

// runScript runs a fenced write script (replies as fencedScript's); op
// names it in errors.
func (s *RoomState) runScript(ctx context.Context, script *redis.Script, keys []string, argv []any, op string) error {
	l := s.l
	if err := l.Err(); err != nil {
		return err // lost or released: no need to ask Redis
	}
	ctx, cancel := l.c.op(ctx)
	defer cancel()
	n, err := script.Run(ctx, l.c.rdb, keys, argv...).Int()
	if err == nil && n == 2 {
		// Renew restores the ownership if Redis lost its data, and is
		// fenced if the room ended; then the write is tried once more.
		if err = l.Renew(ctx); err == nil {
			n, err = script.Run(ctx, l.c.rdb, keys, argv...).Int()
		}
	}
	if errors.Is(err, ErrFenced) {
		return err
	}
	if err != nil {
		return fmt.Errorf("cluster: room %q: %s: %w", l.Room, op, err)
	}
	if n != 1 {
		l.lose(ErrFenced)
		return ErrFenced
	}
	return nil
}

// SetMeta writes the host and settings.
func (s *RoomState) SetMeta(ctx context.Context, m Meta) error {
	return s.write(ctx, "hset", "meta", "host", m.Host, "locked", strconv.FormatBool(m.Locked),
		"password_hash", m.PasswordHash, "waiting_room", strconv.FormatBool(m.WaitingRoom))
}

// PutParticipant adds or updates a member.
func (s *RoomState) PutParticipant(ctx context.Context, p Participant) error {
	return s.putJSON(ctx, "parts", p.ID, p)
}

// DeleteParticipant removes a member (it left).
func (s *RoomState) DeleteParticipant(ctx context.Context, id string) error {
	return s.write(ctx, "hdel", "parts", id)
}

// PutWaiting adds or updates someone in the waiting room.
func (s *RoomState) PutWaiting(ctx context.Context, p Participant) error {
	return s.putJSON(ctx, "waiting", p.ID, p)
}

// DeleteWaiting removes someone from the waiting room (admitted or gone).
func (s *RoomState) DeleteWaiting(ctx context.Context, id string) error {
	return s.write(ctx, "hdel", "waiting", id)
}

// AppendChat adds a message; the history keeps the last ChatHistory.
func (s *RoomState) AppendChat(ctx context.Context, m ChatMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.write(ctx, "push", "chat", b, s.l.c.cfg.ChatHistory)
}

// PutResume records which token (by HashToken) resumes a participant.
func (s *RoomState) PutResume(ctx context.Context, r Resume) error {
	return s.putJSON(ctx, "resume", r.Participant, r)
}

// DeleteResume makes a participant's tokens invalid (it left for good).
func (s *RoomState) DeleteResume(ctx context.Context, participant string) error {
	return s.write(ctx, "hdel", "resume", participant)
}

func (s *RoomState) putJSON(ctx context.Context, part, field string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write(ctx, "hset", part, field, b)
}

// End deletes all the room's keys, ownership included, and releases the
// lease. Fenced like every write: a stale owner cannot end a room another
// node now holds.
func (s *RoomState) End(ctx context.Context) error {
	l := s.l
	c := l.c
	keys := append([]string{c.roomKey(l.Room, "owner"), c.roomKey(l.Room, "lease")}, c.stateKeys(l.Room)...)
	if err := s.run(ctx, keys, []any{l.token, "del", c.cfg.StateTTL.Milliseconds()}); err != nil {
		return err
	}
	l.lose(ErrReleased)
	return nil
}

// LoadRoom reads a room's shared state in one transaction; no lease is
// needed. A room with no keys gives a zero Room (with its name).
func (c *Cluster) LoadRoom(ctx context.Context, room string) (Room, error) {
	r := Room{Name: room}
	if err := checkRoom(room); err != nil {
		return r, err
	}
	ctx, cancel := c.op(ctx)
	defer cancel()
	var meta, parts, waiting, resume *redis.MapStringStringCmd
	var chat *redis.StringSliceCmd
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		meta = p.HGetAll(ctx, c.roomKey(room, "meta"))
		parts = p.HGetAll(ctx, c.roomKey(room, "parts"))
		waiting = p.HGetAll(ctx, c.roomKey(room, "waiting"))
		chat = p.LRange(ctx, c.roomKey(room, "chat"), 0, -1)
		resume = p.HGetAll(ctx, c.roomKey(room, "resume"))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return r, fmt.Errorf("cluster: load room %q: %w", room, err)
	}
	m := meta.Val()
	r.Meta = Meta{Host: m["host"], Locked: m["locked"] == "true", PasswordHash: m["password_hash"],
		WaitingRoom: m["waiting_room"] == "true"}
	r.Participants = decodeParticipants(parts.Val())
	r.Waiting = decodeParticipants(waiting.Val())
	for _, s := range chat.Val() {
		var cm ChatMessage
		if json.Unmarshal([]byte(s), &cm) == nil {
			r.Chat = append(r.Chat, cm)
		}
	}
	now := time.Now()
	for _, s := range resume.Val() {
		var rs Resume
		if json.Unmarshal([]byte(s), &rs) == nil && rs.Expires.After(now) {
			if r.Resume == nil {
				r.Resume = map[string]Resume{}
			}
			r.Resume[rs.Participant] = rs
		}
	}
	return r, nil
}

func decodeParticipants(m map[string]string) []Participant {
	var ps []Participant
	for _, s := range m {
		var p Participant
		if json.Unmarshal([]byte(s), &p) == nil {
			ps = append(ps, p)
		}
	}
	sortParticipants(ps)
	return ps
}

// Change is a batch of writes to a room's state that Apply makes at once:
// one round trip, atomically, fenced like every write. The owner's mirror
// of its rooms (internal/clusterlink) sends what changed since its last
// batch, or everything (Full) when it starts or Redis lost its data.
type Change struct {
	// Full replaces the room's participants, waiting room, resume tokens
	// and chat history with those given, instead of adding to them.
	Full bool
	// Meta, when set, is written.
	Meta *Meta
	// Put and PutWaiting add or update members and people waiting;
	// Gone and GoneWaiting remove them.
	Put, PutWaiting   []Participant
	Gone, GoneWaiting []string
	// Resume adds or updates resume tokens; ResumeGone removes a
	// participant's.
	Resume     []Resume
	ResumeGone []string
	// Chat is appended to the history (kept to its last ChatHistory), or
	// replaces it with ChatReplace (or Full).
	Chat        []ChatMessage
	ChatReplace bool
}

// Empty reports whether c writes nothing.
func (c Change) Empty() bool {
	return !c.Full && c.Meta == nil && len(c.Put)+len(c.PutWaiting)+len(c.Gone)+len(c.GoneWaiting)+
		len(c.Resume)+len(c.ResumeGone)+len(c.Chat) == 0 && !c.ChatReplace
}

// applyScript writes a Change. KEYS: owner, meta, parts, waiting, chat,
// resume. ARGV: token, state TTL ms, the change as JSON (changeJSON).
// Returns as fencedScript: 1, 0 when fenced, 2 when the owner hash is gone.
var applyScript = redis.NewScript(`
local tok = redis.call('HGET', KEYS[1], 'token')
if not tok then return 2 end
if tok ~= ARGV[1] then return 0 end
local c = cjson.decode(ARGV[3])
if c.full then redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6]) end
if c.chatReplace then redis.call('DEL', KEYS[5]) end
if #c.meta > 0 then redis.call('HSET', KEYS[2], unpack(c.meta)) end
for i, k in ipairs({KEYS[3], KEYS[4], KEYS[6]}) do
  if #c.put[i] > 0 then redis.call('HSET', k, unpack(c.put[i])) end
  if #c.del[i] > 0 then redis.call('HDEL', k, unpack(c.del[i])) end
end
if #c.chat > 0 then
  redis.call('RPUSH', KEYS[5], unpack(c.chat))
  redis.call('LTRIM', KEYS[5], -c.max, -1)
end
for i = 2, #KEYS do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
return 1
`)

// changeJSON is a Change as applyScript reads it: put and del hold the
// fields of parts, waiting and resume, in that order. Every list is
// non-nil (cjson reads null as a value that is not a table).
type changeJSON struct {
	Full        bool        `json:"full"`
	ChatReplace bool        `json:"chatReplace"`
	Meta        []string    `json:"meta"`
	Put         [3][]string `json:"put"`
	Del         [3][]string `json:"del"`
	Chat        []string    `json:"chat"`
	Max         int         `json:"max"`
}

func (c Change) encode(max int) ([]byte, error) {
	j := changeJSON{Full: c.Full, ChatReplace: c.ChatReplace, Meta: []string{}, Chat: []string{}, Max: max}
	for i := range 3 {
		j.Put[i], j.Del[i] = []string{}, []string{}
	}
	if m := c.Meta; m != nil {
		j.Meta = []string{"host", m.Host, "locked", strconv.FormatBool(m.Locked),
			"password_hash", m.PasswordHash, "waiting_room", strconv.FormatBool(m.WaitingRoom)}
	}
	put := func(i int, id string, v any) error {
		b, err := json.Marshal(v)
		j.Put[i] = append(j.Put[i], id, string(b))
		return err
	}
	for _, p := range c.Put {
		if err := put(0, p.ID, p); err != nil {
			return nil, err
		}
	}
	for _, p := range c.PutWaiting {
		if err := put(1, p.ID, p); err != nil {
			return nil, err
		}
	}
	for _, r := range c.Resume {
		if err := put(2, r.Participant, r); err != nil {
			return nil, err
		}
	}
	j.Del[0] = append(j.Del[0], c.Gone...)
	j.Del[1] = append(j.Del[1], c.GoneWaiting...)
	j.Del[2] = append(j.Del[2], c.ResumeGone...)
	for _, m := range c.Chat {
		b, err := json.Marshal(m)
		if err != nil {
			return nil, err
		}
		j.Chat = append(j.Chat, string(b))
	}
	return json.Marshal(j)
}

// Apply writes c in one round trip. It fails with ErrFenced once another
// node owns the room.
func (s *RoomState) Apply(ctx context.Context, c Change) error {
	if c.Empty() {
		return nil
	}
	l := s.l
	cl := l.c
	b, err := c.encode(cl.cfg.ChatHistory)
	if err != nil {
		return err
	}
	keys := []string{cl.roomKey(l.Room, "owner"), cl.roomKey(l.Room, "meta"), cl.roomKey(l.Room, "parts"),
		cl.roomKey(l.Room, "waiting"), cl.roomKey(l.Room, "chat"), cl.roomKey(l.Room, "resume")}
	return s.runScript(ctx, applyScript, keys, []any{l.token, cl.cfg.StateTTL.Milliseconds(), b}, "apply")
}
