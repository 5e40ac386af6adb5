package signaling

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// world is two meetings on one server, each case's starting point:
// meeting "a" with its host, a guest and one participant in the waiting
// room, and meeting "b" whose only member (and host) is the outsider.
type world struct {
	ts                           *testServer
	host, guest, waiter, outside *testClient
	hostID, guestID, waiterID    string
	outsideID                    string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ts := newTestServer(t, Config{ReconnectGrace: time.Minute})
	w := &world{ts: ts, host: ts.dial(), guest: ts.dial(), waiter: ts.dial(), outside: ts.dial()}
	w.hostID = w.host.join("a", "Hana", "").ID
	w.guestID = w.guest.join("a", "Gus", "").ID
	if r := w.host.ask("room-settings", map[string]any{"waitingRoom": true}); !r.OK {
		t.Fatalf("waiting room: %s", r.raw)
	}
	r := w.waiter.join("a", "Walt", "")
	if !r.Waiting {
		t.Fatalf("waiter not waiting: %s", r.raw)
	}
	w.waiterID = r.ID
	w.outsideID = w.outside.join("b", "Olga", "").ID
	return w
}

func (w *world) client(name string) *testClient {
	return map[string]*testClient{"host": w.host, "guest": w.guest, "waiter": w.waiter, "outside": w.outside}[name]
}

func (w *world) id(name string) string {
	return map[string]string{"host": w.hostID, "guest": w.guestID, "waiter": w.waiterID, "outside": w.outsideID}[name]
}

// got reports whether c received event with a payload containing want,
// after everything sent to it so far has arrived.
func got(c *testClient, event, want string) bool {
	c.sync()
	for _, p := range c.received(event) {
		if strings.Contains(string(p), want) {
			return true
		}
	}
	return false
}

