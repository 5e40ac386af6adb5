package rooms

import (
	"sync"
	"time"

	"github.com/huddlehq/huddle/socketio"
)

// ChatMessage is one message of a room's chat, as clients receive it.
type ChatMessage struct {
	ID   string `json:"id"`
	From string `json:"from"`
	Name string `json:"name"`
	Text string `json:"text"`
	TS   int64  `json:"ts"` // Unix milliseconds
	// File is the file the message shares (files.go); nil for text.
	File *ChatFile `json:"file,omitempty"`
}

// Settings are the host's choices for a room.
type Settings struct {
	Locked      bool
	Password    string
	WaitingRoom bool
	// MaxParticipants lowers the server's limit for this room; 0: the
	// server's.
	MaxParticipants int
}

// SettingsView is what participants see of the settings (never the password).
type SettingsView struct {
	Locked      bool `json:"locked"`
	HasPassword bool `json:"hasPassword"`
	WaitingRoom bool `json:"waitingRoom"`
}

// SettingsPatch changes some settings; nil fields stay as they are.
type SettingsPatch struct {
	Locked      *bool
	Password    *string
	WaitingRoom *bool
}

// Room is one meeting. All its methods are safe for concurrent use.
type Room struct {
	id  string
	reg *Registry

	mu       sync.Mutex
	members  []*Participant // in join order; the first is the host
	waiting  []*Participant
	settings Settings
	// pwHash is the password's hash in a room restored from another
	// process (shared.go), which knew the password; "" otherwise.
	pwHash string
	chat   []ChatMessage // the last reg.cfg.ChatHistory messages
	// chatBytes is the size of chat, counted in reg.chatBytes too.
	chatBytes int
	hands     []Hand // raised hands, first raised first (hands.go)
	spotlight string // the member the host put on everyone's stage (spotlight.go)
	// hostClaim is when the newest host token used to take the host role
	// back after a restart was issued (Unix ns); 0: none was.
	hostClaim int64
	// ended is set when the registry forgot the room; nothing may be
	// stored in it any more.
	ended bool
	// pinned keeps an empty room: it was created ahead (Registry.Create)
	// and lasts until it is ended.
	pinned bool
	// created and expires are set for a room created ahead.
	created, expires time.Time
}

// ID is the room id.
func (r *Room) ID() string { return r.id }

// Member returns the participant with this id if it is in the room (not
// waiting), or nil.
func (r *Room) Member(id string) *Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.member(id)
}

func (r *Room) member(id string) *Participant {
	for _, p := range r.members {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// IsMember reports whether p is in the room now (not waiting, not left).
func (r *Room) IsMember(p *Participant) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.room == r && !p.waiting
}

// Deliver sends pkt to p, or keeps it while p is reconnecting.
func (r *Room) Deliver(p *Participant, pkt *socketio.Packet) {
	r.mu.Lock()
	if p.room == r {
		p.deliver(pkt, nil)
	}
	r.mu.Unlock()
}

// DeliverTo sends pkt to the member with this id; ErrUnknownPeer when
// there is none.
func (r *Room) DeliverTo(id string, pkt *socketio.Packet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deliverLocked(id, pkt, nil)
}

// DeliverFrom is DeliverTo for a packet from member `from`: ErrNotInRoom
// when from is not (or no longer) a member. It is the relay's hot path: one
// lock, no allocation.
func (r *Room) DeliverFrom(from *Participant, id string, pkt *socketio.Packet) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if from.room != r || from.waiting {
		return ErrNotInRoom
	}
	return r.deliverLocked(id, pkt, from)
}

func (r *Room) deliverLocked(id string, pkt *socketio.Packet, from *Participant) error {
	p := r.member(id)
	if p == nil {
		return ErrUnknownPeer
	}
	p.deliver(pkt, from)
	return nil
}

// Broadcast sends a packet to every member of a dialect but except, the
// member whose event it tells of (or nil).
func (r *Room) Broadcast(d Dialect, pkt *socketio.Packet, except *Participant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.members {
		if p != except && p.Dialect == d {
			p.deliver(pkt, except)
		}
	}
}

