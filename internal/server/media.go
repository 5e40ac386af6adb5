package server

import (
	"encoding/json"
	"log/slog"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/signaling"
)

// newMedia starts the media side of meetings (mesh or SFU per room).
func newMedia(cfg config.MediaConfig, log *slog.Logger) (signaling.Media, error) {
	mc := cfg.Media()
	mc.Logger = log
	m, err := media.New(mc)
	if err != nil {
		return nil, err
	}
	return mediaSide{m}, nil
}

// mediaSide is a media.Manager as signaling sees it: the two packages
// know nothing of each other.
type mediaSide struct{ m *media.Manager }

func (a mediaSide) Joined(room, id string, conn signaling.MediaConn, capable bool) string {
	return string(a.m.Joined(room, id, conn, capable))
}

func (a mediaSide) Left(room, id string) { a.m.Left(room, id) }

// Mode is the room's media mode, for the server API's room views.
func (a mediaSide) Mode(room string) string { return string(a.m.Mode(room)) }
func (a mediaSide) Events() []string        { return media.Events }

func (a mediaSide) Handle(room, id, event string, args []json.RawMessage) (any, error) {
	return a.m.Handle(room, id, event, args)
}
