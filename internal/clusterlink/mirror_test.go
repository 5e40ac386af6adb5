package clusterlink

import (
	"log/slog"
	"testing"
	"time"

	"github.com/huddlehq/huddle/engineio"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/socketio"
)

// The mirror writes a room whole first, then only what changed: a new
// member and its token, a member gone with its token, new chat messages;
// the history whole again once the last message written is gone from it.
func TestMirrorDiff(t *testing.T) {
	m := &mirror{l: &Link{self: "n1", homed: map[connKey]*homed{}}}
	commit := func(next *mirror) {
		m.meta, m.written, m.chatLast, m.synced = next.meta, next.written, next.chatLast, true
	}
	hal := rooms.SharedParticipant{ID: "h", Name: "Hal", TokenHash: "th"}
	ada := rooms.SharedParticipant{ID: "a", Name: "Ada", TokenHash: "ta"}
	bob := rooms.SharedParticipant{ID: "b", Name: "Bob", TokenHash: "tb"}
	chat := []rooms.ChatMessage{{ID: "c1", Text: "one"}, {ID: "c2", Text: "two"}, {ID: "c3", Text: "three"}}
	sh := rooms.Shared{ID: "r", Members: []rooms.SharedParticipant{hal, ada}, Locked: true, Chat: chat[:2]}

	ch, next := m.diff(sh)
	if !ch.Full || ch.Meta == nil || ch.Meta.Host != "h" || !ch.Meta.Locked || len(ch.Put) != 2 || len(ch.Resume) != 2 || len(ch.Chat) != 2 {
		t.Fatalf("first write %+v, want the whole room", ch)
	}
	commit(next)
	if ch, _ := m.diff(sh); !ch.Empty() {
		t.Fatalf("nothing changed, yet %+v", ch)
	}

	sh.Members = []rooms.SharedParticipant{hal, bob}
	sh.Chat = chat
	ch, next = m.diff(sh)
	if ch.Full || ch.Meta != nil || len(ch.Put) != 1 || ch.Put[0].ID != "b" || len(ch.Gone) != 1 || ch.Gone[0] != "a" ||
		len(ch.Resume) != 1 || ch.Resume[0].TokenHash != "tb" || len(ch.ResumeGone) != 1 || ch.ResumeGone[0] != "a" ||
		len(ch.Chat) != 1 || ch.Chat[0].ID != "c3" || ch.ChatReplace {
		t.Fatalf("second write %+v, want Bob in, Ada out, chat c3", ch)
	}
	commit(next)

	// The host leaves: Bob is host, his token rotated.
	bob.TokenHash, bob.PrevHash = "tb2", "tb"
	sh.Members = []rooms.SharedParticipant{bob}
	sh.Chat = []rooms.ChatMessage{{ID: "c9", Text: "nine"}} // c3 dropped from the history
	ch, next = m.diff(sh)
	if ch.Meta == nil || ch.Meta.Host != "b" || len(ch.Resume) != 1 || ch.Resume[0].PrevHash != "tb" || !ch.ChatReplace || len(ch.Chat) != 1 {
		t.Fatalf("third write %+v, want the new host, Bob's new token, the history whole", ch)
	}
	commit(next)

	// Cy waits, then is let in: she moves from one list to the other,
	// her token staying.
	cy := rooms.SharedParticipant{ID: "c", Name: "Cy", TokenHash: "tc"}
	sh.Waiting = []rooms.SharedParticipant{cy}
	ch, next = m.diff(sh)
	if len(ch.PutWaiting) != 1 || ch.PutWaiting[0].ID != "c" || len(ch.Put) != 0 || len(ch.Gone) != 0 || len(ch.GoneWaiting) != 0 ||
		len(ch.Resume) != 1 || len(ch.ResumeGone) != 0 {
		t.Fatalf("Cy waiting: %+v", ch)
	}
	commit(next)
	sh.Waiting, sh.Members = nil, []rooms.SharedParticipant{bob, cy}
	ch, next = m.diff(sh)
	if len(ch.Put) != 1 || ch.Put[0].ID != "c" || len(ch.GoneWaiting) != 1 || ch.GoneWaiting[0] != "c" || len(ch.PutWaiting) != 0 ||
		len(ch.Gone) != 0 || len(ch.Resume) != 0 || len(ch.ResumeGone) != 0 {
		t.Fatalf("Cy let in: %+v, want her put in the members and gone from the waiting room, her token kept", ch)
	}
	commit(next)
	// Sent back to the waiting room (a lock after a restart does not do
	// this, but the diff must not care).
	sh.Waiting, sh.Members = []rooms.SharedParticipant{cy}, []rooms.SharedParticipant{bob}
	if ch, _ := m.diff(sh); len(ch.PutWaiting) != 1 || len(ch.Gone) != 1 || ch.Gone[0] != "c" || len(ch.Put) != 0 || len(ch.GoneWaiting) != 0 || len(ch.ResumeGone) != 0 {
		t.Fatalf("Cy back to waiting: %+v", ch)
	}
}

