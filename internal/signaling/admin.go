package signaling

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// The server's own control of meetings, for the REST API (internal/api):
// what a host does with events, done by the server without a host.

// ErrNoRoom is the refusal for a room that does not exist.
var ErrNoRoom = &rooms.Error{Code: "not-found", Message: "no such meeting"}

// SystemName is the sender name of the server's chat messages; their
// from is SystemFrom.
const (
	SystemName = "Huddle"
	SystemFrom = "system"
)

// RoomInfo is a meeting as the API shows it.
type RoomInfo struct {
	rooms.View
	// Media is "mesh" or "sfu" ("" without a media side).
	Media string
}

// RoomOptions are the settings of a room created ahead.
type RoomOptions struct {
	Password        string
	Locked          bool
	WaitingRoom     bool
	MaxParticipants int       // 0: the server's --max-participants
	Expires         time.Time // zero: never; then the room is ended
	// Media is the room's own media mode (auto, mesh or sfu); "": the
	// server's --media.
	Media string
}

// mediaPolicy is the media side's per-room mode, when it has one.
type mediaPolicy interface{ SetPolicy(room, mode string) error }

// ErrMediaMode: a room's media mode that is not auto, mesh or sfu, or a
// server without a media side.
var ErrMediaMode = &rooms.Error{Code: "bad-request", Message: "media must be auto, mesh or sfu"}

// mediaModer is the media side's room mode, when it tells it.
type mediaModer interface{ Mode(room string) string }

func (s *Service) info(r *rooms.Room) RoomInfo {
	ri := RoomInfo{View: r.View()}
	if m, ok := s.media.(mediaModer); ok && len(ri.Members) > 0 {
		ri.Media = m.Mode(r.ID())
	}
	return ri
}

// ListRooms describes every meeting, sorted by id.
func (s *Service) ListRooms() []RoomInfo {
	out := []RoomInfo{}
	for _, r := range s.rooms.Rooms() {
		out = append(out, s.info(r))
	}
	return out
}

// GetRoom describes one meeting, or ErrNoRoom.
func (s *Service) GetRoom(id string) (RoomInfo, error) {
	r := s.rooms.Lookup(id)
	if r == nil {
		return RoomInfo{}, ErrNoRoom
	}
	return s.info(r), nil
}

// CreateRoom makes a meeting ahead of its participants, with settings; it
// lasts until EndRoom or its expiry, however often it empties.
func (s *Service) CreateRoom(id string, o RoomOptions) (RoomInfo, error) {
	if !validRoom(id) {
		return RoomInfo{}, ErrInvalidRoom
	}
	if utf8.RuneCountInString(o.Password) > maxPasswordLen || !utf8.ValidString(o.Password) {
		return RoomInfo{}, ErrTooLarge
	}
	if o.MaxParticipants < 0 || !o.Expires.IsZero() && !o.Expires.After(time.Now()) {
		return RoomInfo{}, ErrBadRequest
	}
	mp, _ := s.media.(mediaPolicy)
	if o.Media != "" && (mp == nil || (o.Media != "auto" && o.Media != "mesh" && o.Media != "sfu")) {
		return RoomInfo{}, ErrMediaMode
	}
	r, err := s.rooms.Create(id, rooms.Settings{Password: o.Password, Locked: o.Locked,
		WaitingRoom: o.WaitingRoom, MaxParticipants: o.MaxParticipants}, o.Expires)
	if err != nil {
		return RoomInfo{}, err
	}
	if o.Media != "" {
		if err := mp.SetPolicy(id, o.Media); err != nil {
			return RoomInfo{}, &rooms.Error{Code: "too-many-rooms", Message: err.Error()}
		}
	}
	s.log.Info("meeting created by the API", "room", id, "expires", o.Expires, "media", o.Media)
	if !o.Expires.IsZero() {
		time.AfterFunc(time.Until(o.Expires), func() {
			// Only this room: one ended early and made again is another.
			if s.rooms.Lookup(id) == r {
				s.log.Info("meeting expired", "room", id)
				s.endRoom(r, "meeting-expired", "the meeting has reached its end time")
			}
		})
	}
	return s.info(r), nil
}

