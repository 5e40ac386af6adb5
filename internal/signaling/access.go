package signaling

import (
	"encoding/json"
	"errors"
	"github.com/huddlehq/huddle/internal/refusal"
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// Who may join, in what role, and who hears of meetings starting and
// ending: the hooks Config.Authorize and Config.OnEvent, filled by the
// server from internal/auth and internal/webhooks.

// The roles a join token gives (internal/auth's roles, by name).
const (
	RoleHost   = "host"
	RoleGuest  = "guest"
	RoleViewer = "viewer"
)

// Grant is what Config.Authorize allows a join.
type Grant struct {
	// Name replaces the name the client asked for; "": the client's.
	Name string
	// Role is RoleHost, RoleGuest or RoleViewer.
	Role string
	// Use marks a one-time token used once the join succeeded and reports
	// whether it was still unused; nil: the token is reusable.
	Use func() bool
}

// Authorizer checks a join's token (from the join payload's token, else
// the Socket.IO CONNECT auth's token; "" when neither has one) for room.
// Its errors should be *refusal.Error, as
// internal/auth's do, so that the client learns why.
type Authorizer func(room, token string) (Grant, error)

// Event is a meeting event for Config.OnEvent.
type Event struct {
	// Type is EventMeetingStarted, EventMeetingEnded,
	// EventParticipantJoined or EventParticipantLeft.
	Type string
	Room string
	// Participant, Name and Role are the participant's, for its events.
	Participant string
	Name        string
	Role        string
	// Reason is why a participant left ("left", "removed by host", ...).
	Reason string
	Time   time.Time
}

// The event types of Event.
const (
	EventMeetingStarted    = "meeting.started"
	EventMeetingEnded      = "meeting.ended"
	EventParticipantJoined = "participant.joined"
	EventParticipantLeft   = "participant.left"
)

var (
	// ErrViewer refuses what a viewer may not do: send media or chat.
	ErrViewer = &rooms.Error{Code: "viewer", Message: "viewers receive the meeting but cannot send media or chat"}
	// ErrAuthRequired is the refusal when Authorize fails without saying why.
	ErrAuthRequired = &rooms.Error{Code: "auth-required", Message: "a join token is needed"}
)

// connectAuth is a Socket.IO middleware: it keeps the token of the CONNECT
// auth payload ({"token": "..."}) for the socket's joins. It refuses no
// one; a join without a valid token is refused with a clear code instead.
func (s *Service) connectAuth(sock *socketio.Socket, auth json.RawMessage) error {
	ss := &session{sock: sock}
	ss.connectToken = joinToken([]json.RawMessage{auth})
	sock.Set(ss)
	return nil
}

// joinToken reads {token} from a join payload; "" when there is none.
func joinToken(args []json.RawMessage) string {
	var a struct {
		Token string `json:"token"`
	}
	if len(args) == 0 || len(args[0]) == 0 || json.Unmarshal(args[0], &a) != nil || len(a.Token) > 8192 {
		return ""
	}
	return a.Token
}

// authorize checks the join's token when the server wants one and shapes
// the request by the grant: the token's name, role, and a viewer that
// sends nothing. It returns the grant's Use (nil: nothing to mark).
func (s *Service) authorize(ss *session, req *rooms.JoinRequest, token string) (func() bool, error) {
	if s.cfg.Authorize == nil {
		return nil, nil
	}
	if token == "" {
		ss.mu.Lock()
		token = ss.connectToken
		ss.mu.Unlock()
	}
	g, err := s.cfg.Authorize(req.Room, token)
	if err != nil {
		var r *refusal.Error
		if errors.As(err, &r) {
			return nil, r
		}
		return nil, ErrAuthRequired
	}
	if g.Name != "" {
		if n, ok := cleanName(g.Name, s.cfg.MaxNameLen); ok {
			req.Name = n
		}
	}
	switch g.Role {
	case RoleHost:
		req.Host = true
	case RoleViewer:
		req.State = rooms.MediaState{}
	default:
		g.Role = RoleGuest
	}
	req.Role = g.Role
	return g.Use, nil
}

// tokenJoin is guardedJoin with the token checked: a join with a bad
// token is refused before it happens, except a resume, which is let back
// in when its resume token proves a participant still in the room (a
// meeting may outlast its join token), and undone otherwise.
func (s *Service) tokenJoin(ss *session, req rooms.JoinRequest, token string) (rooms.JoinResult, error) {
	use, authErr := s.authorize(ss, &req, token)
	if authErr != nil && req.Resume == "" {
		return rooms.JoinResult{}, authErr
	}
	res, err := s.guardedJoin(ss, req)
	if err != nil || res.Resumed {
		return res, err
	}
	if authErr == nil && (use == nil || use()) {
		return res, nil
	}
	// Nobody has been told of the participant yet: it leaves quietly.
	res.Room.Leave(res.Participant)
	if authErr == nil {
		authErr = &rooms.Error{Code: "auth-used", Message: "the join token admits once and has been used"}
	}
	return rooms.JoinResult{}, authErr
}

// Host-only events: with tokens, only a host token's holder controls the
// meeting, even if someone else joined first.
var hostEvents = map[string]bool{
	"room-settings": true, "admit": true, "deny": true, "remove-participant": true, "request-mute": true,
}

// viewerEvents are refused to viewers: they send no media and no chat.
var viewerEvents = map[string]bool{
	"chat-message": true, "sfu-publish": true,
}

// checkRole refuses an event the sender's role does not allow.
func (s *Service) checkRole(ss *session, ev *socketio.Event) error {
	if s.cfg.Authorize == nil {
		return nil
	}
	_, p := ss.member()
	if p == nil {
		return nil
	}
	if hostEvents[ev.Name] && p.Role != RoleHost {
		return rooms.ErrNotHost
	}
	if p.Role != RoleViewer {
		return nil
	}
	if viewerEvents[ev.Name] {
		return ErrViewer
	}
	if ev.Name == "media-state" {
		if patch, err := parseMediaState(ev.Args); err == nil && (isOn(patch.Audio) || isOn(patch.Video) || isOn(patch.Screen)) {
			return ErrViewer
		}
	}
	return nil
}

func isOn(b *bool) bool { return b != nil && *b }

// emit tells Config.OnEvent of a meeting event.
func (s *Service) emit(typ string, r *rooms.Room, p *rooms.Participant, reason string) {
	if s.cfg.OnEvent == nil {
		return
	}
	ev := Event{Type: typ, Room: r.ID(), Reason: reason, Time: time.Now()}
	if p != nil {
		ev.Participant, ev.Name, ev.Role = p.ID, p.Name, p.Role
	}
	s.cfg.OnEvent(ev)
}

// joinedEvents reports a participant now in a meeting (not one waiting).
func (s *Service) joinedEvents(r *rooms.Room, p *rooms.Participant, started bool) {
	if started {
		s.emit(EventMeetingStarted, r, nil, "")
	}
	s.emit(EventParticipantJoined, r, p, "")
	s.noteLayout(r, "joined", p.ID)
}

// leftEvents reports a member gone for good (not one from the waiting
// room: it never joined).
func (s *Service) leftEvents(r *rooms.Room, p *rooms.Participant, d rooms.Departure, why string) {
	if !d.Left || d.WasWaiting {
		return
	}
	s.emit(EventParticipantLeft, r, p, why)
	s.noteLayout(r, "left", p.ID)
	if d.Emptied {
		s.emit(EventMeetingEnded, r, nil, "")
	}
}
