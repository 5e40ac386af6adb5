package server

import (
	"encoding/json"
	"log/slog"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/prometheus/client_golang/prometheus"
)

// newMedia starts the media side of meetings (mesh or SFU per room).
func newMedia(cfg config.MediaConfig, log *slog.Logger) (mediaSide, error) {
	mc := cfg.Media()
	mc.Logger = log
	m, err := media.New(mc)
	if err != nil {
		return mediaSide{}, err
	}
	return mediaSide{m}, nil
}

// registerMediaMetrics exports the SFU's counters.
func (s *Server) registerMediaMetrics(m mediaSide) {
	for _, reason := range sfu.DropReasons {
		s.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "huddle_sfu_dropped_packets_total", Help: "Packets the SFU received and dropped, by reason: unknown-source (no connection's), srtp (not decrypted or a replay), unknown-ssrc (not negotiated), too-many-ssrcs (a connection past its number of SSRCs), tcp-limit (ICE-TCP connections refused to an address holding 64).",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(m.m.SFUStats().Dropped[reason]) }))
	}
}

// mediaSide is a media.Manager as signaling sees it: the two packages
// know nothing of each other.
type mediaSide struct{ m *media.Manager }

func (a mediaSide) Joined(room, id string, conn signaling.MediaConn, capable bool) string {
	return string(a.m.Joined(room, id, conn, capable))
}

func (a mediaSide) Left(room, id string) { a.m.Left(room, id) }

// SetPolicy gives a room its own media mode (the server API's rooms).
func (a mediaSide) SetPolicy(room, mode string) error { return a.m.SetPolicy(room, media.Mode(mode)) }

// Mode is the room's media mode, for the server API's room views.
func (a mediaSide) Mode(room string) string { return string(a.m.Mode(room)) }
func (a mediaSide) Events() []string        { return media.Events }

func (a mediaSide) Handle(room, id, event string, args []json.RawMessage) (any, error) {
	return a.m.Handle(room, id, event, args)
}
