package signaling

import (
	"encoding/json"

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
	// to the participant's next connection. Nil for other sockets.
	Undelivered(sock *socketio.Socket) []*socketio.Packet
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

// relayJoin hands a join to the room's home when that is another node. It
// reports whether it did (then the join is answered from there), or the
// join's refusal.
func (s *Service) relayJoin(ss *session, ev *socketio.Event, room string) (bool, error) {
	if s.cfg.Cluster == nil {
		return false, nil
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
	if pkts := s.cfg.Cluster.Undelivered(sock); len(pkts) > 0 {
		s.log.Info("cluster: events a dropped connection missed, delivered again", "room", r.ID(), "participant", p.ID, "events", len(pkts))
		r.Redeliver(p, pkts)
	}
}

// flushRoom waits, briefly, until the room's shared state is kept for
// another node (cluster mode; Config.RoomStore), so that a node dying
// right after a join or a setting was acknowledged does not lose it.
func (s *Service) flushRoom(r *rooms.Room) {
	if s.cfg.RoomStore != nil {
		s.cfg.RoomStore.Flush(r)
	}
}
