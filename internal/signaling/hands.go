package signaling

import (
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// Reactions are a small fixed set, so that a reaction is a picture and
// never a message: anything else is refused with bad-request.
var reactionSet = map[string]bool{"👍": true, "👏": true, "😂": true, "❤️": true, "🎉": true, "😮": true}

// Reactions have their own allowance on top of every event's: a burst of
// reactionBurst, then one per 1/reactionRate seconds (5 per 10 s at most
// once the burst is spent), so that a held key cannot fill everyone's
// screen with emoji.
const (
	reactionBurst = 5
	reactionRate  = 0.5 // per second
)

// handEvent is the hand event everyone in the room receives.
type handEvent struct {
	ID     string `json:"id"`
	Raised bool   `json:"raised"`
	At     int64  `json:"at,omitempty"`
	// By is the host, when the host lowered someone else's hand.
	By string `json:"by,omitempty"`
}

// raiseHand handles raise-hand {raised}: the sender's own hand goes up
// (at the back of the queue) or down.
func (s *Service) raiseHand(ss *session, ev *socketio.Event) error {
	var a struct {
		Raised *bool `json:"raised"`
	}
	if err := decodeArg(ev.Args, &a); err != nil || a.Raised == nil {
		return ErrBadRequest
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	h, changed, err := r.RaiseHand(p, *a.Raised)
	if err != nil {
		return err
	}
	e := handEvent{ID: p.ID, Raised: *a.Raised, At: h.At}
	if changed {
		s.broadcastA(r, "hand", e, nil)
	}
	ack(ev, map[string]any{"ok": true, "raised": e.Raised, "at": e.At})
	return nil
}

// lowerHand handles lower-hand {id}: the host lowers someone's hand.
func (s *Service) lowerHand(ss *session, ev *socketio.Event) error {
	return s.onPeer(ss, ev, func(r *rooms.Room, by *rooms.Participant, id string) error {
		_, changed, err := r.LowerHand(by, id)
		if err != nil {
			return err
		}
		if changed {
			e := handEvent{ID: id, Raised: false}
			if id != by.ID {
				e.By = by.ID
			}
			s.broadcastA(r, "hand", e, nil)
		}
		return nil
	})
}

// reaction handles reaction {emoji}: shown to everyone, the sender
// included, over the sender's picture. Nothing is stored.
func (s *Service) reaction(ss *session, ev *socketio.Event) error {
	var a struct {
		Emoji string `json:"emoji"`
	}
	if err := decodeArg(ev.Args, &a); err != nil || !reactionSet[a.Emoji] {
		return ErrBadRequest
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	if !ss.allowReaction(time.Since(clockBase)) {
		return ErrRateLimited
	}
	s.broadcastA(r, "reaction", map[string]string{"id": p.ID, "emoji": a.Emoji}, nil)
	ack(ev, ackOK{OK: true})
	return nil
}

func (ss *session) allowReaction(now time.Duration) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.reactions.allowAt(now, reactionRate, reactionBurst)
}
