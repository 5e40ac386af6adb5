package signaling

import (
	"encoding/json"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// Media is the media side of meetings (internal/media implements it):
// signaling tells it who is where, and hands it the events it names,
// after the checks every event gets (rate, size, membership).
type Media interface {
	// Joined records a member, new or back with a new socket; capable
	// says whether its client asked for the SFU events. It returns the
	// room's media mode for the ack.
	Joined(room, id string, conn MediaConn, capable bool) string
	// Left forgets a member that left for good.
	Left(room, id string)
	// Events are the event names Handle takes.
	Events() []string
	// Handle runs one of them and returns the ack's body; its refusals
	// are *refusal.Error.
	Handle(room, id, event string, args []json.RawMessage) (any, error)
}

// MediaConn is how the media side reaches a member's client.
type MediaConn interface {
	Emit(event string, args ...any) error
}

// attachMedia registers the media side's events.
func (s *Service) attachMedia(on func(string, handler)) {
	if s.media == nil {
		return
	}
	for _, name := range s.media.Events() {
		on(name, s.mediaEvent(name))
	}
}

// mediaEvent passes a member's media event on and acks the answer.
func (s *Service) mediaEvent(name string) handler {
	return func(ss *session, ev *socketio.Event) error {
		r, p, err := ss.joined()
		if err != nil {
			return err
		}
		if p.Dialect != rooms.DialectA {
			return ErrUnknownEvent
		}
		reply, err := s.media.Handle(r.ID(), p.ID, name, ev.Args)
		if err != nil {
			return err // a *refusal.Error, answered with its code
		}
		ack(ev, reply)
		return nil
	}
}

// mediaJoined tells the media side of a new member and returns the mode
// for the join ack ("" without a media side).
func (s *Service) mediaJoined(r *rooms.Room, p *rooms.Participant, sock *socketio.Socket, capable bool) string {
	if s.media == nil {
		return ""
	}
	return s.media.Joined(r.ID(), p.ID, sock, capable && p.Dialect == rooms.DialectA)
}

// mediaRestored tells the media side of the members of a room taken over
// from another node (cluster mode), away until they resume: all of them
// at once, so that a meeting that was on the SFU is on it again before
// the first one resumes, instead of being told to go peer to peer while
// the media side has heard of fewer than three.
func (s *Service) mediaRestored(r *rooms.Room, sh rooms.Shared) {
	if s.media == nil {
		return
	}
	for _, m := range sh.Members {
		s.media.Joined(r.ID(), m.ID, nil, m.SFU && m.Dialect == rooms.DialectA)
	}
}

func (s *Service) mediaLeft(r *rooms.Room, p *rooms.Participant) {
	if s.media != nil {
		s.media.Left(r.ID(), p.ID)
	}
}

// wantsSFU reads the sfu flag of a join-room payload: the client speaks
// the SFU events. Anything else (a room id string, no flag) is false.
func wantsSFU(args []json.RawMessage) bool {
	var a struct {
		SFU bool `json:"sfu"`
	}
	return len(args) > 0 && json.Unmarshal(args[0], &a) == nil && a.SFU
}

func (ss *session) setSFU(on bool) {
	ss.mu.Lock()
	ss.sfu = on
	ss.mu.Unlock()
}

// sfuCapable reports whether sock's client joined with sfu: true.
func sfuCapable(sock *socketio.Socket) bool {
	ss := sessionOf(sock)
	if ss == nil {
		return false
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.sfu
}
