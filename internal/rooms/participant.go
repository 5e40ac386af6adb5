package rooms

import (
	"net/netip"
	"time"

	"github.com/huddlehq/huddle/socketio"
)

// Dialect is the event vocabulary a participant joined with; it decides how
// the participant is told about others.
type Dialect uint8

const (
	// DialectA is join-room / user-joined / offer / answer / ice-candidate.
	DialectA Dialect = iota
	// DialectB is the lobby tutorial's room:join / user:call / ...
	DialectB
)

// MediaState is what a participant sends and does.
type MediaState struct {
	Audio     bool `json:"audio"`
	Video     bool `json:"video"`
	Screen    bool `json:"screen"`
	Recording bool `json:"recording"`
}

// maxPending bounds the packets kept for a participant whose connection
// dropped; past it the participant is given up. Most are broadcasts,
// shared with the others. It holds a few seconds of a busy meeting: in a
// cluster, what a dead node never delivered comes on top (TestCluster
// NumberedThroughEdgeKill: 384 events at 200 a second, then more while
// the client reconnects; at 512 the participant was given up 1.3 s after
// its node was found dead).
const maxPending = 2048

// Participant is one person in a room. Its mutable fields are guarded by
// the room's lock.
type Participant struct {
	ID      string
	Name    string
	Dialect Dialect
	// JoinedAt orders participants for the host succession.
	JoinedAt time.Time
	// Role is the join token's role ("" without tokens).
	Role string

	// hostRight is set for a join token's host (JoinRequest.Host).
	hostRight bool
	// sfu is set when its client can use the SFU (JoinRequest.SFU).
	sfu   bool
	state MediaState
	token string
	// prevToken also resumes p: the token it held before it became host,
	// in case the new one (sent as it became host) never reached it.
	prevToken string
	// tokenHash and prevHash resume a participant restored from another
	// process's shared state (Registry.Restore) until it is back.
	tokenHash, prevHash string
	ip                  netip.Addr // counted in the registry's perIP until it leaves
	// uncounted is set for a restored participant: its address is not
	// known, so it holds nothing in perIP.
	uncounted bool
	room      *Room // nil once the participant has left
	waiting   bool
	sock      *socketio.Socket // nil while disconnected within the grace period
	pending   []*socketio.Packet
	grace     *time.Timer
}

// PeerInfo is what others learn of a participant.
type PeerInfo struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is the join token's role, absent without tokens.
	Role string `json:"role,omitempty"`
	MediaState
}

func (p *Participant) info() PeerInfo {
	return PeerInfo{ID: p.ID, Name: p.Name, Role: p.Role, MediaState: p.state}
}

// deliver sends pkt now, or keeps it for when the participant is back.
// from is the participant whose event caused it, or nil: its sends leave
// together when its handler returns (see socketio.Socket.SendFrom).
// Called with the room locked.
func (p *Participant) deliver(pkt *socketio.Packet, from *Participant) {
	if p.sock != nil {
		var src *socketio.Socket
		if from != nil {
			src = from.sock
		}
		if p.sock.SendFrom(src, pkt) == nil {
			return
		}
		// The connection is closing (or so slow that it is being closed),
		// but its grace period has not started yet: keep the packet for the
		// resume rather than drop it.
	}
	if len(p.pending) >= maxPending {
		// Too much missed to replay: end the grace period now, so the
		// others see a leave and the participant rejoins afresh (with the
		// chat history) rather than with a silent gap.
		if p.grace != nil {
			p.grace.Reset(0)
		}
		return
	}
	p.pending = append(p.pending, pkt)
}

// Redeliver gives p packets meant for an earlier connection of it that
// never reached it (the cluster node holding it died): to its connection,
// or, while it is away, ahead of what was kept for it since.
func (r *Room) Redeliver(p *Participant, pkts []*socketio.Packet) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.room != r {
		return
	}
	if p.sock == nil {
		p.pending = append(append([]*socketio.Packet(nil), pkts...), p.pending...)
		if len(p.pending) > maxPending && p.grace != nil {
			p.grace.Reset(0) // too much to replay, as in deliver
		}
		return
	}
	for _, pkt := range pkts {
		p.deliver(pkt, nil)
	}
}
