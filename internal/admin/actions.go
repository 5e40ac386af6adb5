package admin

import (
	"errors"
	"net/http"
)

// coded is an error with a code (the meetings' refusals).
type coded interface{ ErrorCode() (code, message string) }

func (h *Handler) endRoom(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := h.cfg.Rooms.EndRoom(room); err != nil {
		h.fail(w, err)
		return
	}
	h.cfg.Logger.Info("admin: meeting ended", "room", room, "ip", h.cfg.ClientIP(r).String())
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) removeParticipant(w http.ResponseWriter, r *http.Request) {
	room, id := r.PathValue("room"), r.PathValue("participant")
	if err := h.cfg.Rooms.RemoveParticipant(room, id); err != nil {
		h.fail(w, err)
		return
	}
	h.cfg.Logger.Info("admin: participant removed", "room", room, "participant", id, "ip", h.cfg.ClientIP(r).String())
	w.WriteHeader(http.StatusNoContent)
}

// fail answers a refusal of the meetings: 404 for what does not exist,
// 409 for the other rules.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	var c coded
	if errors.As(err, &c) {
		code, msg := c.ErrorCode()
		status := http.StatusConflict
		if code == "not-found" || code == "unknown-peer" {
			status = http.StatusNotFound
		}
		writeError(w, status, code, msg)
		return
	}
	h.cfg.Logger.Error("admin: unexpected error", "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal error")
}
