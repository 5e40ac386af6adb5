package rooms

// Error is a refusal with a stable code (the codes of docs/PROTOCOL.md) and
// a message meant for people.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// ErrorCode gives the code and message (the server API answers with them).
func (e *Error) ErrorCode() (code, message string) { return e.Code, e.Message }

// The refusals of the room registry.
var (
	ErrRoomFull      = &Error{"room-full", "the meeting is full"}
	ErrTooManyRooms  = &Error{"too-many-rooms", "the server has too many meetings; try again later"}
	ErrLocked        = &Error{"locked", "the meeting is locked by its host"}
	ErrWrongPassword = &Error{"wrong-password", "the meeting password is missing or wrong"}
	ErrNotHost       = &Error{"not-host", "only the host can do that"}
	ErrUnknownPeer   = &Error{"unknown-peer", "no such participant in this meeting"}
	ErrNotInRoom     = &Error{"not-in-room", "join a meeting first"}
	ErrNotWaiting    = &Error{"unknown-peer", "no such participant in the waiting room"}
	ErrTooManyFromIP = &Error{"too-many-participants", "your address is in too many meetings at once; leave one first"}
	ErrRoomRate      = &Error{"too-many-new-rooms", "your address started too many meetings in the last minute; try again soon"}
)
