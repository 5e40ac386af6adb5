package signaling

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// handOf decodes a hand event.
func handOf(t *testing.T, raw json.RawMessage) handEvent {
	t.Helper()
	var h handEvent
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("hand %s: %v", raw, err)
	}
	return h
}

// TestHandsKeepTheirOrder: hands are queued in the order they went up,
// everyone sees each change, a late joiner gets the queue in its join ack,
// raising again keeps a hand's place and lowering takes it out.
func TestHandsKeepTheirOrder(t *testing.T) {
	ts := newTestServer(t, Config{})
	host, a, b := ts.dial(), ts.dial(), ts.dial()
	host.join("h", "Host", "")
	aID := a.join("h", "Ann", "").ID
	bID := b.join("h", "Ben", "").ID

	for _, c := range []*testClient{b, a} {
		if r := c.ask("raise-hand", map[string]bool{"raised": true}); !r.OK {
			t.Fatalf("raise: %s", r.raw)
		}
	}
	got := host.waitFor("hand", 2)
	if h0, h1 := handOf(t, got[0]), handOf(t, got[1]); h0.ID != bID || h1.ID != aID || !h0.Raised || h0.At == 0 || h1.At < h0.At {
		t.Fatalf("host saw %s, %s; want Ben then Ann raised", got[0], got[1])
	}
	b.waitFor("hand", 2) // the sender is told too

	// Raising again does not move Ben behind Ann, and tells nobody.
	if r := b.ask("raise-hand", map[string]bool{"raised": true}); !r.OK {
		t.Fatalf("raise again: %s", r.raw)
	}
	late := ts.dial()
	j := late.join("h", "Liz", "")
	var ackBody struct{ Hands []struct{ ID string } }
	_ = json.Unmarshal(j.raw, &ackBody)
	if len(ackBody.Hands) != 2 || ackBody.Hands[0].ID != bID || ackBody.Hands[1].ID != aID {
		t.Fatalf("join ack hands %s, want Ben then Ann", j.raw)
	}
	host.sync()
	if n := len(host.received("hand")); n != 2 {
		t.Fatalf("a hand raised twice was announced again (%d hand events)", n)
	}

	// Ben lowers his own; the queue is Ann.
	if r := b.ask("raise-hand", map[string]bool{"raised": false}); !r.OK {
		t.Fatalf("lower: %s", r.raw)
	}
	if h := handOf(t, late.waitFor("hand", 1)[0]); h.ID != bID || h.Raised {
		t.Fatalf("late joiner saw %+v, want Ben lowered", h)
	}
	// Ann leaves: her hand goes with her.
	a.ask("leave-room", map[string]any{})
	late2 := ts.dial()
	j = late2.join("h", "Max", "")
	ackBody.Hands = nil
	_ = json.Unmarshal(j.raw, &ackBody)
	if len(ackBody.Hands) != 0 {
		t.Fatalf("hands after Ben lowered and Ann left: %s", j.raw)
	}
}

// TestHostLowersHands: the host lowers anyone's hand and everyone learns
// who did; a guest may not, and nothing changes then.
func TestHostLowersHands(t *testing.T) {
	w := newWorld(t)
	if r := w.guest.ask("raise-hand", map[string]bool{"raised": true}); !r.OK {
		t.Fatalf("raise: %s", r.raw)
	}
	w.host.waitFor("hand", 1)

	// The guest may not lower the host's hand.
	w.host.ask("raise-hand", map[string]bool{"raised": true})
	if r := w.guest.ask("lower-hand", map[string]string{"id": w.hostID}); r.OK || r.Error.Code != "not-host" {
		t.Fatalf("guest lowering the host's hand: %s, want not-host", r.raw)
	}
	// Nor can anyone reach a hand in another meeting, or the waiting room.
	if r := w.outside.ask("lower-hand", map[string]string{"id": w.guestID}); r.OK || r.Error.Code != "unknown-peer" {
		t.Fatalf("outsider lowering a hand: %s, want unknown-peer", r.raw)
	}
	if r := w.waiter.ask("raise-hand", map[string]bool{"raised": true}); r.OK || r.Error.Code != "not-in-room" {
		t.Fatalf("raise from the waiting room: %s, want not-in-room", r.raw)
	}
	if r := w.host.ask("lower-hand", map[string]string{"id": w.guestID}); !r.OK {
		t.Fatalf("host lowering: %s", r.raw)
	}
	seen := w.guest.waitFor("hand", 3)
	if h := handOf(t, seen[2]); h.ID != w.guestID || h.Raised || h.By != w.hostID {
		t.Fatalf("guest saw %s, want its hand lowered by the host", seen[2])
	}
	w.host.ask("room-settings", map[string]any{"waitingRoom": false})
	r := w.ts.dial().join("a", "Nia", "")
	if !strings.Contains(string(r.raw), `"hands":[{"id":"`+w.hostID+`"`) || strings.Contains(string(r.raw), w.guestID+`","at"`) {
		t.Fatalf("join ack after the host lowered the guest's hand: %s", r.raw)
	}
	if got(w.outside, "hand", "") {
		t.Fatal("a hand event reached another meeting")
	}
	for _, bad := range []any{map[string]any{}, map[string]string{"raised": "yes"}, "up"} {
		if r := w.guest.ask("raise-hand", bad); r.Error.Code != "bad-request" {
			t.Errorf("raise-hand %v: %s, want bad-request", bad, r.raw)
		}
	}
}

