package rooms

import "github.com/huddlehq/huddle/internal/refusal"

// Error is a refusal with a stable code (see internal/refusal).
type Error = refusal.Error

// The refusals of the room registry.
var (
	ErrRoomFull      = &Error{Code: "room-full", Message: "the meeting is full"}
	ErrTooManyRooms  = &Error{Code: "too-many-rooms", Message: "the server has too many meetings; try again later"}
	ErrLocked        = &Error{Code: "locked", Message: "the meeting is locked by its host"}
	ErrWrongPassword = &Error{Code: "wrong-password", Message: "the meeting password is missing or wrong"}
	ErrNotHost       = &Error{Code: "not-host", Message: "only the host can do that"}
	ErrUnknownPeer   = &Error{Code: "unknown-peer", Message: "no such participant in this meeting"}
	ErrNotInRoom     = &Error{Code: "not-in-room", Message: "join a meeting first"}
	ErrNotWaiting    = &Error{Code: "unknown-peer", Message: "no such participant in the waiting room"}
	ErrTooManyFromIP = &Error{Code: "too-many-participants", Message: "your address is in too many meetings at once; leave one first"}
	ErrRoomRate      = &Error{Code: "too-many-new-rooms", Message: "your address started too many meetings in the last minute; try again soon"}
)
