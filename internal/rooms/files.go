package rooms

import "crypto/subtle"

// ChatFile is the file of a chat message that shares one
// (internal/files): its id for the download, and what to show.
type ChatFile struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
	Type string `json:"type,omitempty"`
}

// MemberByToken returns the member whose current (or, just after a
// resume, previous) resume token token is, or nil: someone waiting, gone
// or removed holds no token of a member. The token proves the participant
// to the server's HTTP side, where no socket says who is asking.
func (r *Room) MemberByToken(token string) *Participant {
	if token == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.members {
		if subtle.ConstantTimeCompare([]byte(p.token), []byte(token)) == 1 ||
			p.prevToken != "" && subtle.ConstantTimeCompare([]byte(p.prevToken), []byte(token)) == 1 {
			return p
		}
	}
	return nil
}
