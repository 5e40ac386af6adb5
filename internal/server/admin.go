package server

import (
	"github.com/huddlehq/huddle/internal/admin"
	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/metrics"
	"github.com/huddlehq/huddle/internal/signaling"
)

// The admin dashboard (/admin) over the signaling service, the media
// side, the relay and the engine: internal/admin reads them through
// narrow functions.

// newAdmin is the /admin handler; with neither --admin-password nor
// --api-keys it answers 404 "not configured".
func (s *Server) newAdmin(sig *signaling.Service, med signaling.Media, relay func() metrics.Relay, io engine) (*admin.Handler, error) {
	cfg := admin.Config{
		Password: s.cfg.Admin.Password, Keys: s.cfg.Auth.APIKeys, PublicURL: s.cfg.PublicURL,
		Rooms: apiRooms{sig}, ClientIP: s.clientIP, Logger: s.log,
		Sockets: func() (int, int) {
			st := io.Stats()
			return st.Polling, st.WebSocket
		},
	}
	if m, ok := med.(mediaSide); ok {
		cfg.Media = m.adminFigures
	}
	if relay != nil {
		cfg.Relay = func() admin.Relay {
			r := relay()
			return admin.Relay{Allocations: r.Allocations, BytesRelayed: r.BytesRelayed}
		}
	}
	return admin.New(cfg)
}

// adminFigures is the SFU's figures of a room's participants.
func (a mediaSide) adminFigures(room string) map[string]admin.MediaFigures {
	return figures(a.m, room)
}

func figures(m *media.Manager, room string) map[string]admin.MediaFigures {
	st := m.Stats(room)
	out := make(map[string]admin.MediaFigures, len(st))
	for id, p := range st {
		out[id] = admin.MediaFigures{PublishedBytes: p.PublishedBytes, ForwardedBytes: p.ForwardedBytes,
			Loss: p.Loss, RTT: p.RTT, Reported: p.Reported}
	}
	return out
}
