package signaling

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/huddlehq/huddle/internal/rooms"
)

func tokenOf(t *testing.T, r reply) string {
	t.Helper()
	var a struct{ ResumeToken string }
	if err := json.Unmarshal(r.raw, &a); err != nil || a.ResumeToken == "" {
		t.Fatalf("no resume token in %s", r.raw)
	}
	return a.ResumeToken
}

// TestFileMember: a member's current token proves it; another meeting's,
// a waiting participant's, a removed one's or a departed one's does not.
func TestFileMember(t *testing.T) {
	ts := newTestServer(t, Config{})
	host, guest, other := ts.dial(), ts.dial(), ts.dial()
	hj := host.join("f", "Host", "")
	gj := guest.join("f", "Gus", "")
	oj := other.join("g", "Olga", "")

	if id, _, err := ts.svc.FileMember("f", tokenOf(t, gj)); err != nil || id != gj.ID {
		t.Fatalf("member: %q %v", id, err)
	}
	if _, _, err := ts.svc.FileMember("f", tokenOf(t, oj)); err == nil {
		t.Error("another meeting's token passed")
	}
	if _, _, err := ts.svc.FileMember("nope", tokenOf(t, gj)); !errors.Is(err, ErrNoRoom) {
		t.Errorf("no such meeting: %v", err)
	}
	for _, bad := range []string{"", "x", tokenOf(t, gj) + "x"} {
		if _, _, err := ts.svc.FileMember("f", bad); err == nil {
			t.Errorf("token %q passed", bad)
		}
	}

	// Someone in the waiting room holds a token but is no member.
	if r := host.ask("room-settings", map[string]bool{"waitingRoom": true}); !r.OK {
		t.Fatalf("waiting room: %s", r.raw)
	}
	waiter := ts.dial()
	wj := waiter.ask("join-room", map[string]string{"room": "f", "name": "Wes"})
	if !wj.Waiting {
		t.Fatalf("not waiting: %s", wj.raw)
	}
	if _, _, err := ts.svc.FileMember("f", tokenOf(t, wj)); err == nil {
		t.Error("a waiting participant's token passed")
	}

	// Removed by the host: refused from then on.
	if r := host.ask("remove-participant", map[string]string{"id": gj.ID}); !r.OK {
		t.Fatalf("remove: %s", r.raw)
	}
	if _, _, err := ts.svc.FileMember("f", tokenOf(t, gj)); !errors.Is(err, rooms.ErrNotInRoom) {
		t.Errorf("removed participant: %v", err)
	}
	// Left: refused too.
	if id, _, err := ts.svc.FileMember("f", tokenOf(t, hj)); err != nil || id != hj.ID {
		t.Fatalf("host: %q %v", id, err)
	}
	host.ask("leave-room", map[string]any{})
	if _, _, err := ts.svc.FileMember("f", tokenOf(t, hj)); err == nil {
		t.Error("a participant who left passed")
	}
}

// TestShareFile: everyone, the sender included, gets the file's chat
// message; a late joiner finds it in the history; one who left cannot
// share.
func TestShareFile(t *testing.T) {
	ts := newTestServer(t, Config{})
	a, b := ts.dial(), ts.dial()
	aj := a.join("s", "Ann", "")
	b.join("s", "Ben", "")
	f := rooms.ChatFile{ID: "0123456789abcdef0123456789abcdef", Name: "<b>slides</b>.pdf", Size: 1234, Type: "application/pdf"}
	if _, err := ts.svc.ShareFile("s", aj.ID, f); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*testClient{a, b} {
		var m rooms.ChatMessage
		if err := json.Unmarshal(c.waitFor("chat-message", 1)[0], &m); err != nil {
			t.Fatal(err)
		}
		if m.From != aj.ID || m.Name != "Ann" || m.File == nil || *m.File != f || m.Text != f.Name {
			t.Errorf("chat-message %+v", m)
		}
	}
	late := ts.dial()
	lj := late.join("s", "Liz", "")
	var ack struct{ Chat []rooms.ChatMessage }
	_ = json.Unmarshal(lj.raw, &ack)
	if len(ack.Chat) != 1 || ack.Chat[0].File == nil || ack.Chat[0].File.ID != f.ID {
		t.Errorf("history %s", lj.raw)
	}
	a.ask("leave-room", map[string]any{})
	if _, err := ts.svc.ShareFile("s", aj.ID, f); !errors.Is(err, rooms.ErrNotInRoom) {
		t.Errorf("share after leaving: %v", err)
	}
}

// TestJoinAckSaysFileMaxBytes: the app learns the limit (and that files
// may be shared at all) from the join ack.
func TestJoinAckSaysFileMaxBytes(t *testing.T) {
	for _, max := range []int64{0, 1234} {
		ts := newTestServer(t, Config{FileMaxBytes: max})
		j := ts.dial().join("m", "Ann", "")
		var ack struct {
			FileMaxBytes *int64 `json:"fileMaxBytes"`
		}
		_ = json.Unmarshal(j.raw, &ack)
		if max == 0 && ack.FileMaxBytes != nil || max != 0 && (ack.FileMaxBytes == nil || *ack.FileMaxBytes != max) {
			t.Errorf("FileMaxBytes %d: ack %s", max, j.raw)
		}
	}
}