// Host returns the host's id ("" in an empty room).
func (r *Room) Host() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hostID()
}

func (r *Room) hostID() string {
	if len(r.members) == 0 {
		return ""
	}
	return r.members[0].ID
}

// Snapshot is what a joiner learns of the room.
type Snapshot struct {
	Host     string
	Peers    []PeerInfo
	Chat     []ChatMessage
	Settings SettingsView
}

// Snapshot describes the room as p sees it.
func (r *Room) Snapshot(p *Participant) Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Snapshot{Host: r.hostID(), Settings: r.settingsView(), Peers: []PeerInfo{}}
	for _, m := range r.members {
		if m != p {
			s.Peers = append(s.Peers, m.info())
		}
	}
	s.Chat = append([]ChatMessage{}, r.chat...)
	return s
}

func (r *Room) settingsView() SettingsView {
	return SettingsView{Locked: r.settings.Locked, HasPassword: r.settings.Password != "" || r.pwHash != "", WaitingRoom: r.settings.WaitingRoom}
}

// Info returns p's public description.
func (r *Room) Info(p *Participant) PeerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.info()
}

// AddChat stores a message in the history. The history is bounded by
// count (ChatHistory), by bytes per room (ChatRoomBytes) and by bytes for
// the server (ChatServerBytes); the room's oldest messages make way. A
// message that does not fit even then is not kept (it was still sent).
func (r *Room) AddChat(m ChatMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.addChatLocked(m) {
		r.changed()
	}
}

// addChatLocked is AddChat with the room locked; false when the message
// was not kept.
func (r *Room) addChatLocked(m ChatMessage) bool {
	g := r.reg
	size := chatSize(m)
	if g.cfg.ChatHistory <= 0 || r.ended || size > g.cfg.ChatRoomBytes {
		return false
	}
	for len(r.chat) > 0 && (len(r.chat) >= g.cfg.ChatHistory || r.chatBytes+size > g.cfg.ChatRoomBytes ||
		g.chatBytes.Load()+int64(size) > int64(g.cfg.ChatServerBytes)) {
		r.dropOldestChat()
	}
	if !g.reserveChat(size) {
		return false // other rooms hold the server's whole budget
	}
	r.chat = append(r.chat, m)
	r.chatBytes += size
	return true
}

// dropOldestChat forgets the oldest message. Called with the room locked.
func (r *Room) dropOldestChat() {
	size := chatSize(r.chat[0])
	copy(r.chat, r.chat[1:])
	r.chat[len(r.chat)-1] = ChatMessage{}
	r.chat = r.chat[:len(r.chat)-1]
	r.chatBytes -= size
	r.reg.chatBytes.Add(-int64(size))
}

// reserveChat takes size bytes of the server's chat budget if they are
// free.
func (g *Registry) reserveChat(size int) bool {
	for {
		cur := g.chatBytes.Load()
		if cur+int64(size) > int64(g.cfg.ChatServerBytes) {
			return false
		}
		if g.chatBytes.CompareAndSwap(cur, cur+int64(size)) {
			return true
		}
	}
}

// chatSize is what a message costs the budget: its strings and a little
// for the struct around them.
func chatSize(m ChatMessage) int {
	size := len(m.ID) + len(m.From) + len(m.Name) + len(m.Text) + 64
	if m.File != nil {
		size += len(m.File.ID) + len(m.File.Name) + len(m.File.Type) + 32
	}
	return size
}

// ChatBytes returns the bytes of chat history held by all rooms.
func (g *Registry) ChatBytes() int64 { return g.chatBytes.Load() }

// MediaPatch changes some media flags; nil fields stay as they are.
type MediaPatch struct {
	Audio, Video, Screen, Recording *bool
}

