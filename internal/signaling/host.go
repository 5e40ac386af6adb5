package signaling

import (
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

const maxPasswordLen = 128

// roomSettings handles the host's room-settings {locked?, password?, waitingRoom?}.
func (s *Service) roomSettings(ss *session, ev *socketio.Event) error {
	patch, err := parseSettings(ev.Args)
	if err != nil {
		return err
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	view, err := r.Configure(p, patch)
	if err != nil {
		return err
	}
	s.flushRoom(r)
	// Never log the password itself.
	s.log.Info("room settings", "room", r.ID(), "locked", view.Locked, "password", view.HasPassword, "waitingRoom", view.WaitingRoom)
	s.broadcastA(r, "room-settings", view, nil)
	if !view.WaitingRoom {
		for _, w := range r.Waiting() {
			if q, err := r.Admit(p, w.ID); err == nil {
				s.admitted(r, q)
			}
		}
		s.sendWaitingList(r)
	}
	ack(ev, map[string]any{"ok": true, "settings": view})
	return nil
}

// onPeer runs a host action on the participant named by the event's {id}
// and acknowledges it.
func (s *Service) onPeer(ss *session, ev *socketio.Event, act func(r *rooms.Room, by *rooms.Participant, id string) error) error {
	id, err := decodeID(ev.Args)
	if err != nil {
		return err
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	if err := act(r, p, id); err != nil {
		return err
	}
	ack(ev, ackOK{OK: true})
	return nil
}

func (s *Service) admit(ss *session, ev *socketio.Event) error {
	return s.onPeer(ss, ev, func(r *rooms.Room, by *rooms.Participant, id string) error {
		q, err := r.Admit(by, id)
		if err != nil {
			return err
		}
		s.admitted(r, q)
		s.sendWaitingList(r)
		return nil
	})
}

// admitted welcomes q, just let in from the waiting room, and tells the
// others. A q that is away gets its welcome when it resumes.
func (s *Service) admitted(r *rooms.Room, q *rooms.Participant) {
	if sock := r.Socket(q); sock != nil {
		s.sendAdmitted(r, q, sock)
	}
	s.log.Info("participant admitted", "room", r.ID(), "participant", q.ID)
	s.joinedEvents(r, q, false)
	s.announceJoin(r, q)
}

func (s *Service) deny(ss *session, ev *socketio.Event) error {
	return s.onPeer(ss, ev, func(r *rooms.Room, by *rooms.Participant, id string) error {
		q, err := r.Deny(by, id)
		if err != nil {
			return err
		}
		if sock := r.Socket(q); sock != nil {
			_ = sock.Emit("denied", errorBody{Code: ErrDenied.Code, Message: ErrDenied.Message})
		}
		s.log.Info("participant denied", "room", r.ID(), "participant", q.ID)
		s.sendWaitingList(r)
		return nil
	})
}

func (s *Service) removeParticipant(ss *session, ev *socketio.Event) error {
	return s.onPeer(ss, ev, func(r *rooms.Room, by *rooms.Participant, id string) error {
		q, d, err := r.Remove(by, id)
		if err != nil {
			return err
		}
		if d.Socket != nil {
			_ = d.Socket.Emit("removed", map[string]string{"by": by.ID, "code": ErrRemoved.Code, "message": ErrRemoved.Message})
		}
		s.depart(r, q, d, "removed by host", true)
		return nil
	})
}

func (s *Service) requestMute(ss *session, ev *socketio.Event) error {
	return s.onPeer(ss, ev, func(r *rooms.Room, by *rooms.Participant, id string) error {
		if r.Host() != by.ID {
			return rooms.ErrNotHost
		}
		pkt, err := socketio.EncodeEvent("mute-request", map[string]string{"from": by.ID})
		if err != nil {
			return err
		}
		return r.DeliverTo(id, pkt)
	})
}

// sendWaitingList gives the host the current waiting room.
func (s *Service) sendWaitingList(r *rooms.Room) {
	host := r.Member(r.Host())
	if host == nil {
		return
	}
	pkt, err := socketio.EncodeEvent("waiting-list", map[string]any{"waiting": r.Waiting()})
	if err != nil {
		return
	}
	r.Deliver(host, pkt)
}
