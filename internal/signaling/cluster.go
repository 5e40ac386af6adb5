package signaling

import (
	"bytes"
	"encoding/json"
	"hash/fnv"
	"sync"
	"sync/atomic"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// RoomHome is cluster mode as signaling sees it (internal/clusterlink
// implements it): every room is served by one node, its home, and a socket
// that joins a room homed elsewhere is relayed there.
type RoomHome interface {
	// Relay is asked on a join from a socket held here. It returns nil
	// when room is served on this node; otherwise a Remote through which
	// the socket's events, this join first, go to the room's home, which
	// answers the client itself. auth is the socket's CONNECT payload, for
	// the home's checks. For a socket relayed here from another node
	// (sock.Remote()) it returns nil when this node is (or now becomes)
	// the room's home, and an error when another node is: a socket is
	// never relayed twice.
	Relay(sock *socketio.Socket, room string, auth json.RawMessage) (Remote, error)
	// Undelivered returns the events this node sent sock, a socket
	// relayed here from another node, that never reached its client
	// there: that node died, or the client reconnected elsewhere. They go
	// to the participant's next connection. answered are the EventHash of
	// the client's events whose acks were among them: done here, but the
	// client does not know and sends them again on its next connection,
	// where they are acknowledged without being done twice. Nil for other
	// sockets.
	Undelivered(sock *socketio.Socket) (events []*socketio.Packet, answered []uint64)
	// Home returns the live node that serves room, or would serve it
	// were it new (placed as Relay places it), when that is another
	// node; "" when it is this one or cannot be known now (Redis away).
	// Nothing is relayed: it is asked for a client that can move there
	// itself (Config.MoveCookie).
	Home(room string) string
}

// Remote relays one socket held here to the node that serves its room.
type Remote interface {
	// Forward sends one of the client's events, as it came.
	Forward(ev *socketio.Event)
	// Close tells the home that the client's connection ended, with the
	// reason its OnDisconnect got.
	Close(reason string)
}

// ErrRoomMoved refuses a join that reached a node which is not (or no
// longer) the room's home through another node's relay: the client should
// reconnect, and its join then goes to the home.
var ErrRoomMoved = &rooms.Error{Code: "room-moved", Message: "the meeting is served by another server now; reconnect"}

// movedError refuses a join that should go to the room's home instead of
// being relayed there: the client sets the load balancer's cookie (Cookie)
// to the home's id (Node) and reconnects. Its error body carries both.
type movedError struct {
	Node, Cookie string
}

// ErrMoved is the refusal a movedError is.
var ErrMoved = &rooms.Error{Code: "moved", Message: "the meeting is served by another server; set the cookie and reconnect"}

func (e *movedError) Error() string { return ErrMoved.Error() }
func (e *movedError) Unwrap() error { return ErrMoved }

// wantsMove reports whether a join says its client can move to another
// node (move: true: it sets a cookie and reconnects when told to, and
// asks no more moves on that join) and is no resume: a participant that
// kept its place is taken back wherever it lands, since moving it would
// be a second reconnect after its node died or drained.
func wantsMove(args []json.RawMessage) bool {
	var a struct {
		Move   bool   `json:"move"`
		Resume string `json:"resume"`
	}
	return len(args) > 0 && json.Unmarshal(args[0], &a) == nil && a.Move && a.Resume == ""
}

// moveTo returns the node a client joining room should move to, or "": a
// client that cannot move or resumes (wantsMove), a node without the load
// balancer's cookie, a room served here, a socket relayed here (this is
// the home), a connection already in a meeting here. Nothing of the join
// is kept: the client comes back on the home.
func (s *Service) moveTo(ss *session, ev *socketio.Event, room string) string {
	if s.cfg.MoveCookie == "" || ss.sock.Remote() || !wantsMove(ev.Args) {
		return ""
	}
	if r, _ := ss.member(); r != nil {
		return "" // switching rooms on a connection in use: relayed
	}
	return s.cfg.Cluster.Home(room)
}

// relayJoin hands a join to the room's home when that is another node. It
// reports whether it did (then the join is answered from there), or the
// join's refusal.
func (s *Service) relayJoin(ss *session, ev *socketio.Event, room string) (bool, error) {
	if s.cfg.Cluster == nil {
		return false, nil
	}
	if node := s.moveTo(ss, ev, room); node != "" {
		s.log.Debug("cluster: client sent to its meeting's home", "room", room, "home", node, "socket", ss.sock.ID())
		return false, &movedError{Node: node, Cookie: s.cfg.MoveCookie}
	}
	if ss.sock.Remote() {
		// Relayed here by the node holding the socket, which found this
		// node home: Relay claims the room again if it ended meanwhile,
		// and refuses if another node has it now.
		if _, err := s.cfg.Cluster.Relay(ss.sock, room, nil); err != nil {
			return false, ErrRoomMoved
		}
		return false, nil
	}
	ss.mu.Lock()
	token := ss.connectToken
	ss.mu.Unlock()
	var auth json.RawMessage
	if token != "" {
		auth, _ = json.Marshal(map[string]string{"token": token})
	}
	rm, err := s.cfg.Cluster.Relay(ss.sock, room, auth)
	if err != nil {
		s.log.Warn("cluster: relaying join failed, serving it here", "room", room, "err", err)
		return false, nil
	}
	if rm == nil {
		return false, nil
	}
	if r, _ := ss.member(); r != nil {
		s.leave(ss, "switched rooms")
	}
	ss.mu.Lock()
	ss.remote, ss.remoteRoom = rm, room
	ss.mu.Unlock()
	rm.Forward(ev)
	return true, nil
}

// relayed is the session's Remote once its events go to another node, and
// the room it joined there.
func (ss *session) relayed() (Remote, string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.remote, ss.remoteRoom
}

// forward relays ev to the home of the session's room and reports true,
// unless ev joins another room: then the relay ends (the former home sees
// the participant leave) and ev is handled here like any first join,
// which finds the new room's home.
func (s *Service) forward(ss *session, rm Remote, room string, ev *socketio.Event) bool {
	var next string
	switch ev.Name {
	case "join-room":
		if req, err := parseJoin(ev.Args, s.cfg.MaxNameLen); err == nil {
			next = req.Room
		}
	case "room:join":
		if req, err := parseLobbyJoin(ev.Args, s.cfg.MaxNameLen); err == nil {
			next = req.Room
		}
	}
	if next == "" || next == room {
		rm.Forward(ev)
		return true
	}
	ss.mu.Lock()
	ss.remote, ss.remoteRoom = nil, ""
	ss.mu.Unlock()
	rm.Close("client namespace disconnect") // leaves the former room at once
	return false
}

// Restore takes over a room whose home node died, from the shared state it
// kept (cluster mode): its participants keep their places for the grace
// period, as after a dropped connection, and resume with their tokens
// under their ids, nobody told of a join; those who do not come back are
// seen leaving when it ends. rooms.ErrRoomExists if the room is here.
func (s *Service) Restore(sh rooms.Shared) (*rooms.Room, error) {
	r, err := s.rooms.Restore(sh, s.cfg.ReconnectGrace, func(r *rooms.Room, p *rooms.Participant) {
		if r.Detached(p) {
			s.depart(r, p, r.Leave(p), "reconnect grace period ended", true)
		}
	})
	if err != nil {
		return nil, err
	}
	s.mediaRestored(r, sh)
	s.log.Info("meeting taken over from another node", "room", sh.ID, "members", len(sh.Members), "waiting", len(sh.Waiting))
	return r, nil
}

// redeliver gives p what was sent to its former connection sock, relayed
// from another node, and never reached it there (cluster mode): ahead of
// what was kept for p since, or to its new connection.
func (s *Service) redeliver(r *rooms.Room, p *rooms.Participant, sock *socketio.Socket) {
	if s.cfg.Cluster == nil || !sock.Remote() {
		return
	}
	pkts, answered := s.cfg.Cluster.Undelivered(sock)
	if len(pkts) > 0 {
		s.log.Info("cluster: events a dropped connection missed, delivered again", "room", r.ID(), "participant", p.ID, "events", len(pkts))
		r.Redeliver(p, pkts)
	}
	if len(answered) > 0 {
		s.answered.add(p.ID, answered)
	}
}

// EventHash identifies an event by its name and arguments as the client
// encoded them: a Socket.IO packet from its '[' on (FNV-1a, 64 bits).
func EventHash(array []byte) uint64 {
	h := fnv.New64a()
	h.Write(array)
	return h.Sum64()
}

// answeredEvents are, by participant, the events done for an earlier
// connection of it whose acks never reached it (its node died): sent again
// on its next connection, they are acknowledged and not done twice.
type answeredEvents struct {
	n  atomic.Int64 // entries in m: the check costs one load while 0
	mu sync.Mutex
	m  map[string][]uint64
}

func (a *answeredEvents) add(participant string, hashes []uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.m == nil {
		a.m = map[string][]uint64{}
	}
	a.m[participant] = append(a.m[participant], hashes...)
	a.n.Add(int64(len(hashes)))
}

// forget drops a participant's entries (it is gone for good).
func (a *answeredEvents) forget(participant string) {
	if a.n.Load() == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n.Add(-int64(len(a.m[participant])))
	delete(a.m, participant)
}

// take reports whether ev, from the session's participant, is one of
// those already done, and forgets it if so.
func (a *answeredEvents) take(ss *session, ev *socketio.Event) bool {
	if a.n.Load() == 0 {
		return false
	}
	_, p := ss.member()
	if p == nil {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	hs := a.m[p.ID]
	if len(hs) == 0 {
		return false
	}
	pkts := ev.Encode()
	i := bytes.IndexByte(pkts[0].Data, '[')
	if i < 0 {
		return false
	}
	h := EventHash(pkts[0].Data[i:])
	for j, v := range hs {
		if v == h {
			a.m[p.ID] = append(hs[:j], hs[j+1:]...)
			a.n.Add(-1)
			return true
		}
	}
	return false
}

// flushRoom waits, briefly, until the room's shared state is kept for
// another node (cluster mode; Config.RoomStore), so that a node dying
// right after a join or a setting was acknowledged does not lose it.
func (s *Service) flushRoom(r *rooms.Room) {
	if s.cfg.RoomStore != nil {
		s.cfg.RoomStore.Flush(r)
	}
}
