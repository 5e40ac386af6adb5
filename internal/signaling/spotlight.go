package signaling

import (
	"github.com/huddlehq/huddle/socketio"
)

// maxID bounds a participant id in a request; real ones are 20 characters.
const maxID = 64

// spotlight handles spotlight {id}: the host puts a participant on
// everyone's stage ("" ends it). Everyone receives spotlight {id, by};
// the join ack carries the current one.
func (s *Service) spotlight(ss *session, ev *socketio.Event) error {
	var a struct {
		ID *string `json:"id"`
	}
	if err := decodeArg(ev.Args, &a); err != nil || a.ID == nil || len(*a.ID) > maxID {
		return ErrBadRequest
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	changed, err := r.SetSpotlight(p, *a.ID)
	if err != nil {
		return err
	}
	if changed {
		s.broadcastA(r, "spotlight", map[string]string{"id": *a.ID, "by": p.ID}, nil)
		s.noteLayout(r, "spotlight", *a.ID)
	}
	ack(ev, ackOK{OK: true})
	return nil
}
