package server

import "errors"

// ErrTooManyConnections refuses a Socket.IO CONNECT from an address that
// already holds --max-conns-per-ip sessions. Its text is what the client
// sees in CONNECT_ERROR.
var ErrTooManyConnections = errors.New("too many connections")