// TestAuthorization is the signaling's access rules as a table: relays stay
// in the sender's room and out of the waiting room, and only the host of a
// meeting controls it. Each row sends one event with an ack and checks the
// answer and what the others received (or did not).
func TestAuthorization(t *testing.T) {
	type row struct {
		name  string
		from  string
		event string
		arg   func(w *world) any
		code  string // "" means ok
		check func(t *testing.T, w *world)
	}
	offerTo := func(to string) func(w *world) any {
		return func(w *world) any {
			return map[string]any{"to": w.id(to), "offer": map[string]string{"sdp": "v=0 from test"}}
		}
	}
	idOf := func(who string) func(w *world) any {
		return func(w *world) any { return map[string]string{"id": w.id(who)} }
	}
	receivesWith := func(who, event, with string, yes bool) func(t *testing.T, w *world) {
		return func(t *testing.T, w *world) {
			if got(w.client(who), event, with) != yes {
				t.Errorf("%s received %s %s: %v, want %v", who, event, with, !yes, yes)
			}
		}
	}
	receives := func(who, event string, yes bool) func(t *testing.T, w *world) {
		return receivesWith(who, event, "", yes)
	}
	noOffer := receives("host", "offer", false)
	rows := []row{
		// Relays.
		{"offer to a member", "guest", "offer", offerTo("host"), "", receives("host", "offer", true)},
		{"offer to another meeting", "outside", "offer", offerTo("host"), "unknown-peer", noOffer},
		{"offer into another meeting's member from its host", "host", "offer", offerTo("outside"), "unknown-peer", receives("outside", "offer", false)},
		{"offer from the waiting room", "waiter", "offer", offerTo("host"), "not-in-room", noOffer},
		{"offer to the waiting room", "host", "offer", offerTo("waiter"), "unknown-peer", receives("waiter", "offer", false)},
		{"dialect B call from the waiting room", "waiter", "user:call", func(w *world) any {
			return map[string]any{"to": w.hostID, "offer": map[string]string{"sdp": "x"}}
		}, "not-in-room", receives("host", "incomming:call", false)},
		{"ice-candidate from the waiting room", "waiter", "ice-candidate", func(w *world) any {
			return map[string]any{"to": w.hostID, "candidate": map[string]string{"candidate": "x"}}
		}, "not-in-room", receives("host", "ice-candidate", false)},
		{"chat from the waiting room", "waiter", "chat-message", func(*world) any { return map[string]string{"text": "let me in"} },
			"not-in-room", receives("host", "chat-message", false)},
		{"media-state from the waiting room", "waiter", "media-state", func(*world) any { return map[string]bool{"audio": false} },
			"not-in-room", receives("host", "media-state", false)},
		{"chat stays in its meeting", "outside", "chat-message", func(*world) any { return map[string]string{"text": "psst"} },
			"", receives("host", "chat-message", false)},

		// Host controls, by a guest: refused, nothing happens.
		{"guest locks", "guest", "room-settings", func(*world) any { return map[string]bool{"locked": true} }, "not-host",
			receivesWith("host", "room-settings", `"locked":true`, false)},
		{"guest sets a password", "guest", "room-settings", func(*world) any { return map[string]string{"password": "x"} }, "not-host",
			receivesWith("host", "room-settings", `"hasPassword":true`, false)},
		{"guest admits", "guest", "admit", idOf("waiter"), "not-host", receives("waiter", "admitted", false)},
		{"guest denies", "guest", "deny", idOf("waiter"), "not-host", receives("waiter", "denied", false)},
		{"guest removes the host", "guest", "remove-participant", idOf("host"), "not-host", receives("host", "removed", false)},
		{"guest mutes the host", "guest", "request-mute", idOf("host"), "not-host", receives("host", "mute-request", false)},
		{"waiter admits itself", "waiter", "admit", idOf("waiter"), "not-in-room", receives("waiter", "admitted", false)},
		// By the host of another meeting: it sees nobody here.
		{"other host admits", "outside", "admit", idOf("waiter"), "unknown-peer", receives("waiter", "admitted", false)},
		{"other host denies", "outside", "deny", idOf("waiter"), "unknown-peer", receives("waiter", "denied", false)},
		{"other host removes", "outside", "remove-participant", idOf("guest"), "unknown-peer", receives("guest", "removed", false)},
		{"other host mutes", "outside", "request-mute", idOf("guest"), "unknown-peer", receives("guest", "mute-request", false)},
		// By the host: done, and the others hear of it.
		{"host locks", "host", "room-settings", func(*world) any { return map[string]bool{"locked": true} }, "",
			func(t *testing.T, w *world) {
				if !got(w.guest, "room-settings", `"locked":true`) {
					t.Error("guest not told of the lock")
				}
				if r := w.ts.dial().ask("join-room", map[string]string{"room": "a", "name": "Late"}); r.Error.Code != "locked" {
					t.Errorf("join of a locked meeting: %s", r.raw)
				}
			}},
		{"host sets a password", "host", "room-settings", func(*world) any { return map[string]string{"password": "pw"} }, "",
			func(t *testing.T, w *world) {
				if !got(w.guest, "room-settings", `"hasPassword":true`) {
					t.Error("guest not told of the password")
				}
				if r := w.ts.dial().ask("join-room", map[string]string{"room": "a", "name": "Late"}); r.Error.Code != "wrong-password" {
					t.Errorf("join without the password: %s", r.raw)
				}
			}},
		{"host admits", "host", "admit", idOf("waiter"), "", func(t *testing.T, w *world) {
			if !got(w.waiter, "admitted", `"ok":true`) || !got(w.guest, "user-joined", w.waiterID) {
				t.Error("admission not told to the waiter and the guest")
			}
		}},
		{"host denies", "host", "deny", idOf("waiter"), "", receives("waiter", "denied", true)},
		{"host removes", "host", "remove-participant", idOf("guest"), "", func(t *testing.T, w *world) {
			if !got(w.guest, "removed", `"code":"removed"`) {
				t.Error("the removed guest was not told")
			}
			if !got(w.host, "user-left", w.guestID) {
				t.Error("the host did not see the guest leave")
			}
			if r := w.guest.ask("chat-message", map[string]string{"text": "still here?"}); r.Error.Code != "not-in-room" {
				t.Errorf("removed guest chats: %s", r.raw)
			}
		}},
		{"host mutes", "host", "request-mute", idOf("guest"), "", receives("guest", "mute-request", true)},
		{"host removes itself", "host", "remove-participant", idOf("host"), "unknown-peer", nil},
	}
	for _, c := range rows {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			r := w.client(c.from).ask(c.event, c.arg(w))
			if c.code == "" && !r.OK || c.code != "" && r.Error.Code != c.code {
				want := c.code
				if want == "" {
					want = "ok"
				}
				t.Fatalf("%s %s: %s, want %s", c.from, c.event, r.raw, want)
			}
			if c.check != nil {
				c.check(t, w)
			}
		})
	}
}

