package server

import (
	"context"
	"errors"
	"time"

	"github.com/huddlehq/huddle/internal/media"
	"github.com/huddlehq/huddle/internal/recording"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/webhooks"
	"github.com/prometheus/client_golang/prometheus"
)

// newRecorder starts server recording (--recording) over the media side,
// and sets sigCfg's Recorder and OnEvent (a meeting that ends stops its
// recording). sig is read only once a recording stops or names a
// participant, after the service exists. It returns nil when recording
// is off.
func (s *Server) newRecorder(med signaling.Media, sigCfg *signaling.Config, sig **signaling.Service, hooks *webhooks.Dispatcher) (*recording.Manager, error) {
	side, ok := med.(mediaSide)
	if !s.cfg.Media.Recording.Enabled || !ok {
		return nil, nil
	}
	rc := s.cfg.Media.Recording.Recording()
	rc.Logger = s.log
	rc.Names = func(room, id string) string {
		if info, err := (*sig).GetRoom(room); err == nil {
			for _, p := range info.Members {
				if p.ID == id {
					return p.Name
				}
			}
		}
		return ""
	}
	rc.OnStop = func(room string, m recording.Manifest) { (*sig).RecordingStopped(room, m.Reason) }
	if hooks != nil {
		rc.OnFinished = func(room string, m recording.Manifest) { hooks.Send(recordingFinished(room, m)) }
	}
	rc.OnComposed = func(room string, m recording.Manifest) { (*sig).RecordingComposed(room, m.ID, m.ComposeError) }
	rec, err := recording.New(rc, side.m)
	if err != nil {
		return nil, err
	}
	sigCfg.Recorder = recorderSide{rec}
	next := sigCfg.OnEvent
	sigCfg.OnEvent = func(ev signaling.Event) {
		if ev.Type == signaling.EventMeetingEnded {
			go rec.MeetingEnded(ev.Room) // waits for the files: not on the departure's goroutine
		}
		if next != nil {
			next(ev)
		}
	}
	return rec, nil
}

// closeRecorder stops the recordings at shutdown, waiting a while for
// their compositions.
func closeRecorder(rec *recording.Manager) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30_000_000_000) // 30 s
		defer cancel()
		return rec.Close(ctx)
	}
}

// recorderSide is a recording.Manager as signaling sees it.
type recorderSide struct{ m *recording.Manager }

// Note puts a layout event into a recorded meeting's manifest
// (signaling.LayoutNoter).
func (r recorderSide) Note(room, kind, participant string) { r.m.Note(room, kind, participant) }

// Refusals with their codes, for the host's client.
var (
	errRecordingActive   = &rooms.Error{Code: "recording-active", Message: "the meeting is being recorded already"}
	errRecordingInactive = &rooms.Error{Code: "recording-inactive", Message: "the meeting is not being recorded"}
	errRecordingDisk     = &rooms.Error{Code: "recording-disk-full", Message: "the server has not enough free disk space to record"}
	errRecordingNoSFU    = &rooms.Error{Code: "recording-needs-sfu", Message: "a participant's app cannot send its media through the server, which recording needs"}
)

func recorderError(err error) error {
	switch {
	case errors.Is(err, recording.ErrActive):
		return errRecordingActive
	case errors.Is(err, recording.ErrNotActive):
		return errRecordingInactive
	case errors.Is(err, recording.ErrDiskFull):
		return errRecordingDisk
	case errors.Is(err, media.ErrNotCapable), errors.Is(err, media.ErrNotInSFU):
		return errRecordingNoSFU
	}
	return err
}

func (a recorderSide) Start(room, by string) error {
	_, err := a.m.Start(room, by)
	return recorderError(err)
}

func (a recorderSide) Stop(room string) error {
	_, err := a.m.Stop(room)
	return recorderError(err)
}

func (a recorderSide) Active(room string) bool {
	_, ok := a.m.Active(room)
	return ok
}

func (a recorderSide) List(room string) (any, error) { return a.m.List(room) }

// recordingStops are the reasons a recording ends, each a series of
// huddle_recordings_stopped_total.
var recordingStops = []string{
	recording.ReasonStopped, recording.ReasonMeetingEnd, recording.ReasonMaxDuration,
	recording.ReasonDiskFull, recording.ReasonWriteError, recording.ReasonShutdown,
}

// registerRecordingMetrics exports the recorder's counts on /metrics.
func (s *Server) registerRecordingMetrics(rec *recording.Manager) {
	counter := func(name, help string, pick func(recording.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(rec.Stats())) })
	}
	cs := []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "huddle_recordings_active", Help: "Server recordings running now."},
			func() float64 { return float64(rec.Stats().Active) }),
		counter("huddle_recordings_started_total", "Server recordings started.",
			func(st recording.Stats) uint64 { return st.Started }),
		counter("huddle_recordings_dropped_packets_total", "Media packets a recording could not write in time (disk too slow).",
			func(st recording.Stats) uint64 { return st.DroppedPackets }),
		counter("huddle_recordings_composed_total", "Recordings composed into one playable file.",
			func(st recording.Stats) uint64 { return st.Composed }),
		counter("huddle_recordings_compose_failed_total", "Compositions by ffmpeg that failed.",
			func(st recording.Stats) uint64 { return st.ComposeFailed }),
	}
	for _, reason := range recordingStops {
		cs = append(cs, prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "huddle_recordings_stopped_total", Help: "Server recordings stopped, by reason.",
			ConstLabels: prometheus.Labels{"reason": reason},
		}, func() float64 { return float64(rec.Stats().Stopped[reason]) }))
	}
	s.metrics.Registry().MustRegister(cs...)
}

// recordingFinished is the recording.finished webhook of a recording whose
// files are final.
func recordingFinished(room string, m recording.Manifest) webhooks.Event {
	end := time.Now()
	if m.Stopped != nil {
		end = *m.Stopped
	}
	return webhooks.Event{
		Type: "recording.finished", Room: room, Time: end, Reason: m.Reason,
		Recording: &webhooks.Recording{
			ID: m.ID, Seconds: end.Sub(m.Started).Round(time.Millisecond).Seconds(), Tracks: len(m.Tracks),
			Composed: m.Composed != "", Error: m.ComposeError,
		},
	}
}
