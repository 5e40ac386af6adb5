package signaling

import (
	"github.com/huddlehq/huddle/internal/rooms"
)

// More of the server's own control of meetings for the REST API (see
// admin.go): hands and server recording, done as the host would do them
// with events, and announced to the members the same way, with
// by: SystemFrom.

// LowerHands lowers the hands of ids in a meeting, or every raised hand
// when ids is empty; each member is told with hand {id, raised: false, by:
// "system"}. It returns the ids whose hands went down (none were up: an
// empty list, no error).
func (s *Service) LowerHands(room string, ids []string) ([]string, error) {
	r := s.rooms.Lookup(room)
	if r == nil {
		return nil, ErrNoRoom
	}
	hands, err := r.LowerHandsAsServer(ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(hands))
	for _, h := range hands {
		s.broadcastA(r, "hand", handEvent{ID: h.ID, Raised: false, By: SystemFrom}, nil)
		out = append(out, h.ID)
	}
	return out, nil
}

// StartRecording starts the server recording of a live meeting, as its
// host's recording-start does; members get recording {active: true, by:
// "system"}.
func (s *Service) StartRecording(room string) error {
	r, err := s.recordedRoom(room)
	if err != nil {
		return err
	}
	if err := s.cfg.Recorder.Start(r.ID(), SystemFrom); err != nil {
		return recordingRefusal(err)
	}
	s.log.Info("recording started", "room", r.ID(), "by", SystemFrom)
	s.tellRecording(r, recordingMsg{Active: true, By: SystemFrom})
	return nil
}

// StopRecording stops a meeting's recording, as its host's recording-stop
// does.
func (s *Service) StopRecording(room string) error {
	r, err := s.recordedRoom(room)
	if err != nil {
		return err
	}
	if err := s.cfg.Recorder.Stop(r.ID()); err != nil {
		return recordingRefusal(err)
	}
	s.tellRecording(r, recordingMsg{Active: false, By: SystemFrom})
	return nil
}

// ListRecordings lists a room's recordings with download URLs. The room
// need not be live: recordings outlast their meetings.
func (s *Service) ListRecordings(room string) (any, error) {
	if s.cfg.Recorder == nil {
		return nil, ErrRecordingOff
	}
	if !validRoom(room) {
		return nil, ErrInvalidRoom
	}
	list, err := s.cfg.Recorder.List(room)
	if err != nil {
		return nil, recordingRefusal(err)
	}
	return list, nil
}

// recordedRoom is a live room whose recording the server may control.
func (s *Service) recordedRoom(room string) (*rooms.Room, error) {
	if s.cfg.Recorder == nil {
		return nil, ErrRecordingOff
	}
	r := s.rooms.Lookup(room)
	if r == nil {
		return nil, ErrNoRoom
	}
	return r, nil
}
