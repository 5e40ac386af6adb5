package signaling

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/huddlehq/huddle/internal/rooms"
)

// The decoders below turn an event's arguments into checked values. Each
// handler is one decoder plus an action, so that every payload decoder can
// be fuzzed on its own (decode_fuzz_test.go).

// decodeArg decodes the event's first argument into v.
func decodeArg(args []json.RawMessage, v any) error {
	if len(args) == 0 {
		return ErrBadRequest
	}
	if err := json.Unmarshal(args[0], v); err != nil {
		return ErrBadRequest
	}
	return nil
}

// defaultName is the name of a participant that gave none.
const defaultName = "Guest"

// parseJoin decodes join-room: a room id string, or
// {room, name?, password?, resume?, state?}.
func parseJoin(args []json.RawMessage, maxName int) (rooms.JoinRequest, error) {
	var a struct {
		Room     string            `json:"room"`
		Name     *string           `json:"name"`
		Password string            `json:"password"`
		Resume   string            `json:"resume"`
		State    *rooms.MediaState `json:"state"`
	}
	if len(args) == 0 {
		return rooms.JoinRequest{}, ErrBadRequest
	}
	if raw := bytes.TrimSpace(args[0]); len(raw) > 0 && raw[0] == '"' {
		if err := json.Unmarshal(raw, &a.Room); err != nil {
			return rooms.JoinRequest{}, ErrBadRequest
		}
	} else if err := decodeArg(args, &a); err != nil {
		return rooms.JoinRequest{}, err
	}
	if !validRoom(a.Room) {
		return rooms.JoinRequest{}, ErrInvalidRoom
	}
	if len(a.Password) > 4*maxPasswordLen || len(a.Resume) > 256 {
		return rooms.JoinRequest{}, ErrTooLarge
	}
	req := rooms.JoinRequest{Room: a.Room, Name: defaultName, Password: a.Password, Resume: a.Resume,
		Dialect: rooms.DialectA, State: rooms.MediaState{Audio: true, Video: true}}
	if a.Name != nil {
		n, ok := cleanName(*a.Name, maxName)
		if !ok {
			return rooms.JoinRequest{}, ErrInvalidName
		}
		req.Name = n
	}
	if a.State != nil {
		req.State = *a.State
	}
	return req, nil
}

// parseLobbyJoin decodes dialect B's room:join {email, room}.
func parseLobbyJoin(args []json.RawMessage, maxName int) (rooms.JoinRequest, error) {
	var a struct {
		Email string `json:"email"`
		Room  string `json:"room"`
	}
	if err := decodeArg(args, &a); err != nil {
		return rooms.JoinRequest{}, err
	}
	name, ok := cleanName(a.Email, maxName)
	if !ok {
		return rooms.JoinRequest{}, ErrInvalidName
	}
	if !validRoom(a.Room) {
		return rooms.JoinRequest{}, ErrInvalidRoom
	}
	return rooms.JoinRequest{Room: a.Room, Name: name, Dialect: rooms.DialectB,
		State: rooms.MediaState{Audio: true, Video: true}}, nil
}

// parseRelay decodes {to, <field>}; the field's JSON is kept as it is.
func parseRelay(args []json.RawMessage, field string) (to string, body json.RawMessage, err error) {
	var a struct {
		To        string          `json:"to"`
		Offer     json.RawMessage `json:"offer"`
		Answer    json.RawMessage `json:"answer"`
		Candidate json.RawMessage `json:"candidate"`
		Ans       json.RawMessage `json:"ans"`
	}
	if err := decodeArg(args, &a); err != nil {
		return "", nil, err
	}
	switch field {
	case "offer":
		body = a.Offer
	case "answer":
		body = a.Answer
	case "candidate":
		body = a.Candidate
	default:
		body = a.Ans
	}
	if a.To == "" || len(a.To) > 64 || len(body) == 0 {
		return "", nil, ErrBadRequest
	}
	return a.To, body, nil
}

// parseChat decodes chat-message {text}. The text is kept as typed but for
// the control and format characters cleanChat removes.
func parseChat(args []json.RawMessage, maxLen int) (string, error) {
	var a struct {
		Text *string `json:"text"`
	}
	if err := decodeArg(args, &a); err != nil || a.Text == nil {
		return "", ErrBadRequest
	}
	if !utf8.ValidString(*a.Text) {
		return "", ErrBadRequest
	}
	text := cleanChat(*a.Text)
	if strings.TrimSpace(text) == "" {
		return "", ErrBadRequest
	}
	if utf8.RuneCountInString(text) > maxLen {
		return "", ErrTooLarge
	}
	return text, nil
}

// parseMediaState decodes media-state {audio?, video?, screen?, recording?}.
func parseMediaState(args []json.RawMessage) (rooms.MediaPatch, error) {
	var a struct {
		Audio     *bool `json:"audio"`
		Video     *bool `json:"video"`
		Screen    *bool `json:"screen"`
		Recording *bool `json:"recording"`
	}
	if err := decodeArg(args, &a); err != nil {
		return rooms.MediaPatch{}, err
	}
	return rooms.MediaPatch{Audio: a.Audio, Video: a.Video, Screen: a.Screen, Recording: a.Recording}, nil
}

// parseSettings decodes room-settings {locked?, password?, waitingRoom?}.
func parseSettings(args []json.RawMessage) (rooms.SettingsPatch, error) {
	var a struct {
		Locked      *bool   `json:"locked"`
		Password    *string `json:"password"`
		WaitingRoom *bool   `json:"waitingRoom"`
	}
	if err := decodeArg(args, &a); err != nil {
		return rooms.SettingsPatch{}, err
	}
	if a.Password != nil && (utf8.RuneCountInString(*a.Password) > maxPasswordLen || !utf8.ValidString(*a.Password)) {
		return rooms.SettingsPatch{}, ErrTooLarge
	}
	return rooms.SettingsPatch{Locked: a.Locked, Password: a.Password, WaitingRoom: a.WaitingRoom}, nil
}

// decodeID decodes {id}, the payload of events that name one participant.
func decodeID(args []json.RawMessage) (string, error) {
	var a struct {
		ID string `json:"id"`
	}
	if err := decodeArg(args, &a); err != nil || a.ID == "" || len(a.ID) > 64 {
		return "", ErrBadRequest
	}
	return a.ID, nil
}