// TestReactions: only the fixed set passes, everyone in the room (and no
// one outside) sees who reacted, and a socket gets a few at a time.
func TestReactions(t *testing.T) {
	w := newWorld(t)
	if r := w.guest.ask("reaction", map[string]string{"emoji": "👍"}); !r.OK {
		t.Fatalf("reaction: %s", r.raw)
	}
	want := `{"emoji":"👍","id":"` + w.guestID + `"}`
	if got := w.host.waitFor("reaction", 1)[0]; string(got) != want {
		t.Fatalf("host saw %s, want %s", got, want)
	}
	w.guest.waitFor("reaction", 1)
	for _, bad := range []any{
		map[string]string{"emoji": "💩"},
		map[string]string{"emoji": "<img src=x>"},
		map[string]string{"emoji": strings.Repeat("👍", 2)},
		map[string]string{},
		"👍",
	} {
		if r := w.guest.ask("reaction", bad); r.OK || r.Error.Code != "bad-request" {
			t.Errorf("reaction %v: %s, want bad-request", bad, r.raw)
		}
	}
	if r := w.waiter.ask("reaction", map[string]string{"emoji": "🎉"}); r.Error.Code != "not-in-room" {
		t.Errorf("reaction from the waiting room: %s, want not-in-room", r.raw)
	}
	if got(w.outside, "reaction", "") {
		t.Fatal("a reaction reached another meeting")
	}
	if n := len(w.host.received("reaction")); n != 1 {
		t.Fatalf("host saw %d reactions, want only the one good one", n)
	}

	// The guest spent one; four more pass, then the sixth in a row is refused.
	for i := 0; i < reactionBurst-1; i++ {
		if r := w.guest.ask("reaction", map[string]string{"emoji": "🎉"}); !r.OK {
			t.Fatalf("reaction %d: %s", i+2, r.raw)
		}
	}
	if r := w.guest.ask("reaction", map[string]string{"emoji": "🎉"}); r.OK || r.Error.Code != "rate-limited" {
		t.Fatalf("reaction past the burst: %s, want rate-limited", r.raw)
	}
	// Other events are not held back by it, and another socket has its own.
	if r := w.guest.ask("raise-hand", map[string]bool{"raised": true}); !r.OK {
		t.Fatalf("raise-hand after reactions ran out: %s", r.raw)
	}
	if r := w.host.ask("reaction", map[string]string{"emoji": "❤️"}); !r.OK {
		t.Fatalf("host reaction: %s", r.raw)
	}
	w.host.sync()
	if n := len(w.host.received("reaction")); n != reactionBurst+1 {
		t.Fatalf("host saw %d reactions, want %d", n, reactionBurst+1)
	}
}

// TestReactionAllowanceRefills: the allowance comes back with time.
func TestReactionAllowanceRefills(t *testing.T) {
	var ss session
	now := time.Second
	for i := 0; i < reactionBurst; i++ {
		if !ss.allowReaction(now) {
			t.Fatalf("reaction %d refused", i+1)
		}
	}
	if ss.allowReaction(now) {
		t.Fatal("reaction past the burst allowed")
	}
	if !ss.allowReaction(now + time.Duration(float64(time.Second)/reactionRate)) {
		t.Fatal("no reaction allowed after waiting")
	}
}
