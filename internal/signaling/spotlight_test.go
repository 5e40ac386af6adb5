package signaling

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestSpotlight: the host puts a participant on everyone's stage and takes
// it off; a late joiner learns it in its join ack; a guest may not; the
// spotlight ends when its participant leaves; nothing reaches another
// meeting.
func TestSpotlight(t *testing.T) {
	w := newWorld(t)
	if r := w.guest.ask("spotlight", map[string]string{"id": w.hostID}); r.OK || r.Error.Code != "not-host" {
		t.Fatalf("guest spotlighting: %s, want not-host", r.raw)
	}
	if r := w.host.ask("spotlight", map[string]string{"id": "nobody"}); r.OK || r.Error.Code != "unknown-peer" {
		t.Fatalf("spotlight on a stranger: %s, want unknown-peer", r.raw)
	}
	for _, bad := range []any{map[string]any{}, map[string]int{"id": 3}, "x"} {
		if r := w.host.ask("spotlight", bad); r.Error.Code != "bad-request" {
			t.Errorf("spotlight %v: %s, want bad-request", bad, r.raw)
		}
	}
	if r := w.host.ask("spotlight", map[string]string{"id": w.guestID}); !r.OK {
		t.Fatalf("host spotlighting the guest: %s", r.raw)
	}
	want := `{"by":"` + w.hostID + `","id":"` + w.guestID + `"}`
	if got := w.guest.waitFor("spotlight", 1)[0]; string(got) != want {
		t.Fatalf("guest saw %s, want %s", got, want)
	}
	w.host.ask("room-settings", map[string]any{"waitingRoom": false})
	late := w.ts.dial()
	var ackBody struct{ Spotlight string }
	_ = json.Unmarshal(late.join("a", "Nia", "").raw, &ackBody)
	if ackBody.Spotlight != w.guestID {
		t.Fatalf("late joiner's spotlight %q, want the guest %q", ackBody.Spotlight, w.guestID)
	}
	// The host takes it off, puts it back, and the guest leaves.
	if r := w.host.ask("spotlight", map[string]string{"id": ""}); !r.OK {
		t.Fatalf("ending the spotlight: %s", r.raw)
	}
	if got := late.waitFor("spotlight", 1)[0]; string(got) != `{"by":"`+w.hostID+`","id":""}` {
		t.Fatalf("late joiner saw %s, want the spotlight ended", got)
	}
	w.host.ask("spotlight", map[string]string{"id": w.guestID})
	w.guest.ask("leave-room", map[string]any{})
	if raw := w.ts.dial().join("a", "Max", "").raw; strings.Contains(string(raw), `"spotlight"`) {
		t.Fatalf("join ack after the spotlit participant left: %s", raw)
	}
	if got(w.outside, "spotlight", "") {
		t.Fatal("a spotlight event reached another meeting")
	}
}
