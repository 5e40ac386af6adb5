package signaling

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// chat handles chat-message {text}: stored in the history and sent to every
// member, the sender included, with a server id and time.
func (s *Service) chat(ss *session, ev *socketio.Event) error {
	text, err := parseChat(ev.Args, s.cfg.MaxChatLen)
	if err != nil {
		return err
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	msg := rooms.ChatMessage{ID: newID(), From: p.ID, Name: p.Name, Text: text, TS: time.Now().UnixMilli()}
	s.postChat(r, msg)
	ack(ev, map[string]any{"ok": true, "id": msg.ID, "ts": msg.TS})
	return nil
}

// postChat keeps msg in r's history and sends it to every member. In
// cluster mode the history is kept for another node before anyone sees
// the message: one that the room's home acknowledged and then died with
// would otherwise be missing from the history everyone resumes with.
func (s *Service) postChat(r *rooms.Room, msg rooms.ChatMessage) {
	r.AddChat(msg)
	s.flushRoom(r)
	s.broadcastA(r, "chat-message", msg, nil)
}

// mediaState handles media-state {audio, video, screen, recording}.
func (s *Service) mediaState(ss *session, ev *socketio.Event) error {
	patch, err := parseMediaState(ev.Args)
	if err != nil {
		return err
	}
	r, p, err := ss.joined()
	if err != nil {
		return err
	}
	st, before := r.SetState(p, patch)
	if st.Screen != before.Screen {
		s.noteLayout(r, map[bool]string{true: "screen-on", false: "screen-off"}[st.Screen], p.ID)
	}
	s.broadcastA(r, "media-state", struct {
		From string `json:"from"`
		rooms.MediaState
	}{p.ID, st}, p)
	ack(ev, ackOK{OK: true})
	return nil
}

// iceServers hands out fresh relay credentials for long calls.
func (s *Service) iceServers(ss *session, ev *socketio.Event) error {
	_, p, err := ss.joined()
	if err != nil {
		return err
	}
	servers, policy := s.ice(p.ID, ss.sock.Request())
	ack(ev, map[string]any{"ok": true, "iceServers": servers, "iceTransportPolicy": policy})
	return nil
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
