package signaling

import (
	"encoding/json"

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
	// the home's checks.
	Relay(sock *socketio.Socket, room string, auth json.RawMessage) (Remote, error)
}

// Remote relays one socket held here to the node that serves its room.
type Remote interface {
	// Forward sends one of the client's events, as it came.
	Forward(ev *socketio.Event)
	// Close tells the home that the client's connection ended, with the
	// reason its OnDisconnect got.
	Close(reason string)
}

// relayJoin hands a join to the room's home when that is another node. It
// reports whether it did (then the join is answered from there).
func (s *Service) relayJoin(ss *session, ev *socketio.Event, room string) bool {
	if s.cfg.Cluster == nil || ss.sock.Remote() {
		// A socket relayed here from another node is served here: its
		// node asked where the room's home is.
		return false
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
		return false
	}
	if rm == nil {
		return false
	}
	if r, _ := ss.member(); r != nil {
		s.leave(ss, "switched rooms")
	}
	ss.mu.Lock()
	ss.remote = rm
	ss.mu.Unlock()
	rm.Forward(ev)
	return true
}

// relayed is the session's Remote once its events go to another node.
func (ss *session) relayed() Remote {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.remote
}
