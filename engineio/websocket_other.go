//go:build !linux

package engineio

import (
	"errors"
	"net/http"
	"syscall"
)

// eventDrivenSupported: only Linux has the poller; elsewhere every
// WebSocket is read by gws.
const eventDrivenSupported = false

var errNoEventDriven = errors.New("engineio: event-driven reads need Linux")

type poller struct{ srv *Server }

func (srv *Server) acceptEventDriven(http.ResponseWriter, *http.Request, []byte) (wsConn, error) {
	return nil, errNoEventDriven
}

func startEventDriven(conn wsConn, s *Session) {
	conn.close()
	s.onWebSocketGone(conn, "transport error")
}

// writeNonBlocking writes nothing here: the drain goroutine does it all.
func writeNonBlocking(syscall.RawConn, []byte) int { return 0 }
