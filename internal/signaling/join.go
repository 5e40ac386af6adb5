package signaling

import (
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/turn"
	"github.com/huddlehq/huddle/socketio"
)

// joinAck is the successful answer to join-room (and the admitted event).
type joinAck struct {
	OK          bool                `json:"ok"`
	ID          string              `json:"id"`
	Room        string              `json:"room"`
	Name        string              `json:"name"`
	Host        string              `json:"host"`
	ResumeToken string              `json:"resumeToken"`
	Resumed     bool                `json:"resumed"`
	Peers       []rooms.PeerInfo    `json:"peers"`
	Chat        []rooms.ChatMessage `json:"chat"`
	Settings    rooms.SettingsView  `json:"settings"`
	Hands       []rooms.Hand        `json:"hands"` // raised, first raised first
	// Spotlight is the participant the host put on everyone's stage.
	Spotlight          string           `json:"spotlight,omitempty"`
	ICEServers         []turn.ICEServer `json:"iceServers"`
	ICETransportPolicy string           `json:"iceTransportPolicy"`
	// Media is how the room's media travels ("mesh" or "sfu"); absent
	// without a media side.
	Media string `json:"media,omitempty"`
	// Role is the join token's role (host, guest, viewer); absent
	// without tokens.
	Role string `json:"role,omitempty"`
	// ServerRecording says the server records meetings (its host gets the
	// recording-* events); absent with --recording=false, where the app
	// offers its in-browser recording instead.
	ServerRecording bool `json:"serverRecording,omitempty"`
	// FileMaxBytes is the largest file the chat takes (files.go); absent
	// when the server takes none.
	FileMaxBytes int64 `json:"fileMaxBytes,omitempty"`
}

type waitingAck struct {
	OK          bool   `json:"ok"`
	Waiting     bool   `json:"waiting"`
	ID          string `json:"id"`
	ResumeToken string `json:"resumeToken"`
}

// joinRoom handles dialect A's join-room.
func (s *Service) joinRoom(ss *session, ev *socketio.Event) error {
	req, err := parseJoin(ev.Args, s.cfg.MaxNameLen)
	if err != nil {
		return err
	}
	if relayed, err := s.relayJoin(ss, ev, req.Room); relayed || err != nil {
		return err
	}
	ss.setSFU(wantsSFU(ev.Args))
	res, err := s.join(ss, req, joinToken(ev.Args))
	if err != nil {
		return err
	}
	if res.Waiting {
		ack(ev, waitingAck{OK: true, Waiting: true, ID: res.Participant.ID, ResumeToken: res.Token})
	} else {
		ack(ev, s.welcome(ss.sock, res))
		s.recordingNotice(res.Room, res.Participant, ss.sock)
		s.streamNotice(res.Room, res.Participant, ss.sock)
	}
	s.afterJoin(ss, res)
	return nil
}

// lobbyJoin handles dialect B's room:join {email, room}.
func (s *Service) lobbyJoin(ss *session, ev *socketio.Event) error {
	req, err := parseLobbyJoin(ev.Args, s.cfg.MaxNameLen)
	if err != nil {
		return err
	}
	if relayed, err := s.relayJoin(ss, ev, req.Room); relayed || err != nil {
		return err
	}
	res, err := s.join(ss, req, joinToken(ev.Args))
	if err != nil {
		return err
	}
	if res.Waiting {
		// Dialect B has no waiting room: the client is told in the ack and
		// with room:waiting, and gets its room:join only when admitted.
		ack(ev, map[string]any{"ok": true, "waiting": true, "id": res.Participant.ID, "email": req.Name, "room": req.Room})
		_ = ss.sock.Emit("room:waiting", map[string]string{"email": req.Name, "room": req.Room})
	} else {
		// A lobby client does its own mesh: its room never uses the SFU.
		s.mediaJoined(res.Room, res.Participant, ss.sock, false)
		ack(ev, map[string]any{"ok": true, "id": res.Participant.ID, "email": req.Name, "room": req.Room})
		_ = ss.sock.Emit("room:join", map[string]string{"email": req.Name, "room": req.Room})
	}
	s.afterJoin(ss, res)
	return nil
}

