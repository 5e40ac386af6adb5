package signaling

import (
	"errors"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// Recorder is the server recording of meetings (internal/recording,
// adapted by the server). Its refusals are *rooms.Error where they carry
// a code; any other error is answered as recording-failed with its text.
type Recorder interface {
	// Start starts recording a room for the participant by.
	Start(room, by string) error
	// Stop stops a room's recording.
	Stop(room string) error
	// Active reports whether a room is being recorded.
	Active(room string) bool
	// List describes a room's recordings for its host, with download URLs.
	List(room string) (any, error)
}

// LayoutNoter is what a Recorder may also do: note what changed on
// screen in a recorded meeting (who joined or left, screen shares, the
// spotlight), for its manifest. recording.Manager does.
type LayoutNoter interface {
	Note(room, kind, participant string)
}

// noteLayout tells the recorder, if it takes notes, of a layout event.
func (s *Service) noteLayout(r *rooms.Room, kind, id string) {
	if n, ok := s.cfg.Recorder.(LayoutNoter); ok {
		n.Note(r.ID(), kind, id)
	}
	// A live stream puts a shared screen on its stage too.
	if n, ok := s.cfg.Streamer.(LayoutNoter); ok {
		n.Note(r.ID(), kind, id)
	}
}

// Refusals of the recording events.
var (
	ErrRecordingOff    = &rooms.Error{Code: "recording-off", Message: "server recording is not enabled on this server"}
	ErrRecordingFailed = &rooms.Error{Code: "recording-failed", Message: "the recording could not be started or stopped"}
)

// recordingMsg is the recording event: whether the meeting is recorded
// now, who changed it, and why it stopped when it stopped by itself.
type recordingMsg struct {
	Active bool   `json:"active"`
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// attachRecording registers the recording events.
func (s *Service) attachRecording(on func(string, handler)) {
	on("recording-start", s.recordingStart)
	on("recording-stop", s.recordingStop)
	on("recording-list", s.recordingList)
}

// recordingHost returns the sender's room when it may control the
// recording: the host (see hostControl).
func (s *Service) recordingHost(ss *session) (*rooms.Room, *rooms.Participant, error) {
	if s.cfg.Recorder == nil {
		return nil, nil, ErrRecordingOff
	}
	return s.hostControl(ss)
}

// hostControl returns the sender's room when it may control what the
// server does for the meeting (recording, streaming): a dialect-A client
// that is the host (with join tokens, one of role host).
func (s *Service) hostControl(ss *session) (*rooms.Room, *rooms.Participant, error) {
	r, p, err := ss.joined()
	if err != nil {
		return nil, nil, err
	}
	if p.Dialect != rooms.DialectA {
		return nil, nil, ErrUnknownEvent
	}
	host := r.Host() == p.ID
	if s.cfg.Authorize != nil {
		host = p.Role == RoleHost
	}
	if !host {
		return nil, nil, rooms.ErrNotHost
	}
	return r, p, nil
}

func (s *Service) recordingStart(ss *session, ev *socketio.Event) error {
	r, p, err := s.recordingHost(ss)
	if err != nil {
		return err
	}
	if err := s.cfg.Recorder.Start(r.ID(), p.ID); err != nil {
		return recordingRefusal(err)
	}
	s.log.Info("recording started", "room", r.ID(), "by", p.ID)
	s.tellRecording(r, recordingMsg{Active: true, By: p.ID})
	ack(ev, ackOK{OK: true})
	return nil
}

func (s *Service) recordingStop(ss *session, ev *socketio.Event) error {
	r, p, err := s.recordingHost(ss)
	if err != nil {
		return err
	}
	if err := s.cfg.Recorder.Stop(r.ID()); err != nil {
		return recordingRefusal(err)
	}
	s.tellRecording(r, recordingMsg{Active: false, By: p.ID})
	ack(ev, ackOK{OK: true})
	return nil
}

func (s *Service) recordingList(ss *session, ev *socketio.Event) error {
	r, _, err := s.recordingHost(ss)
	if err != nil {
		return err
	}
	list, err := s.cfg.Recorder.List(r.ID())
	if err != nil {
		return recordingRefusal(err)
	}
	ack(ev, map[string]any{"ok": true, "recordings": list})
	return nil
}

// recordingRefusal answers a recorder's error with its code, or as
// recording-failed with its text (the recorder's messages are for people).
func recordingRefusal(err error) error {
	var re *rooms.Error
	if errors.As(err, &re) {
		return re
	}
	return &rooms.Error{Code: ErrRecordingFailed.Code, Message: err.Error()}
}

// RecordingStopped tells a meeting that its recording stopped by itself
// (its maximum length, the disk, an error): the server calls it from
// recording.Config.OnStop.
func (s *Service) RecordingStopped(room, reason string) {
	if r := s.rooms.Lookup(room); r != nil {
		s.log.Info("recording stopped", "room", room, "reason", reason)
		s.tellRecording(r, recordingMsg{Active: false, Reason: reason})
	}
}

// composedMsg is the recording-composed event: the playable file of
// recording id is made, or why not.
type composedMsg struct {
	ID    string `json:"id"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// RecordingComposed tells a meeting's host that the composition of one of
// its recordings ended, made or failed (errText: why, e.g. ffmpeg died):
// the server calls it from recording.Config.OnComposed. A meeting that
// ended has nobody to tell; its host sees it in recording-list.
func (s *Service) RecordingComposed(room, id, errText string) {
	r := s.rooms.Lookup(room)
	if r == nil {
		return
	}
	host := r.Member(r.Host())
	if host == nil || host.Dialect != rooms.DialectA {
		return
	}
	pkt, err := socketio.EncodeEvent("recording-composed", composedMsg{ID: id, OK: errText == "", Error: errText})
	if err != nil {
		return
	}
	if errText != "" {
		s.log.Warn("recording composition failed", "room", room, "recording", id, "err", errText)
	}
	r.Deliver(host, pkt)
}

// recordingNotice tells a participant who just joined that the meeting is
// being recorded. Under s.told, as the broadcasts of starts and stops: a
// join that crosses a stop is told before the stop's broadcast goes, or
// not at all, never "recording" after it.
func (s *Service) recordingNotice(r *rooms.Room, p *rooms.Participant, sock *socketio.Socket) {
	if s.cfg.Recorder == nil || sock == nil || p.Dialect != rooms.DialectA {
		return
	}
	s.told.Lock()
	defer s.told.Unlock()
	if s.cfg.Recorder.Active(r.ID()) {
		_ = sock.Emit("recording", recordingMsg{Active: true})
	}
}

// tellRecording tells a meeting that its recording started or stopped,
// after the recorder did: ordered with the joiners' notices. The
// recorder is never called under s.told but for Active, which calls
// nothing back.
func (s *Service) tellRecording(r *rooms.Room, m recordingMsg) {
	s.told.Lock()
	defer s.told.Unlock()
	s.broadcastA(r, "recording", m, nil)
}
