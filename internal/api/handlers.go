package api

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"time"
)

func (a *API) withURL(r Room) Room {
	if a.cfg.PublicURL != "" {
		r.URL = a.cfg.PublicURL + "/" + url.PathEscape(r.ID)
	}
	return r
}

func (a *API) listRooms(w http.ResponseWriter, r *http.Request) {
	list := a.rooms.ListRooms()
	for i := range list {
		list[i] = a.withURL(list[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"rooms": list})
}

func (a *API) getRoom(w http.ResponseWriter, r *http.Request) {
	room, err := a.rooms.GetRoom(r.PathValue("room"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.withURL(room))
}

// createRequest is POST /rooms's body.
type createRequest struct {
	ID              string     `json:"id"`
	Password        string     `json:"password"`
	Locked          bool       `json:"locked"`
	WaitingRoom     bool       `json:"waitingRoom"`
	MaxParticipants int        `json:"maxParticipants"`
	Media           string     `json:"media"`
	ExpiresAt       *time.Time `json:"expiresAt"`
	// TTLSeconds is expiresAt as a lifetime from now.
	TTLSeconds int64 `json:"ttlSeconds"`
}

func (a *API) createRoom(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if !decode(w, r, &req) {
		return
	}
	if req.ExpiresAt != nil && req.TTLSeconds != 0 {
		writeError(w, http.StatusBadRequest, "bad-request", "give expiresAt or ttlSeconds, not both")
		return
	}
	if req.TTLSeconds < 0 || req.MaxParticipants < 0 {
		writeError(w, http.StatusBadRequest, "bad-request", "ttlSeconds and maxParticipants must not be negative")
		return
	}
	if req.Media != "" && req.Media != "auto" && req.Media != "mesh" && req.Media != "sfu" {
		writeError(w, http.StatusBadRequest, "bad-request", "media must be auto, mesh or sfu")
		return
	}
	opts := RoomOptions{Password: req.Password, Locked: req.Locked, WaitingRoom: req.WaitingRoom, MaxParticipants: req.MaxParticipants, Media: req.Media}
	switch {
	case req.ExpiresAt != nil:
		if !req.ExpiresAt.After(time.Now()) {
			writeError(w, http.StatusBadRequest, "bad-request", "expiresAt is in the past")
			return
		}
		opts.ExpiresAt = *req.ExpiresAt
	case req.TTLSeconds > 0:
		opts.ExpiresAt = time.Now().Add(time.Duration(min(req.TTLSeconds, 366*24*3600)) * time.Second)
	}
	if req.ID == "" {
		req.ID = newRoomID()
	}
	room, err := a.rooms.CreateRoom(req.ID, opts)
	if err != nil {
		a.fail(w, err)
		return
	}
	room = a.withURL(room)
	w.Header().Set("Location", Prefix+"/rooms/"+url.PathEscape(room.ID))
	writeJSON(w, http.StatusCreated, room)
}

func (a *API) updateRoom(w http.ResponseWriter, r *http.Request) {
	var patch SettingsPatch
	if !decode(w, r, &patch) {
		return
	}
	room, err := a.rooms.UpdateRoom(r.PathValue("room"), patch)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, a.withURL(room))
}

func (a *API) endRoom(w http.ResponseWriter, r *http.Request) {
	if err := a.rooms.EndRoom(r.PathValue("room")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) removeParticipant(w http.ResponseWriter, r *http.Request) {
	if err := a.rooms.RemoveParticipant(r.PathValue("room"), r.PathValue("participant")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) muteParticipant(w http.ResponseWriter, r *http.Request) {
	if err := a.rooms.MuteParticipant(r.PathValue("room"), r.PathValue("participant")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if !decode(w, r, &req) {
		return
	}
	msg, err := a.rooms.SendMessage(r.PathValue("room"), req.Text)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, msg)
}

// tokenRequest is POST /rooms/{room}/tokens's body.
type tokenRequest struct {
	Name       string `json:"name"`
	Role       string `json:"role"`
	TTLSeconds int64  `json:"ttlSeconds"`
}

func (a *API) issueToken(w http.ResponseWriter, r *http.Request) {
	if a.cfg.IssueToken == nil {
		writeError(w, http.StatusNotFound, "tokens-disabled", "this server issues no join tokens: start it with --auth token and --auth-secret")
		return
	}
	var req tokenRequest
	if !decode(w, r, &req) {
		return
	}
	if req.TTLSeconds == 0 {
		req.TTLSeconds = 3600
	}
	if req.TTLSeconds < 0 || req.TTLSeconds > 30*24*3600 {
		writeError(w, http.StatusBadRequest, "bad-request", "ttlSeconds: 1 to 2592000 (30 days)")
		return
	}
	room := r.PathValue("room")
	ttl := time.Duration(req.TTLSeconds) * time.Second
	tok, err := a.cfg.IssueToken(room, req.Name, req.Role, ttl)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad-request", err.Error())
		return
	}
	out := map[string]any{"token": tok, "expiresAt": time.Now().Add(ttl).UTC().Truncate(time.Second)}
	if a.cfg.PublicURL != "" {
		out["url"] = a.cfg.PublicURL + "/" + url.PathEscape(room) + "?token=" + url.QueryEscape(tok)
	}
	writeJSON(w, http.StatusCreated, out)
}

// newRoomID makes a room id like the web app's meeting codes: abc-defg-hij.
func newRoomID() string {
	const letters = "abcdefghijkmnopqrstuvwxyz"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 12)
	for i, c := range b {
		if i == 3 || i == 7 {
			out = append(out, '-')
		}
		out = append(out, letters[int(c)%len(letters)])
	}
	return string(out)
}
