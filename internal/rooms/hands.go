package rooms

import "slices"

// Hand is a raised hand: who raised it and when (Unix milliseconds). A
// room keeps its hands in the order they went up, which is the order the
// host should take them in.
type Hand struct {
	ID string `json:"id"`
	At int64  `json:"at"`
}

// RaiseHand raises or lowers p's own hand. It reports the hand as it is
// now and whether anything changed: raising a raised hand keeps its place
// in the queue rather than sending it to the back.
func (r *Room) RaiseHand(p *Participant, raised bool) (Hand, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.room != r || p.waiting {
		return Hand{}, false, ErrNotInRoom
	}
	if i := r.handIndex(p.ID); i >= 0 {
		h := r.hands[i]
		if raised {
			return h, false, nil
		}
		r.dropHandAt(i)
		return h, true, nil
	}
	if !raised {
		return Hand{ID: p.ID}, false, nil
	}
	h := Hand{ID: p.ID, At: r.reg.now().UnixMilli()}
	r.hands = append(r.hands, h)
	return h, true, nil
}

// LowerHand lowers the hand of member id; only the host may lower someone
// else's. Lowering a hand that is down changes nothing and is no error.
func (r *Room) LowerHand(by *Participant, id string) (Hand, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if by.room != r || by.waiting {
		return Hand{}, false, ErrNotInRoom
	}
	if by.ID != id && r.hostID() != by.ID {
		return Hand{}, false, ErrNotHost
	}
	if r.member(id) == nil {
		return Hand{}, false, ErrUnknownPeer
	}
	i := r.handIndex(id)
	if i < 0 {
		return Hand{ID: id}, false, nil
	}
	h := r.hands[i]
	r.dropHandAt(i)
	return h, true, nil
}

// Hands lists the raised hands, first raised first.
func (r *Room) Hands() []Hand {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Hand{}, r.hands...)
}

// dropHand forgets id's hand, if raised; the room is locked. A member who
// leaves takes its hand with it.
func (r *Room) dropHand(id string) {
	if i := r.handIndex(id); i >= 0 {
		r.dropHandAt(i)
	}
}

func (r *Room) handIndex(id string) int {
	for i, h := range r.hands {
		if h.ID == id {
			return i
		}
	}
	return -1
}

func (r *Room) dropHandAt(i int) {
	r.hands = append(r.hands[:i], r.hands[i+1:]...)
}

// LowerHandsAsServer lowers hands without a host asking (the server API):
// those of ids, or every raised hand when ids is empty. An id that is not
// a member fails the whole call with ErrUnknownPeer before any hand moves.
// It returns the hands that went down, in queue order.
func (r *Room) LowerHandsAsServer(ids []string) ([]Hand, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if r.member(id) == nil {
			return nil, ErrUnknownPeer
		}
	}
	lowered := []Hand{}
	kept := r.hands[:0]
	for _, h := range r.hands {
		if len(ids) == 0 || slices.Contains(ids, h.ID) {
			lowered = append(lowered, h)
		} else {
			kept = append(kept, h)
		}
	}
	r.hands = kept
	return lowered, nil
}
