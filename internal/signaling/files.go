package signaling

import (
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
)

// Files shared in the chat (internal/files) are uploaded and downloaded
// over HTTP, where no socket says who asks: the client shows its resume
// token, and FileMember finds the member that holds it now. The upload's
// chat message comes from the server (ShareFile), so its name and size
// are the stored file's, not what a client claims.

// FileMember returns the id and role of the member of room whose current
// resume token token is. Someone waiting, gone or removed is no member:
// ErrNotInRoom; a meeting that does not exist (here) is ErrNoRoom.
func (s *Service) FileMember(room, token string) (id, role string, err error) {
	r := s.rooms.Lookup(room)
	if r == nil {
		return "", "", ErrNoRoom
	}
	p := r.MemberByToken(token)
	if p == nil {
		return "", "", rooms.ErrNotInRoom
	}
	return p.ID, p.Role, nil
}

// ShareFile posts the chat message of a file that member from shared:
// kept in the history (late joiners get it) and sent to every member, the
// sender included, as chat-message {id, from, name, text, ts, file}; text
// is the file's name, for clients that know no files. ErrNotInRoom when
// from is no longer a member.
func (s *Service) ShareFile(room, from string, f rooms.ChatFile) (rooms.ChatMessage, error) {
	r := s.rooms.Lookup(room)
	if r == nil {
		return rooms.ChatMessage{}, ErrNoRoom
	}
	p := r.Member(from)
	if p == nil {
		return rooms.ChatMessage{}, rooms.ErrNotInRoom
	}
	msg := rooms.ChatMessage{ID: newID(), From: p.ID, Name: p.Name, Text: f.Name, TS: time.Now().UnixMilli(), File: &f}
	s.postChat(r, msg)
	return msg, nil
}
