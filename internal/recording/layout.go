package recording

import "time"

// LayoutEvent is something that changed what the meeting showed while it
// was recorded: who joined or left, a screen share starting or stopping,
// the host's spotlight, the dominant speaker. A player or a later
// composition can rebuild the meeting's layout from them.
type LayoutEvent struct {
	// OffsetMs is when it happened, from the recording's start.
	OffsetMs    int64  `json:"offsetMs"`
	Kind        string `json:"kind"`
	Participant string `json:"participant,omitempty"`
}

// Kinds of layout events.
const (
	LayoutJoined    = "joined"
	LayoutLeft      = "left"
	LayoutScreenOn  = "screen-on"
	LayoutScreenOff = "screen-off"
	LayoutSpotlight = "spotlight" // Participant "": the spotlight ended
	LayoutSpeaker   = "speaker"
	maxLayoutEvents = 10_000 // a manifest stays small however long the meeting
)

// Note records a layout event in a room's running recording, if any; it
// goes into the manifest (written at the stop, as the rest).
func (m *Manager) Note(room, kind, participant string) {
	m.mu.Lock()
	r := m.active[room]
	m.mu.Unlock()
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped || len(r.man.Layout) >= maxLayoutEvents {
		return
	}
	r.man.Layout = append(r.man.Layout, LayoutEvent{
		OffsetMs: time.Since(r.man.Started).Milliseconds(), Kind: kind, Participant: participant,
	})
}