// A node is taken for dead after three checks it is missing from that
// span two heartbeat intervals, not after three checks that came back to
// back (as they do when a slow Redis answers again, before the node
// restarted with it has beaten again), nor three within one heartbeat.
func TestDeadAfterThreeSpacedChecks(t *testing.T) {
	io := socketio.NewServer(socketio.Config{})
	l := &Link{tick: 250 * time.Millisecond, beat: time.Second, homed: map[connKey]*homed{}, proxies: map[string]*proxy{}, missing: map[string]*miss{}, log: slog.Default()}
	sess, err := io.OpenRemote(relayedRequest(openMsg{Addr: "127.0.0.1:1"}), "", engineio.WebSocket, func([]engineio.Packet) {}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	l.homed[connKey{"x", "c"}] = &homed{sess: sess}
	for range 3 {
		l.dropDead(map[string]bool{}, nil)
	}
	if len(l.homed) != 1 {
		t.Fatal("three checks back to back ended the node's sockets")
	}
	// Checks come four times a heartbeat: a node missing for one
	// heartbeat (a Redis that restarted empty, not beaten since) lives.
	l.missing["x"].since = time.Now().Add(-time.Second)
	l.dropDead(map[string]bool{}, nil)
	if len(l.homed) != 1 {
		t.Fatal("a node missing for one heartbeat interval was taken for dead")
	}
	l.missing["x"].since = time.Now().Add(-2 * time.Second)
	l.dropDead(map[string]bool{}, nil)
	if len(l.homed) != 0 || !sess.Closed() {
		t.Fatal("a node missing for three spaced checks kept its sockets")
	}
}

// The home keeps the hash of a relayed client's last events that asked for
// an ack, by ack id, as signaling hashes the same event sent again.
func TestEdgeRemembersAskedEvents(t *testing.T) {
	e := &edge{node: "x"}
	e.asked(engineio.Packet{Data: []byte(`2["no-ack"]`)})
	e.asked(engineio.Packet{Data: []byte(`17["chat-message",{"text":"hi"}]`)}) // '1' is a DISCONNECT... not an event
	e.asked(engineio.Packet{Data: []byte(`249["chat-message",{"text":"hi"}]`)})
	for i := range 7 {
		e.asked(engineio.Packet{Data: []byte(`2` + string(rune('0'+i)) + `["x"]`)})
	}
	if h, ok := e.event(49); !ok || h != signaling.EventHash([]byte(`["chat-message",{"text":"hi"}]`)) {
		t.Fatalf("event 49: %x %v", h, ok)
	}
	e.asked(engineio.Packet{Data: []byte(`27["x"]`)}) // the ring holds 8: 49 is pushed out
	if _, ok := e.event(49); ok {
		t.Fatal("the ring kept more than 8")
	}
	if id, body, ok := ackID(engineio.Packet{Data: []byte(`312[{"ok":true}]`)}, '3'); !ok || id != 12 || string(body) != `[{"ok":true}]` {
		t.Fatalf("ack 12: %d %q %v", id, body, ok)
	}
}