// TestHostLeavesNewHost: when the host leaves, the next member becomes
// host, everyone is told with host-changed, and the new host gets the
// waiting list and may use the host controls.
func TestHostLeavesNewHost(t *testing.T) {
	w := newWorld(t)
	if r := w.host.ask("leave-room", map[string]any{}); !r.OK {
		t.Fatalf("leave: %s", r.raw)
	}
	var hc struct{ ID string }
	if err := json.Unmarshal(w.guest.waitFor("host-changed", 1)[0], &hc); err != nil || hc.ID != w.guestID {
		t.Fatalf("host-changed %s, want the guest %s", w.guest.received("host-changed"), w.guestID)
	}
	if !got(w.guest, "waiting-list", w.waiterID) {
		t.Fatal("the new host has no waiting list")
	}
	if r := w.guest.ask("admit", map[string]string{"id": w.waiterID}); !r.OK {
		t.Fatalf("the new host admits: %s", r.raw)
	}
}

// TestExplicitDisconnectLeavesAtOnce: a client that disconnects on
// purpose leaves at once, while a dropped connection keeps its place for
// the grace period (a minute here).
func TestExplicitDisconnectLeavesAtOnce(t *testing.T) {
	w := newWorld(t)
	_ = w.guest.c.Close() // sends a Socket.IO DISCONNECT first
	w.host.waitFor("user-left", 1)
	if !got(w.host, "user-left", w.guestID) {
		t.Fatalf("user-left %s, want the guest", w.host.received("user-left"))
	}
}

// TestNamesOverTheWire: join refuses names with invisible or bidi
// characters and a newcomer named like the host; chat loses its control
// characters on the way.
func TestNamesOverTheWire(t *testing.T) {
	ts := newTestServer(t, Config{})
	host := ts.dial()
	host.join("names", "Ada Lovelace", "")
	for _, c := range []struct{ name, code string }{
		{"Ada\u202Eecalevol", "invalid-name"},
		{"\u200B\u200B", "invalid-name"},
		{"\uFEFFBob", "invalid-name"},
		{"ada  LOVELACE", "name-taken"},
		{" Ada Lovelace ", "name-taken"},
		{"Ada\u00A0Lovelace", "name-taken"}, // a no-break space is a space
	} {
		r := ts.dial().ask("join-room", map[string]string{"room": "names", "name": c.name})
		if r.OK || r.Error.Code != c.code {
			t.Errorf("join as %q: %s, want %s", c.name, r.raw, c.code)
		}
	}
	// Dialect B is held to the same rule.
	if r := ts.dial().ask("room:join", map[string]string{"room": "names", "email": "ADA LOVELACE"}); r.Error.Code != "name-taken" {
		t.Errorf("room:join as the host: %s", r.raw)
	}
	// Nobody refused was let in or announced.
	if n := len(host.received("user-joined")); n != 0 {
		t.Fatalf("host saw %d joins of refused names", n)
	}
	guest := ts.dial()
	guest.join("names", "Guest", "")
	host.join("names2", "Guest", "") // the default name is everybody's
	guest.join("names2", "Guest", "")

	r := guest.ask("chat-message", map[string]string{"text": "hi\x1b[2J\x07\x00 \u202Eevil\nok"})
	if !r.OK {
		t.Fatalf("chat: %s", r.raw)
	}
	var msg struct{ Text string }
	_ = json.Unmarshal(host.waitFor("chat-message", 1)[0], &msg)
	if msg.Text != "hi[2J evil\nok" {
		t.Fatalf("chat text %q", msg.Text)
	}
	if r := guest.ask("chat-message", map[string]string{"text": "\x1b\u200B\x00"}); r.Error.Code != "bad-request" {
		t.Fatalf("chat of only control characters: %s", r.raw)
	}
}
