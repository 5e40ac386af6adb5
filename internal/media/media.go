// Package media decides how each meeting's media travels, peer to peer
// (a mesh) or through the server's SFU, and carries the SFU's side of the
// signaling (docs/PROTOCOL.md, "Media through the server").
//
// Two people talk peer to peer: lowest latency, no server load, DTLS end
// to end. When a third joins, the room moves to the SFU; when it has been
// back at two for Config.MeshAfter, it moves back. Clients are told with a
// media-mode event and keep the old path until the new one carries media,
// so a move shows no frozen tile. Only clients that said they speak the
// SFU events (sfu: true in join-room) take part; a room with any other
// client stays a mesh, so the seeds' clients never see an SFU offer.
//
// Signaling calls Joined, Resumed and Left as membership changes, and
// passes the sfu-* events of members on; it keeps doing the checks every
// event gets (rate, size, membership).
package media

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/webrtc/v4"
	"golang.org/x/time/rate"
)

// Mode is how a room's media travels.
type Mode string

// The modes; Auto is a policy, a room itself is always Mesh or SFU.
const (
	Auto Mode = "auto"
	Mesh Mode = "mesh"
	SFU  Mode = "sfu"
)

// Errors returned for sfu-* events; signaling turns them into ack codes.
var (
	ErrNotInSFU   = errors.New("media: the meeting is not using the SFU")
	ErrNotCapable = errors.New("media: this client did not ask for the SFU")
	ErrBadMode    = errors.New("media: mode must be auto, mesh or sfu")
)

// Config says when rooms use the SFU. The zero value of every field means
// the default in its comment.
type Config struct {
	// Mode is Auto (default), Mesh (never the SFU) or SFU (always, when
	// every member can).
	Mode Mode
	// SFUFrom is the number of members from which an Auto room uses the
	// SFU. Default 3.
	SFUFrom int
	// MeshAfter is how long an Auto room in the SFU must stay below
	// SFUFrom before it moves back to a mesh: a participant who drops and
	// rejoins does not make everyone switch twice. Default 5s.
	MeshAfter time.Duration
	// NegotiationsPerSecond and NegotiationBurst bound how often one
	// member may publish (offer), subscribe or leave the SFU: a burst,
	// then a steady rate (negotiate.go). Default 1 per second after a
	// burst of 10.
	NegotiationsPerSecond float64
	NegotiationBurst      int
	// SFU configures the forwarding itself.
	SFU sfu.Config
	// Logger receives the logs. Nil: slog.Default().
	Logger *slog.Logger
}

// ParseMode reads a --media value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Auto, Mesh, SFU:
		return m, nil
	case "":
		return Auto, nil
	}
	return "", ErrBadMode
}

func (c Config) withDefaults() Config {
	if c.Mode == "" {
		c.Mode = Auto
	}
	if c.SFUFrom <= 1 {
		c.SFUFrom = 3
	}
	if c.MeshAfter <= 0 {
		c.MeshAfter = 5 * time.Second
	}
	if c.NegotiationsPerSecond <= 0 {
		c.NegotiationsPerSecond = 1
	}
	if c.NegotiationBurst <= 0 {
		c.NegotiationBurst = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SFU.Logger == nil {
		c.SFU.Logger = c.Logger
	}
	return c
}

// Conn is how the package talks to one member's client: its current
// Socket.IO socket (which changes when the member resumes).
type Conn interface {
	Emit(event string, args ...any) error
}

// Manager holds the media state of every room. It is safe for concurrent
// use.
type Manager struct {
	cfg Config
	sfu *sfu.SFU
	log *slog.Logger

	mu    sync.Mutex
	rooms map[string]*room
	// policies are the rooms' own modes (SetPolicy), in place of cfg.Mode.
	policies map[string]Mode
}

// New returns a Manager.
func New(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, rooms: map[string]*room{}, policies: map[string]Mode{}}
	sc := cfg.SFU
	sc.OnSpeaker = m.speakerChanged
	s, err := sfu.New(sc)
	if err != nil {
		return nil, err
	}
	m.sfu = s
	return m, nil
}

// speakerChanged tells a room in the SFU who its dominant speaker is now
// (active-speaker {id}), from the audio levels the SFU reads: in a large
// meeting the clients may not hear everyone to judge for themselves.
func (m *Manager) speakerChanged(roomID, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.rooms[roomID]
	if r == nil || r.mode != SFU {
		return
	}
	for _, mem := range r.members {
		mem.emit("active-speaker", map[string]string{"id": id})
	}
}

// room is one meeting's media state.
type room struct {
	id   string
	mode Mode // Mesh or SFU
	// members is a slice, not a map: most rooms hold two or three
	// people, and a map's buckets cost more than the whole room (the
	// connect benchmark counts every byte per participant).
	members []*member
	// meshTimer moves an Auto room back to a mesh once it has been small
	// for MeshAfter.
	meshTimer *time.Timer
	// required counts the Require(on) not yet undone: while above zero
	// the room stays in the SFU (require.go).
	required int
}

// find returns the member with this id, or nil.
func (r *room) find(id string) *member {
	for _, m := range r.members {
		if m.id == id {
			return m
		}
	}
	return nil
}

// remove takes the member with this id out and returns it, or nil.
func (r *room) remove(id string) *member {
	for i, m := range r.members {
		if m.id == id {
			r.members = append(r.members[:i], r.members[i+1:]...)
			return m
		}
	}
	return nil
}

// member is one participant as the media side sees it.
type member struct {
	id      string
	capable bool

	mu   sync.Mutex // guards conn and negotiations; never held while calling the SFU
	conn Conn
	// negotiations is the member's renegotiation bucket (negotiate.go);
	// nil until its first.
	negotiations *rate.Limiter
	// peerMu guards peer. The SFU offers from inside Join, which emits
	// on conn, so the two locks are apart.
	peerMu sync.Mutex
	peer   *sfu.Peer // nil until it joins the SFU
}

func (m *member) emit(event string, v any) {
	m.mu.Lock()
	c := m.conn
	m.mu.Unlock()
	if c != nil {
		_ = c.Emit(event, v)
	}
}

// Offer and Candidate make a member the sfu.Signaler of its SFU peer.
func (m *member) Offer(sd webrtc.SessionDescription) {
	m.emit("sfu-offer", map[string]string{"type": sd.Type.String(), "sdp": sd.SDP})
}

func (m *member) Candidate(d sfu.Direction, c webrtc.ICECandidateInit) {
	m.emit("sfu-candidate", candidateMsg{Direction: d, Candidate: c})
}

type candidateMsg struct {
	Direction sfu.Direction           `json:"direction"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

// modeMsg is the media-mode event: how the room's media travels now.
type modeMsg struct {
	Mode Mode `json:"mode"`
}

// Close releases the SFU's media ports (sfu.SFU.Close), once the
// meetings have ended.
func (m *Manager) Close() error { return m.sfu.Close() }

// SFUStats returns the SFU's counters.
func (m *Manager) SFUStats() sfu.Stats { return m.sfu.Stats() }