// sendAdmitted tells q, just let in from the waiting room on sock, in its
// dialect: admitted with the join ack's object, or dialect B's room:join.
func (s *Service) sendAdmitted(r *rooms.Room, q *rooms.Participant, sock *socketio.Socket) {
	if q.Dialect == rooms.DialectB {
		_ = sock.Emit("room:join", map[string]string{"email": q.Name, "room": r.ID()})
		return
	}
	_ = sock.Emit("admitted", s.welcome(sock, rooms.JoinResult{Room: r, Participant: q, Token: r.Token(q)}))
	s.recordingNotice(r, q, sock)
	s.streamNotice(r, q, sock)
}

// join validates the room, leaves any previous room and joins the new one.
// token is the payload's join token ("": the CONNECT's, if any).
func (s *Service) join(ss *session, req rooms.JoinRequest, token string) (rooms.JoinResult, error) {
	left := ""
	if r, p := ss.member(); r != nil {
		if r.ID() == req.Room && r.IsMember(p) && req.Resume == "" {
			return rooms.JoinResult{}, &rooms.Error{Code: "bad-request", Message: "already in this meeting"}
		}
		ss.setMember(nil, nil)
		s.depart(r, p, r.Leave(p), "switched rooms", false)
		left = p.ID
	}
	req.ID = ss.sock.ID()
	req.Socket = ss.sock
	req.SFU = s.media != nil && sfuCapable(ss.sock)
	req.IP = s.clientIP(ss.sock)
	res, err := s.tokenJoin(ss, req, token) // access.go: tokens; guard.go: password guessing, host's name
	// Switching rooms under the same id is no departure for the relay:
	// the participant's credentials stay good. Any other id is gone.
	if left != "" && (err != nil || res.Participant.ID != left) {
		s.departed(left)
	}
	if err != nil {
		return res, err
	}
	s.flushRoom(res.Room) // cluster mode: the join kept before anyone is told of it
	ss.setMember(res.Room, res.Participant)
	if !res.Resumed && !res.Waiting {
		// Told now, before the ack: a client that joins after this one
		// was answered is reported after it.
		s.joinedEvents(res.Room, res.Participant, res.Created || res.Started)
	}
	return res, nil
}

// welcome builds the join ack for a participant now in the room.
func (s *Service) welcome(sock *socketio.Socket, res rooms.JoinResult) joinAck {
	p := res.Participant
	snap := res.Room.Snapshot(p)
	servers, policy := s.ice(p.ID, sock.Request())
	if servers == nil {
		servers = []turn.ICEServer{}
	}
	return joinAck{
		OK: true, ID: p.ID, Room: res.Room.ID(), Name: p.Name, Host: snap.Host,
		ResumeToken: res.Token, Resumed: res.Resumed,
		Peers: snap.Peers, Chat: snap.Chat, Settings: snap.Settings, Hands: res.Room.Hands(), Spotlight: res.Room.Spotlight(),
		ICEServers: servers, ICETransportPolicy: policy,
		Media: s.mediaJoined(res.Room, p, sock, sfuCapable(sock)), Role: p.Role,
		ServerRecording: s.cfg.Recorder != nil, FileMaxBytes: s.cfg.FileMaxBytes,
	}
}

// afterJoin tells the others, replays what a returning participant missed
// and keeps the host's waiting list current.
func (s *Service) afterJoin(ss *session, res rooms.JoinResult) {
	p, r := res.Participant, res.Room
	switch {
	case res.Resumed:
		s.metrics.Reconnected()
		s.log.Info("participant resumed", "room", r.ID(), "participant", p.ID, "socket", ss.sock.ID())
		if old := res.Replaced; old != nil && old != ss.sock {
			// The old connection no longer speaks for the participant:
			// forget it before closing it, so its close is not a leave.
			if oss, ok := old.Get().(*session); ok {
				oss.setMember(nil, nil)
			}
			old.Disconnect()
			s.redeliver(r, p, old)
		}
		for _, pkt := range res.Pending {
			_ = ss.sock.Send(pkt)
		}
	case res.Waiting:
		s.log.Info("participant waiting", "room", r.ID(), "participant", p.ID)
		s.sendWaitingList(r)
	default:
		if res.Created {
			s.log.Info("meeting started", "room", r.ID())
		}
		s.log.Info("participant joined", "room", r.ID(), "participant", p.ID)
		s.announceJoin(r, p)
		if res.Reclaimed {
			s.log.Info("host took the role back after a restart", "room", r.ID(), "participant", p.ID)
			s.broadcastA(r, "host-changed", map[string]string{"id": p.ID}, p)
			s.sendWaitingList(r)
		}
	}
}

