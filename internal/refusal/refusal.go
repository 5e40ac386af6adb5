// Package refusal is the one error type of a refused request: a stable
// code (the codes of docs/PROTOCOL.md and of the server API) and a message
// meant for people. Rooms, join tokens and the media side refuse with it,
// and signaling and the API answer with its code.
package refusal

// Error is a refusal. Err, when set, is the cause, for logs only: clients
// see the code and the message.
type Error struct {
	Code    string
	Message string
	Err     error
}

// New returns a refusal with this code and message.
func New(code, message string) *Error { return &Error{Code: code, Message: message} }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode gives the code and message to answer with.
func (e *Error) ErrorCode() (code, message string) { return e.Code, e.Message }
