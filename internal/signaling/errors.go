package signaling

import "github.com/huddlehq/huddle/internal/rooms"

// Refusals of the signaling layer; the room registry adds its own
// (rooms.ErrRoomFull, ...). Codes are listed in docs/PROTOCOL.md.
var (
	ErrBadRequest   = &rooms.Error{Code: "bad-request", Message: "the payload is missing or malformed"}
	ErrInvalidRoom  = &rooms.Error{Code: "invalid-room", Message: "a room id is 1-64 letters, digits, '-' or '_'"}
	ErrInvalidName  = &rooms.Error{Code: "invalid-name", Message: "a name is 1-64 letters, digits, punctuation, symbols or spaces, some of them visible; no control or formatting characters"}
	ErrTooLarge     = &rooms.Error{Code: "too-large", Message: "the payload is too large"}
	ErrRateLimited  = &rooms.Error{Code: "rate-limited", Message: "too many events; slow down"}
	ErrUnknownEvent = &rooms.Error{Code: "unknown-event", Message: "no such event"}
	ErrDenied       = &rooms.Error{Code: "denied", Message: "the host did not let you in"}
	ErrRemoved      = &rooms.Error{Code: "removed", Message: "the host removed you from the meeting"}
	ErrInternal     = &rooms.Error{Code: "internal", Message: "internal error"}
)