// announceJoin tells every other member, in its dialect, that p is in.
func (s *Service) announceJoin(r *rooms.Room, p *rooms.Participant) {
	info := r.Info(p)
	if pkt, err := socketio.EncodeEvent("user-joined", info); err == nil {
		r.Broadcast(rooms.DialectA, pkt, p)
	}
	if pkt, err := socketio.EncodeEvent("user:joined", map[string]string{"email": info.Name, "id": info.ID}); err == nil {
		r.Broadcast(rooms.DialectB, pkt, p)
	}
}

// announceLeave tells every member, in its dialect, that id is gone.
func (s *Service) announceLeave(r *rooms.Room, id string) {
	body := map[string]string{"id": id}
	if pkt, err := socketio.EncodeEvent("user-left", body); err == nil {
		r.Broadcast(rooms.DialectA, pkt, nil)
	}
	if pkt, err := socketio.EncodeEvent("user:left", body); err == nil {
		r.Broadcast(rooms.DialectB, pkt, nil)
	}
}

func (s *Service) leaveRoom(ss *session, ev *socketio.Event) error {
	if r, _ := ss.member(); r == nil {
		return rooms.ErrNotInRoom
	}
	s.leave(ss, "left")
	ack(ev, ackOK{OK: true})
	return nil
}

// leave takes the session's participant out of its room and tells the
// others.
func (s *Service) leave(ss *session, why string) {
	r, p := ss.member()
	ss.setMember(nil, nil)
	if r == nil {
		return
	}
	s.depart(r, p, r.Leave(p), why, true)
}

// depart announces a departure that already happened in the registry.
// forGood is false only when the same socket goes on to another room
// (join decides then whether the participant's id is gone).
func (s *Service) depart(r *rooms.Room, p *rooms.Participant, d rooms.Departure, why string, forGood bool) {
	if !d.Left {
		return
	}
	if forGood {
		s.departed(p.ID)
	}
	s.log.Info("participant left", "room", r.ID(), "participant", p.ID, "why", why)
	s.mediaLeft(r, p)
	s.leftEvents(r, p, d, why)
	if d.Ended {
		s.log.Info("meeting ended", "room", r.ID())
		return
	}
	if d.WasWaiting {
		s.sendWaitingList(r)
		return
	}
	s.announceLeave(r, p.ID)
	if d.NewHost != nil {
		s.broadcastA(r, "host-changed", map[string]string{"id": d.NewHost.ID}, nil)
		s.sendWaitingList(r)
		if d.NewHost.Dialect == rooms.DialectA {
			// Its token now says host: after a restart it takes the role back.
			r.SendToken(d.NewHost, resumeTokenPacket)
		}
	}
}

// disconnected runs when a socket is gone. An explicit disconnect leaves at
// once; a dropped connection keeps the participant's place for the grace
// period, so a network switch or a server restart does not end a call.
func (s *Service) disconnected(ss *session, reason string) {
	s.log.Info("connection closed", "socket", ss.sock.ID(), "transport", ss.sock.Transport(),
		"remote", ss.sock.RemoteAddr(), "reason", reason)
	r, p := ss.member()
	if r == nil {
		return
	}
	if reason == "client namespace disconnect" {
		s.leave(ss, reason)
		return
	}
	detached := r.Detach(p, ss.sock, s.cfg.ReconnectGrace, func() {
		if r.Detached(p) {
			s.depart(r, p, r.Leave(p), "reconnect grace period ended", true)
		}
	})
	if detached {
		s.redeliver(r, p, ss.sock)
		s.log.Info("participant connection lost", "room", r.ID(), "participant", p.ID, "reason", reason, "grace", s.cfg.ReconnectGrace)
	}
}

// broadcastA sends an event to the dialect-A members of r but except.
func (s *Service) broadcastA(r *rooms.Room, event string, v any, except *rooms.Participant) {
	pkt, err := socketio.EncodeEvent(event, v)
	if err != nil {
		s.log.Error("encode", "event", event, "err", err)
		return
	}
	r.Broadcast(rooms.DialectA, pkt, except)
}

// resumeTokenPacket is the resume-token event: the participant became host
// and this token says so (the one it held still resumes it, once).
func resumeTokenPacket(token string) *socketio.Packet {
	pkt, err := socketio.EncodeEvent("resume-token", map[string]string{"resumeToken": token})
	if err != nil {
		return nil
	}
	return pkt
}
