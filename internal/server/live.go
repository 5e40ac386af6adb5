package server

import (
	"context"
	"errors"
	"time"

	"github.com/huddlehq/huddle/internal/live"
	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/prometheus/client_golang/prometheus"
)

// newStreamer starts live streaming (--streaming) over the media side,
// and sets sigCfg's Streamer and OnEvent (a meeting that ends stops its
// stream). sig is read only once a status changes or a tile needs a
// name, after the service exists. It returns nil when streaming is off.
func (s *Server) newStreamer(med signaling.Media, sigCfg *signaling.Config, sig **signaling.Service) *live.Manager {
	side, ok := med.(mediaSide)
	if !s.cfg.Media.Live.Enabled || !ok {
		return nil
	}
	lc := s.cfg.Media.Live.Live()
	lc.Logger = s.log
	lc.Names = func(room, id string) string {
		if info, err := (*sig).GetRoom(room); err == nil {
			for _, p := range info.Members {
				if p.ID == id {
					return p.Name
				}
			}
		}
		return ""
	}
	// Screens already shared when a stream starts go on its stage at once.
	lc.Sharing = func(room string) []string {
		var ids []string
		if info, err := (*sig).GetRoom(room); err == nil {
			for _, p := range info.Members {
				if p.Screen {
					ids = append(ids, p.ID)
				}
			}
		}
		return ids
	}
	lc.OnStatus = func(room string, st live.Status) {
		if *sig != nil {
			(*sig).StreamStatusChanged(room, streamStatus(st))
		}
	}
	m := live.New(lc, side.m)
	sigCfg.Streamer = streamerSide{m}
	next := sigCfg.OnEvent
	sigCfg.OnEvent = func(ev signaling.Event) {
		if ev.Type == signaling.EventMeetingEnded {
			go m.MeetingEnded(ev.Room) // waits for ffmpeg: not on the departure's goroutine
		}
		if next != nil {
			next(ev)
		}
	}
	return m
}

// closeStreamer stops the streams at shutdown.
func closeStreamer(m *live.Manager) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return m.Close(ctx)
	}
}

func streamStatus(st live.Status) signaling.StreamStatus {
	return signaling.StreamStatus{State: st.State, Reason: st.Reason, Target: st.Target}
}

// streamerSide is a live.Manager as signaling sees it.
type streamerSide struct{ m *live.Manager }

// Refusals with their codes, for the host's client.
var (
	errStreamActive   = &rooms.Error{Code: "stream-active", Message: "the meeting is being streamed already"}
	errStreamInactive = &rooms.Error{Code: "stream-inactive", Message: "the meeting is not being streamed"}
	errStreamBadURL   = &rooms.Error{Code: "stream-bad-url", Message: "the stream URL must start with rtmp:// or rtmps://, name a host, and have at most 512 characters, without spaces"}
	errStreamBadKey   = &rooms.Error{Code: "stream-bad-key", Message: "the stream key must have at most 256 characters, without spaces, '/', '?' or '#'"}
	errStreamPrivate  = &rooms.Error{Code: "stream-private-target", Message: "the stream URL points into the server's own or a private network"}
	errStreamDNS      = &rooms.Error{Code: "stream-unresolved", Message: "the stream URL's host name does not resolve"}
	errStreamBusy     = &rooms.Error{Code: "stream-busy", Message: "the server streams as many meetings as it may; try again later"}
	errStreamNoSFU    = &rooms.Error{Code: "stream-needs-sfu", Message: "a participant's app cannot send its media through the server, which streaming needs"}
)

func streamerError(err error) error {
	switch {
	case errors.Is(err, live.ErrActive):
		return errStreamActive
	case errors.Is(err, live.ErrNotActive):
		return errStreamInactive
	case errors.Is(err, live.ErrBadURL):
		return errStreamBadURL
	case errors.Is(err, live.ErrBadKey):
		return errStreamBadKey
	case errors.Is(err, live.ErrPrivateTarget):
		return errStreamPrivate
	case errors.Is(err, live.ErrUnresolved):
		return errStreamDNS
	case errors.Is(err, live.ErrBusy):
		return errStreamBusy
	case errors.Is(err, media.ErrNotCapable), errors.Is(err, media.ErrNotInSFU):
		return errStreamNoSFU
	}
	return err
}

func (a streamerSide) Start(room, by, url, key string) (signaling.StreamStatus, error) {
	st, err := a.m.Start(room, by, url, key)
	return streamStatus(st), streamerError(err)
}

func (a streamerSide) Stop(room string) error { return streamerError(a.m.Stop(room)) }

// Note passes the meeting's screen-on and screen-off on to its stream.
func (a streamerSide) Note(room, kind, participant string) { a.m.Note(room, kind, participant) }

func (a streamerSide) Status(room string) (signaling.StreamStatus, bool) {
	st, ok := a.m.Status(room)
	return streamStatus(st), ok
}

// registerStreamMetrics exports the streamer's counts on /metrics.
func (s *Server) registerStreamMetrics(m *live.Manager) {
	counter := func(name, help string, pick func(live.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(m.Stats())) })
	}
	s.metrics.Registry().MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "huddle_live_streams_active", Help: "Live streams running now (starting, live or reconnecting)."},
			func() float64 { return float64(m.Stats().Active) }),
		counter("huddle_live_streams_started_total", "Live streams started by hosts.",
			func(st live.Stats) uint64 { return st.Started }),
		counter("huddle_live_streams_failed_total", "Live streams given up after failing to reach their server.",
			func(st live.Stats) uint64 { return st.Failed }),
		counter("huddle_live_stream_reconnects_total", "ffmpeg runs of live streams that ended in an error and were started again.",
			func(st live.Stats) uint64 { return st.Reconnects }),
		counter("huddle_live_stream_dropped_packets_total", "Media packets a live stream could not pass to ffmpeg in time.",
			func(st live.Stats) uint64 { return st.DroppedPackets }),
	)
}
