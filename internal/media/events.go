package media

import (
	"encoding/json"
	"errors"
	"github.com/huddlehq/huddle/internal/refusal"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/webrtc/v4"
)

// Error is a refusal with a stable code (see internal/refusal).
type Error = refusal.Error

// Events are the names Handle takes; signaling registers each.
var Events = []string{"sfu-publish", "sfu-subscribe", "sfu-answer", "sfu-candidate", "sfu-leave", "sfu-view"}

// description is the payload of sfu-publish and sfu-answer.
type description struct {
	Type string `json:"type"`
	SDP  string `json:"sdp"`
	// Screen is the mid of the offer's section that carries a shared
	// screen (sfu-publish only; "" for none).
	Screen string `json:"screen,omitempty"`
}

// maxMid bounds a mid: browsers number their sections.
const maxMid = 32

// maxSDP bounds a session description: a browser's offer with simulcast
// and every codec is about 10 KB.
const maxSDP = 32 << 10

// Handle runs one sfu-* event of a member whose membership signaling has
// checked, and returns the ack's body.
func (m *Manager) Handle(roomID, id, event string, args []json.RawMessage) (any, error) {
	switch event {
	case "sfu-publish":
		sd, screen, err := decodeDescription(args, webrtc.SDPTypeOffer)
		if err != nil {
			return nil, err
		}
		answer, err := m.PublishWithScreen(roomID, id, sd, screen)
		if err != nil {
			return nil, toRefusal(err)
		}
		return map[string]any{"ok": true, "type": "answer", "sdp": answer.SDP}, nil
	case "sfu-answer":
		sd, _, err := decodeDescription(args, webrtc.SDPTypeAnswer)
		if err != nil {
			return nil, err
		}
		return ok(toRefusal(m.Answer(roomID, id, sd)))
	case "sfu-candidate":
		var c candidateMsg
		if len(args) == 0 || json.Unmarshal(args[0], &c) != nil || (c.Direction != sfu.Publish && c.Direction != sfu.Subscribe) {
			return nil, errBadPayload
		}
		return ok(toRefusal(m.Candidate(roomID, id, c.Direction, c.Candidate)))
	case "sfu-subscribe":
		return ok(toRefusal(m.Subscribe(roomID, id)))
	case "sfu-leave":
		return ok(toRefusal(m.LeaveSFU(roomID, id)))
	case "sfu-view":
		v, err := decodeViews(args)
		if err != nil {
			return nil, err
		}
		return ok(toRefusal(m.SetViews(roomID, id, v)))
	}
	return nil, &Error{Code: "unknown-event", Message: "no such event"}
}

var errBadPayload = &Error{Code: "bad-request", Message: "the payload is missing or malformed"}

// decodeDescription reads an sfu-publish or sfu-answer payload: the
// description, and the screen's mid (sfu-publish only).
func decodeDescription(args []json.RawMessage, want webrtc.SDPType) (webrtc.SessionDescription, string, error) {
	var d description
	if len(args) == 0 || json.Unmarshal(args[0], &d) != nil || d.SDP == "" || d.Type != want.String() || len(d.Screen) > maxMid {
		return webrtc.SessionDescription{}, "", errBadPayload
	}
	if len(d.SDP) > maxSDP {
		return webrtc.SessionDescription{}, "", &Error{Code: "too-large", Message: "the session description is too large"}
	}
	return webrtc.SessionDescription{Type: want, SDP: d.SDP}, d.Screen, nil
}

// View is how a member shows another member's video: in a tile of this
// height in CSS pixels, or not at all (0).
type View struct {
	ID     string `json:"id"`
	Height int    `json:"height"`
}

// maxViews bounds an sfu-view: a page shows at most a few dozen tiles.
const maxViews = 256

func decodeViews(args []json.RawMessage) ([]View, error) {
	var v struct {
		Views []View `json:"views"`
	}
	if len(args) == 0 || json.Unmarshal(args[0], &v) != nil {
		return nil, errBadPayload
	}
	if len(v.Views) > maxViews {
		return nil, &Error{Code: "too-large", Message: "too many views"}
	}
	for i := range v.Views {
		v.Views[i].Height = min(max(v.Views[i].Height, 0), 4320)
	}
	return v.Views, nil
}

func ok(err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return map[string]bool{"ok": true}, nil
}

// toRefusal turns the media errors into the codes of docs/PROTOCOL.md.
func toRefusal(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNegotiationRate):
		return &Error{Code: "rate-limited", Message: "too many renegotiations; wait a second", Err: err}
	case errors.Is(err, ErrNotInSFU):
		return &Error{Code: "not-in-sfu", Message: "the meeting is not using the server for media", Err: err}
	case errors.Is(err, ErrNotCapable):
		return &Error{Code: "not-in-sfu", Message: "join with sfu: true to use the server for media", Err: err}
	case errors.Is(err, sfu.ErrTooManyTracks):
		return &Error{Code: "too-many-tracks", Message: "too many published tracks", Err: err}
	case errors.Is(err, sfu.ErrBadSDP):
		return &Error{Code: "bad-sdp", Message: "the session description was refused", Err: err}
	case errors.Is(err, sfu.ErrNoOffer):
		return &Error{Code: "no-offer", Message: "no offer is waiting for an answer", Err: err}
	case errors.Is(err, sfu.ErrClosed):
		return &Error{Code: "not-in-sfu", Message: "the media connection has closed", Err: err}
	}
	return &Error{Code: "internal", Message: "internal error", Err: err}
}