// SetState applies a patch to p's media state and returns the new state
// and the one before.
func (r *Room) SetState(p *Participant, patch MediaPatch) (now, before MediaState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	before = p.state
	apply := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	apply(&p.state.Audio, patch.Audio)
	apply(&p.state.Video, patch.Video)
	apply(&p.state.Screen, patch.Screen)
	apply(&p.state.Recording, patch.Recording)
	return p.state, before
}

// Configure applies the host's settings patch.
func (r *Room) Configure(by *Participant, patch SettingsPatch) (SettingsView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hostID() != by.ID {
		return SettingsView{}, ErrNotHost
	}
	r.applySettings(patch)
	return r.settingsView(), nil
}

// applySettings applies a patch. Called with the room locked.
func (r *Room) applySettings(patch SettingsPatch) {
	if patch.Locked != nil {
		r.settings.Locked = *patch.Locked
	}
	if patch.Password != nil {
		r.settings.Password = *patch.Password
		r.pwHash = "" // a restored room's former password is replaced
	}
	if patch.WaitingRoom != nil {
		r.settings.WaitingRoom = *patch.WaitingRoom
	}
	r.changed()
}

// checkEntry applies lock, password and capacity to a new arrival.
// Called with the room locked.
func (r *Room) checkEntry(password string, sfu bool) error {
	if r.settings.Locked {
		return ErrLocked
	}
	if !r.checkPassword(password) {
		return ErrWrongPassword
	}
	if len(r.members)+len(r.waiting) >= r.capacity(sfu) {
		return ErrRoomFull
	}
	return nil
}

// capacity is how many participants the room holds, waiting room
// included, with a newcomer that can (sfu) or cannot use the SFU: a room
// where anyone talks peer to peer stays within the mesh limit. Called
// with the room locked.
func (r *Room) capacity(sfu bool) int {
	c := r.reg.cfg.MaxParticipants
	if m := r.settings.MaxParticipants; m > 0 && m < c {
		c = m
	}
	if mesh := r.reg.cfg.MeshLimit; mesh > 0 && mesh < c && (!sfu || r.anyoneMeshOnly()) {
		c = mesh
	}
	return c
}

// anyoneMeshOnly reports whether a member or a waiting participant cannot
// use the SFU. Called with the room locked.
func (r *Room) anyoneMeshOnly() bool {
	for _, list := range [][]*Participant{r.members, r.waiting} {
		for _, p := range list {
			if !p.sfu {
				return true
			}
		}
	}
	return false
}

// Waiting lists the participants in the waiting room.
func (r *Room) Waiting() []PeerInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := []PeerInfo{}
	for _, p := range r.waiting {
		out = append(out, p.info())
	}
	return out
}

// Admit moves a waiting participant into the room; only the host may.
func (r *Room) Admit(by *Participant, id string) (*Participant, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hostID() != by.ID {
		return nil, ErrNotHost
	}
	p := r.takeWaiting(id)
	if p == nil {
		return nil, ErrNotWaiting
	}
	p.waiting = false
	r.members = append(r.members, p)
	r.changed()
	return p, nil
}

// Deny refuses a waiting participant; only the host may.
func (r *Room) Deny(by *Participant, id string) (*Participant, error) {
	r.mu.Lock()
	if r.hostID() != by.ID {
		r.mu.Unlock()
		return nil, ErrNotHost
	}
	p := r.takeWaiting(id)
	if p != nil {
		p.room = nil
		if !p.uncounted {
			r.reg.perIP.Release(p.ip)
		}
		r.changed()
	}
	r.mu.Unlock()
	if p == nil {
		return nil, ErrNotWaiting
	}
	r.reg.dropIfEmpty(r)
	return p, nil
}

func (r *Room) takeWaiting(id string) *Participant {
	for i, p := range r.waiting {
		if p.ID == id {
			r.waiting = append(r.waiting[:i], r.waiting[i+1:]...)
			return p
		}
	}
	return nil
}

