package signaling

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// Streamer is the live streaming of meetings to an RTMP(S) server
// (internal/live, adapted by the server). Its refusals are *rooms.Error
// where they carry a code; any other error is answered as stream-failed
// with its text.
type Streamer interface {
	// Start streams a room to url with key, for the participant by; the
	// status returned is the first (starting), with the target masked.
	Start(room, by, url, key string) (StreamStatus, error)
	// Stop stops a room's stream.
	Stop(room string) error
	// Status is a room's stream's status, while it has one.
	Status(room string) (StreamStatus, bool)
}

// StreamStatus is a stream's state: starting, live, reconnecting, failed
// or stopped, with the reason of the last three. Target, the URL with the
// key masked, goes only to the host.
type StreamStatus struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	Target string `json:"target,omitempty"`
}

// Refusals of the stream events.
var (
	ErrStreamOff    = &rooms.Error{Code: "stream-off", Message: "live streaming is not enabled on this server"}
	ErrStreamFailed = &rooms.Error{Code: "stream-failed", Message: "the live stream could not be started or stopped"}
)

// Lengths of the stream-start fields, checked again by the streamer:
// refused here before anything else looks at them.
const (
	maxStreamURL = 512
	maxStreamKey = 256
)

// streamStatusMsg is the stream-status event, sent to everyone: no target.
type streamStatusMsg struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// attachStream registers the live streaming events.
func (s *Service) attachStream(on func(string, handler)) {
	on("stream-start", s.streamStart)
	on("stream-stop", s.streamStop)
}

// streamHost returns the sender's room when it may control the stream:
// the host, as for recording (hostControl).
func (s *Service) streamHost(ss *session) (*rooms.Room, *rooms.Participant, error) {
	if s.cfg.Streamer == nil {
		return nil, nil, ErrStreamOff
	}
	return s.hostControl(ss)
}

// parseStreamStart decodes stream-start {url, key}.
func parseStreamStart(args []json.RawMessage) (url, key string, err error) {
	var a struct {
		URL *string `json:"url"`
		Key *string `json:"key"`
	}
	if err := decodeArg(args, &a); err != nil || a.URL == nil {
		return "", "", ErrBadRequest
	}
	if a.Key != nil {
		key = *a.Key
	}
	if len(*a.URL) > maxStreamURL || len(key) > maxStreamKey {
		return "", "", ErrTooLarge
	}
	return *a.URL, key, nil
}

func (s *Service) streamStart(ss *session, ev *socketio.Event) error {
	r, p, err := s.streamHost(ss)
	if err != nil {
		return err
	}
	url, key, err := parseStreamStart(ev.Args)
	if err != nil {
		return err
	}
	st, err := s.cfg.Streamer.Start(r.ID(), p.ID, url, key)
	if err != nil {
		return streamRefusal(err)
	}
	// Not the key, nor the target: the URL may carry a secret too.
	s.log.Info("live stream started", "room", r.ID(), "by", p.ID)
	ack(ev, map[string]any{"ok": true, "status": st})
	return nil
}

func (s *Service) streamStop(ss *session, ev *socketio.Event) error {
	r, _, err := s.streamHost(ss)
	if err != nil {
		return err
	}
	// A stop lets ffmpeg finish the stream properly, which may take
	// seconds: the host's ack does not wait for that (everyone hears
	// stream-status "stopped" when it is done), only for a refusal.
	room := r.ID()
	refused := make(chan error, 1)
	go func() { refused <- s.cfg.Streamer.Stop(room) }()
	select {
	case err := <-refused:
		if err != nil {
			return streamRefusal(err)
		}
	case <-time.After(streamStopAckWait):
	}
	ack(ev, ackOK{OK: true})
	return nil
}

// streamStopAckWait is how long stream-stop waits for the streamer before
// it acknowledges: long enough for a refusal, short of ffmpeg's wind-down.
const streamStopAckWait = 500 * time.Millisecond

// streamRefusal answers a streamer's error with its code, or as
// stream-failed with its text (the streamer's messages are for people).
func streamRefusal(err error) error {
	var re *rooms.Error
	if errors.As(err, &re) {
		return re
	}
	return &rooms.Error{Code: ErrStreamFailed.Code, Message: err.Error()}
}

// StreamStatusChanged tells a meeting its stream's new status: the server
// calls it from live.Config.OnStatus, for every change (the host's start
// and stop included).
func (s *Service) StreamStatusChanged(room string, st StreamStatus) {
	if r := s.rooms.Lookup(room); r != nil {
		s.broadcastA(r, "stream-status", streamStatusMsg{State: st.State, Reason: st.Reason}, nil)
	}
}

// streamNotice tells a participant who just joined that the meeting is
// being streamed, and how.
func (s *Service) streamNotice(r *rooms.Room, p *rooms.Participant, sock *socketio.Socket) {
	if s.cfg.Streamer == nil || sock == nil || p.Dialect != rooms.DialectA {
		return
	}
	if st, ok := s.cfg.Streamer.Status(r.ID()); ok {
		_ = sock.Emit("stream-status", streamStatusMsg{State: st.State, Reason: st.Reason})
	}
}
