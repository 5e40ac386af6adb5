package signaling

import (
	"log/slog"
	"net/netip"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// Config holds the limits of the signaling service. The zero value of every
// field means the default given in its comment.
type Config struct {
	// MaxParticipants per room. Default 8.
	MaxParticipants int
	// MeshLimit is the most participants of a room in which someone
	// cannot use the SFU (a seed-dialect client, or no media side): they
	// talk peer to peer. 0: MaxParticipants.
	MeshLimit int
	// MaxRooms in total. Default 10,000.
	MaxRooms int
	// MaxNameLen is the longest display name, in characters. Default 64.
	MaxNameLen int
	// MaxChatLen is the longest chat message, in characters. Default 2,000.
	MaxChatLen int
	// ChatHistory is how many chat messages a late joiner receives. Default 200.
	ChatHistory int
	// ChatRoomBytes bounds one room's chat history in bytes (oldest
	// messages go first). Default 256 KiB.
	ChatRoomBytes int
	// ChatServerBytes bounds the chat history of all rooms together.
	// Default 64 MiB.
	ChatServerBytes int
	// MaxEventBytes is the largest event payload accepted. Default 65,536.
	MaxEventBytes int
	// EventsPerSecond and EventBurst shape the per-socket token bucket.
	// Defaults 50 and 200 (a burst of ICE candidates fits).
	EventsPerSecond float64
	EventBurst      int
	// ReconnectGrace is how long a participant whose connection dropped
	// keeps its place. Default 30s.
	ReconnectGrace time.Duration

	// MaxParticipantsPerIP is how many participants one client address
	// may hold at once, counting those in a room, in a waiting room and
	// those whose connection dropped and who are within their grace
	// period. Default 50; negative: no limit.
	MaxParticipantsPerIP int
	// RoomsPerIPPerMinute is how many meetings one client address may
	// start per minute. Default 10; negative: no limit.
	RoomsPerIPPerMinute int

	// ResumeKey signs resume tokens (HMAC-SHA256). It must be the same
	// across restarts for participants to keep their ids (and the host
	// its role) through one; it is a secret. Empty: a random key per
	// process, logged as a warning.
	ResumeKey []byte

	// ClientIP returns the address a socket is counted by. Nil: the TCP
	// peer of the socket's connection. The server sets it to honour
	// --trust-proxy.
	ClientIP func(*socketio.Socket) netip.Addr
	// OnDepart is called once a participant is gone for good (it left,
	// its grace period ended, or the host removed it), not when its
	// connection merely dropped. Nil: nothing. The server revokes the
	// participant's relay credentials there. It runs on the goroutine of
	// the departure and must not block.
	OnDepart func(participantID string)

	// Authorize, when set, checks every join's token (--auth token; see
	// access.go): a join it refuses is answered with its error's code
	// (auth-required, auth-invalid, auth-expired, auth-wrong-room), and
	// roles are enforced. Nil: anyone may join (--auth open).
	Authorize Authorizer
	// OnEvent is told of meetings starting and ending and of participants
	// joining and leaving (webhooks). Nil: nobody is. It runs on the
	// goroutine of the join or departure and must not block.
	OnEvent func(Event)
	// Recorder records meetings on the server (recording.go): the host's
	// recording-start, recording-stop and recording-list. Nil: those
	// events are refused with recording-off.
	Recorder Recorder
	// Streamer streams meetings live to an RTMP(S) server (stream.go):
	// the host's stream-start and stream-stop. Nil: those events are
	// refused with stream-off.
	Streamer Streamer
	// FileMaxBytes is the largest file participants may share in the
	// chat (internal/files, served by the server over HTTP), told to
	// clients in the join ack. 0: no file sharing.
	FileMaxBytes int64
	// Cluster, when set, relays the sockets of rooms homed on other nodes
	// there (cluster.go; internal/clusterlink). Nil: a single node, every
	// room served here.
	Cluster RoomHome
	// MoveCookie is the name of the load balancer's cookie that routes a
	// client to a node, whose value is the node's id (cluster mode). A
	// client that joins with move: true on a node that is not its
	// meeting's home is refused with moved, the home and this name, and
	// reconnects there itself instead of being relayed: its socket and
	// its state are then held once, on the home. Empty: every such client
	// is relayed.
	MoveCookie string
	// RoomStore, when set, keeps a copy of every room's shared state for
	// the node that takes a room over should this one die (cluster mode;
	// internal/clusterlink implements it, and calls Service.Restore on the
	// node taking over). Nil: rooms live in this process only.
	RoomStore rooms.Store
}

// newRegistry makes the service's room registry from its configuration.
func newRegistry(cfg Config, log *slog.Logger) *rooms.Registry {
	if len(cfg.ResumeKey) == 0 {
		log.Warn("no --resume-key: resume tokens are signed with a random key, so after a restart " +
			"participants come back with new ids and the host loses its role; set --resume-key to keep them")
	}
	return rooms.NewRegistry(rooms.Config{
		MaxRooms: cfg.MaxRooms, MaxParticipants: cfg.MaxParticipants, MeshLimit: cfg.MeshLimit, ChatHistory: cfg.ChatHistory,
		ChatRoomBytes: cfg.ChatRoomBytes, ChatServerBytes: cfg.ChatServerBytes,
		MaxPerIP: cfg.MaxParticipantsPerIP, RoomsPerIPPerMinute: cfg.RoomsPerIPPerMinute,
		TokenKey: cfg.ResumeKey, Store: cfg.RoomStore,
		// How long after a start the host of before a restart may take its
		// role back: clients come back within seconds of the server, but a
		// browser tab asleep or backing off may take a while.
		ReclaimWindow: max(2*cfg.ReconnectGrace, 2*time.Minute),
	})
}

// clientIP is the address sock is counted by.
func (s *Service) clientIP(sock *socketio.Socket) netip.Addr {
	if s.cfg.ClientIP != nil {
		return s.cfg.ClientIP(sock)
	}
	return iplimit.ClientIP(sock.RemoteAddr(), nil, false)
}

// departed tells OnDepart that a participant is gone for good.
func (s *Service) departed(id string) {
	s.answered.forget(id)
	if s.cfg.OnDepart != nil {
		s.cfg.OnDepart(id)
	}
}
