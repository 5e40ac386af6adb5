package api

import (
	"net/http"
	"net/url"
)

// The hands and recording routes: what a host does in the meeting, done
// by the server.

// lowerRequest is POST /rooms/{room}/hands/lower's body; an empty body or
// no participants lowers every raised hand.
type lowerRequest struct {
	Participants []string `json:"participants"`
}

func (a *API) lowerHands(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Hands == nil {
		writeError(w, http.StatusNotImplemented, "not-implemented", "this server cannot lower hands")
		return
	}
	var req lowerRequest
	if r.ContentLength != 0 && !decode(w, r, &req) {
		return
	}
	if len(req.Participants) > 1000 {
		writeError(w, http.StatusBadRequest, "bad-request", "at most 1000 participants at once")
		return
	}
	lowered, err := a.cfg.Hands.LowerHands(r.PathValue("room"), req.Participants)
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lowered": lowered})
}

func (a *API) recordings(w http.ResponseWriter) Recordings {
	if a.cfg.Recordings == nil {
		writeError(w, http.StatusNotFound, "recording-off", "server recording is not enabled on this server")
	}
	return a.cfg.Recordings
}

func (a *API) startRecording(w http.ResponseWriter, r *http.Request) {
	rec := a.recordings(w)
	if rec == nil {
		return
	}
	room := r.PathValue("room")
	if err := rec.StartRecording(room); err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Location", Prefix+"/rooms/"+url.PathEscape(room)+"/recordings")
	writeJSON(w, http.StatusCreated, map[string]any{"room": room, "active": true})
}

func (a *API) stopRecording(w http.ResponseWriter, r *http.Request) {
	rec := a.recordings(w)
	if rec == nil {
		return
	}
	if err := rec.StopRecording(r.PathValue("room")); err != nil {
		a.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listRecordings(w http.ResponseWriter, r *http.Request) {
	rec := a.recordings(w)
	if rec == nil {
		return
	}
	list, err := rec.ListRecordings(r.PathValue("room"))
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": list})
}
