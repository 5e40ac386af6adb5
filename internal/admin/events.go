package admin

import (
	"encoding/json"
	"net/http"
	"time"
)

// events streams snapshots as Server-Sent Events, one every
// Config.Interval, until the client goes away or Close is called.
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	if n := h.streams.Add(1); int(n) > h.cfg.MaxStreams {
		h.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, "too-many-streams", "too many dashboards are open")
		return
	}
	defer h.streams.Add(-1)
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass each event at once
	w.WriteHeader(http.StatusOK)
	s := newSampler(h.cfg)
	tick := time.NewTicker(h.cfg.Interval)
	defer tick.Stop()
	// The browser reconnects after retry ms when the stream breaks.
	if _, err := w.Write([]byte("retry: 3000\n\n")); err != nil {
		return
	}
	for {
		data, err := json.Marshal(s.sample())
		if err != nil {
			return
		}
		// Each event gets its own write deadline: the server's would end
		// the stream after --request-timeout.
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := w.Write(append(append([]byte("event: snapshot\ndata: "), data...), '\n', '\n')); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-h.closed:
			return
		case <-tick.C:
		}
	}
}
