package turn

import (
	"log/slog"
	"net/http"
)

// CONTRACT (written before the implementation): internal/server uses these
// names; the implementation keeps them.

// Server is the embedded STUN/TURN relay.
type Server struct{}

// NewServer starts the relay's listeners described by cfg.
func NewServer(cfg Config, log *slog.Logger) (*Server, error) { return &Server{}, nil }

// Close stops the relay and frees every allocation.
func (s *Server) Close() error { return nil }

// ICE hands out ICE server lists with freshly minted credentials.
type ICE struct{ cfg Config }

// NewICE returns the ICE configuration source for clients.
func NewICE(cfg Config) *ICE { return &ICE{cfg: cfg} }

// For returns the ICE servers for one participant and the transport policy
// ("all", or "relay" with ForceRelay). r is the request that opened the
// participant's session: its Host names the relay when no public IP is set.
// It has the signature of signaling.ICEFunc.
func (i *ICE) For(participantID string, r *http.Request) ([]ICEServer, string) {
	return nil, "all"
}
