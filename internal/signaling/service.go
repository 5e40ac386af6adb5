// Package signaling implements Huddle's signaling protocol (docs/PROTOCOL.md)
// on top of a Socket.IO server: both event dialects, rooms, relays, chat and
// host controls.
package signaling

import (
	"log/slog"
	"net/http"

	"github.com/huddlehq/huddle/internal/socketio"
	"github.com/huddlehq/huddle/internal/turn"
)

// ICEFunc returns the ICE servers (with fresh credentials) and the ICE
// transport policy ("all" or "relay") for a participant. r is the request
// that opened the participant's session.
type ICEFunc func(participantID string, r *http.Request) (servers []turn.ICEServer, policy string)

// Service is the signaling logic bound to one Socket.IO server.
type Service struct {
	cfg Config
	ice ICEFunc
	log *slog.Logger
}

// NewService returns a service; Attach binds it to a Socket.IO server.
func NewService(cfg Config, ice ICEFunc, log *slog.Logger) *Service {
	return &Service{cfg: cfg, ice: ice, log: log}
}

// Attach registers the service's event handlers on io.
func (s *Service) Attach(io *socketio.Server) {
	io.OnConnection(func(sock *socketio.Socket) {})
}
