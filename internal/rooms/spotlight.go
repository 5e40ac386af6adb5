package rooms

// SetSpotlight puts member id on everyone's stage, or ends the spotlight
// when id is "". Only the host may; it reports whether anything changed.
// The spotlight goes when its participant leaves for good.
func (r *Room) SetSpotlight(by *Participant, id string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if by.room != r || by.waiting {
		return false, ErrNotInRoom
	}
	if r.hostID() != by.ID {
		return false, ErrNotHost
	}
	if id != "" && r.member(id) == nil {
		return false, ErrUnknownPeer
	}
	if r.spotlight == id {
		return false, nil
	}
	r.spotlight = id
	return true, nil
}

// Spotlight returns the member on everyone's stage, or "".
func (r *Room) Spotlight() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spotlight
}