// EndRoom takes everyone out of a meeting (they are told with removed
// {code: "meeting-ended"}) and forgets it.
func (s *Service) EndRoom(id string) error {
	r := s.rooms.Lookup(id)
	if r == nil {
		return ErrNoRoom
	}
	s.endRoom(r, "meeting-ended", "the meeting was ended")
	return nil
}

func (s *Service) endRoom(r *rooms.Room, code, message string) {
	for _, l := range s.rooms.End(r) {
		s.tellRemoved(l.Departure.Socket, code, message)
		s.depart(r, l.Participant, l.Departure, "meeting ended by the server", true)
	}
}

// tellRemoved tells a participant's client why the server took it out.
func (s *Service) tellRemoved(sock *socketio.Socket, code, message string) {
	if sock != nil {
		_ = sock.Emit("removed", map[string]string{"by": SystemFrom, "code": code, "message": message})
	}
}

// RemoveParticipant takes a member (or someone waiting) out of a meeting.
func (s *Service) RemoveParticipant(room, id string) error {
	r := s.rooms.Lookup(room)
	if r == nil {
		return ErrNoRoom
	}
	p, d, err := r.Evict(id)
	if err != nil {
		return err
	}
	s.tellRemoved(d.Socket, ErrRemoved.Code, "you were removed from the meeting")
	s.depart(r, p, d, "removed by the server", true)
	return nil
}

// MuteParticipant asks a member's client to mute its microphone, as the
// host's request-mute does (mute-request {from: "system"}).
func (s *Service) MuteParticipant(room, id string) error {
	r := s.rooms.Lookup(room)
	if r == nil {
		return ErrNoRoom
	}
	pkt, err := socketio.EncodeEvent("mute-request", map[string]string{"from": SystemFrom})
	if err != nil {
		return err
	}
	return r.DeliverTo(id, pkt)
}

// SystemMessage posts a chat message from the server to a meeting: kept
// in its history and sent to every member, from "system".
func (s *Service) SystemMessage(room, text string) (rooms.ChatMessage, error) {
	r := s.rooms.Lookup(room)
	if r == nil {
		return rooms.ChatMessage{}, ErrNoRoom
	}
	if !utf8.ValidString(text) {
		return rooms.ChatMessage{}, ErrBadRequest
	}
	text = cleanChat(text)
	if strings.TrimSpace(text) == "" {
		return rooms.ChatMessage{}, ErrBadRequest
	}
	if utf8.RuneCountInString(text) > s.cfg.MaxChatLen {
		return rooms.ChatMessage{}, ErrTooLarge
	}
	msg := rooms.ChatMessage{ID: newID(), From: SystemFrom, Name: SystemName, Text: text, TS: time.Now().UnixMilli()}
	s.postChat(r, msg)
	return msg, nil
}

// UpdateRoom changes a meeting's settings as its host could, and tells
// its members.
func (s *Service) UpdateRoom(room string, patch rooms.SettingsPatch) (RoomInfo, error) {
	r := s.rooms.Lookup(room)
	if r == nil {
		return RoomInfo{}, ErrNoRoom
	}
	if patch.Password != nil && (utf8.RuneCountInString(*patch.Password) > maxPasswordLen || !utf8.ValidString(*patch.Password)) {
		return RoomInfo{}, ErrTooLarge
	}
	view := r.ConfigureAsServer(patch)
	s.broadcastA(r, "room-settings", view, nil)
	if !view.WaitingRoom {
		if host := r.HostParticipant(); host != nil {
			for _, w := range r.Waiting() {
				if q, err := r.Admit(host, w.ID); err == nil {
					s.admitted(r, q)
				}
			}
			s.sendWaitingList(r)
		}
	}
	return s.info(r), nil
}