// Remove takes a participant out at the host's request. Its resume token
// dies with it, so while the room is locked it cannot come back.
func (r *Room) Remove(by *Participant, id string) (*Participant, Departure, error) {
	r.mu.Lock()
	if r.hostID() != by.ID {
		r.mu.Unlock()
		return nil, Departure{}, ErrNotHost
	}
	p := r.member(id)
	if p == nil || p == by {
		r.mu.Unlock()
		return nil, Departure{}, ErrUnknownPeer
	}
	sock := p.sock
	d := r.leaveLocked(p)
	r.mu.Unlock()
	r.reg.dropIfEmpty(r)
	d.Socket = sock
	return p, d, nil
}

// Departure tells what a participant's leaving changed.
type Departure struct {
	// Left is false when the participant was not in the room any more.
	Left bool
	// WasWaiting is true when it left from the waiting room.
	WasWaiting bool
	// NewHost is the new host when the host left, else nil.
	NewHost *Participant
	// NewHostToken is NewHost's new resume token, which says it is host.
	NewHostToken string
	// Socket is the participant's socket at that moment (nil if detached).
	Socket *socketio.Socket
	// Ended is true when the room is empty now and forgotten.
	Ended bool
	// Emptied is true when a member left and no member is left: the
	// meeting is over (the room may remain, created ahead, or hold a
	// waiting room nobody can admit).
	Emptied bool
}

// Leave takes p out of the room.
func (r *Room) Leave(p *Participant) Departure {
	r.mu.Lock()
	d := r.leaveLocked(p)
	r.mu.Unlock()
	d.Ended = r.reg.dropIfEmpty(r) && d.Left
	return d
}

func (r *Room) leaveLocked(p *Participant) Departure {
	if p.room != r {
		return Departure{}
	}
	p.room = nil
	p.sock = nil
	p.pending = nil
	if !p.uncounted {
		r.reg.perIP.Release(p.ip)
	}
	defer r.changed()
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
	if p.waiting {
		r.takeWaiting(p.ID)
		return Departure{Left: true, WasWaiting: true}
	}
	wasHost := r.hostID() == p.ID
	r.dropHand(p.ID)
	if r.spotlight == p.ID {
		r.spotlight = ""
	}
	for i, m := range r.members {
		if m == p {
			r.members = append(r.members[:i], r.members[i+1:]...)
			break
		}
	}
	d := Departure{Left: true, Emptied: len(r.members) == 0}
	if wasHost && len(r.members) > 0 {
		d.NewHost = r.members[0]
		// Its token now says host, so that after a restart it takes the
		// role back (see Room.reclaims); Departure.NewHostToken carries it.
		d.NewHost.prevToken = d.NewHost.token
		d.NewHost.token = r.issue(d.NewHost, true, r.reg.now())
		d.NewHostToken = d.NewHost.token
	}
	return d
}

// Detach notes that sock, p's connection, is gone. p keeps its place for
// grace; expire runs if it has not come back by then. Detach reports
// false when sock was not p's current connection (it was replaced).
func (r *Room) Detach(p *Participant, sock *socketio.Socket, grace time.Duration, expire func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.room != r || p.sock != sock {
		return false
	}
	p.sock = nil
	p.grace = time.AfterFunc(grace, expire)
	r.changed()
	return true
}

// Detached reports whether p is still away after its connection dropped.
func (r *Room) Detached(p *Participant) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.room == r && p.sock == nil
}

// Token returns p's current resume token.
func (r *Room) Token(p *Participant) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.token
}

// SendToken sends p, if it is connected, the packet mk makes of its
// current resume token. The token is read and sent under the room's lock,
// so a resume (which rotates the token) cannot slip in between and leave
// the client with a stale one. Nothing is kept for a participant that is
// away: its resume brings a new token anyway.
func (r *Room) SendToken(p *Participant, mk func(token string) *socketio.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.room == r && p.sock != nil {
		if pkt := mk(p.token); pkt != nil {
			_ = p.sock.Send(pkt)
		}
	}
}

// Socket returns p's current connection, nil while it is away.
func (r *Room) Socket(p *Participant) *socketio.Socket {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.sock
}
