package signaling

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/auth"
	"github.com/huddlehq/huddle/internal/sioclient"
)

var testSecret = []byte("signaling-test-secret-32-bytes!!")

// tokenServer is a signaling server in --auth token mode, with the real
// verifier of internal/auth behind Config.Authorize.
func tokenServer(t *testing.T, events func(Event)) *testServer {
	t.Helper()
	v, err := auth.NewVerifier(auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return newTestServer(t, Config{
		ReconnectGrace: time.Minute,
		Authorize: func(room, token string) (Grant, error) {
			g, err := v.Verify(token, room)
			if err != nil {
				return Grant{}, err
			}
			return Grant{Name: g.Name, Role: string(g.Role), Use: func() bool { return v.Consume(g) }}, nil
		},
		OnEvent: events,
	})
}

func token(t *testing.T, room, name string, role auth.Role, ttl time.Duration) string {
	t.Helper()
	c := auth.NewClaims(room, name, role, ttl, time.Now())
	if ttl < 0 { // expired an hour ago: beyond the verifier's leeway
		c = auth.NewClaims(room, name, role, time.Hour, time.Now().Add(-2*time.Hour))
	}
	tok, err := auth.Issue(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// dialWith is dial with a CONNECT auth payload.
func (ts *testServer) dialWith(authPayload any) *testClient {
	ts.t.Helper()
	tc := &testClient{t: ts.t, events: map[string][]json.RawMessage{}, gone: make(chan error, 1)}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, ts.url, sioclient.Options{
		Auth: authPayload,
		OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
			var arg json.RawMessage
			if len(args) > 0 {
				arg = args[0]
			}
			tc.mu.Lock()
			tc.events[event] = append(tc.events[event], arg)
			tc.mu.Unlock()
		},
		OnDisconnect: func(_ *sioclient.Client, err error) { tc.gone <- err },
	})
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	tc.c = c
	ts.t.Cleanup(func() { _ = c.Close() })
	return tc
}

func TestTokenJoinRefusals(t *testing.T) {
	ts := tokenServer(t, nil)
	forged, _ := auth.Issue([]byte("some other portal's secret 32 b!"), auth.NewClaims("r", "Eve", auth.RoleHost, time.Hour, time.Now()))
	for _, tc := range []struct {
		name, token, code string
	}{
		{"none", "", "auth-required"},
		{"garbage", "abc.def.ghi", "auth-invalid"},
		{"wrong signature", forged, "auth-invalid"},
		{"expired", token(t, "r", "Ed", auth.RoleGuest, -1), "auth-expired"},
		{"wrong room", token(t, "other", "Ed", auth.RoleGuest, time.Hour), "auth-wrong-room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ts.dial()
			r := c.ask("join-room", map[string]string{"room": "r", "name": "Ed", "token": tc.token})
			if r.OK || r.Error.Code != tc.code {
				t.Fatalf("ack %s, want error %s", r.raw, tc.code)
			}
			// Never a partial join: no room was made, nobody counted.
			if rooms, people := ts.svc.Stats(); rooms != 0 || people != 0 {
				t.Fatalf("after a refused join: %d rooms, %d participants", rooms, people)
			}
			// Nor may the refused client act in the room.
			if r := c.ask("chat-message", map[string]string{"text": "hi"}); r.OK || r.Error.Code != "not-in-room" {
				t.Fatalf("chat after refused join: %s", r.raw)
			}
		})
	}
}

func TestTokenGivesNameAndRole(t *testing.T) {
	ts := tokenServer(t, nil)
	c := ts.dial()
	r := c.ask("join-room", map[string]string{"room": "r", "name": "Whatever I Typed", "token": token(t, "r", "Grace", auth.RoleGuest, time.Hour)})
	if !r.OK || r.Name != "Grace" {
		t.Fatalf("ack %s", r.raw)
	}
	var ack struct{ Role string }
	_ = json.Unmarshal(r.raw, &ack)
	if ack.Role != "guest" {
		t.Fatalf("role %q in %s", ack.Role, r.raw)
	}
}

func TestTokenInConnectAuth(t *testing.T) {
	ts := tokenServer(t, nil)
	c := ts.dialWith(map[string]string{"token": token(t, "r", "Connie", auth.RoleGuest, time.Hour)})
	if r := c.ask("join-room", map[string]string{"room": "r"}); !r.OK || r.Name != "Connie" {
		t.Fatalf("join with the CONNECT token: %s", r.raw)
	}
	// The CONNECT token is for room r only.
	d := ts.dialWith(map[string]string{"token": token(t, "r", "Connie", auth.RoleGuest, time.Hour)})
	if r := d.ask("join-room", map[string]string{"room": "s"}); r.OK || r.Error.Code != "auth-wrong-room" {
		t.Fatalf("CONNECT token in another room: %s", r.raw)
	}
	// Dialect B takes it too.
	b := ts.dialWith(map[string]string{"token": token(t, "lobby", "", auth.RoleGuest, time.Hour)})
	if r := b.ask("room:join", map[string]string{"room": "lobby", "email": "b@example.com"}); !r.OK {
		t.Fatalf("dialect B with the CONNECT token: %s", r.raw)
	}
}

func TestViewerSendsNothing(t *testing.T) {
	ts := tokenServer(t, nil)
	host := ts.dial()
	host.ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Hana", auth.RoleHost, time.Hour)})
	v := ts.dial()
	r := v.ask("join-room", map[string]any{"room": "r", "token": token(t, "r", "Vic", auth.RoleViewer, time.Hour),
		"state": map[string]bool{"audio": true, "video": true}})
	if !r.OK {
		t.Fatalf("viewer join: %s", r.raw)
	}
	var ack struct {
		Role string
	}
	_ = json.Unmarshal(r.raw, &ack)
	if ack.Role != "viewer" {
		t.Fatalf("role %q", ack.Role)
	}
	// Others see a viewer that sends nothing, whatever its client claimed.
	joined := host.waitFor("user-joined", 1)[0]
	var info struct {
		Role         string
		Audio, Video bool
	}
	_ = json.Unmarshal(joined, &info)
	if info.Role != "viewer" || info.Audio || info.Video {
		t.Fatalf("user-joined %s", joined)
	}
	for _, tc := range []struct {
		event string
		arg   any
	}{
		{"chat-message", map[string]string{"text": "hello"}},
		{"media-state", map[string]bool{"audio": true}},
		{"room-settings", map[string]bool{"locked": true}},
	} {
		want := "viewer"
		if tc.event == "room-settings" {
			want = "not-host"
		}
		if r := v.ask(tc.event, tc.arg); r.OK || r.Error.Code != want {
			t.Errorf("viewer %s: %s, want %s", tc.event, r.raw, want)
		}
	}
	if len(host.received("chat-message")) != 0 {
		t.Fatal("a viewer's chat reached the host")
	}
	// Turning things off is fine, and the viewer still receives chat.
	if r := v.ask("media-state", map[string]bool{"audio": false}); !r.OK {
		t.Fatalf("viewer media-state off: %s", r.raw)
	}
	host.ask("chat-message", map[string]string{"text": "welcome"})
	v.waitFor("chat-message", 1)
}

func TestHostTokenTakesHostRole(t *testing.T) {
	ts := tokenServer(t, nil)
	guest := ts.dial()
	g := guest.ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Gus", auth.RoleGuest, time.Hour)})
	// First in, but a guest: no host controls.
	if r := guest.ask("room-settings", map[string]bool{"locked": true}); r.OK || r.Error.Code != "not-host" {
		t.Fatalf("guest room-settings: %s", r.raw)
	}
	host := ts.dial()
	h := host.ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Hana", auth.RoleHost, time.Hour)})
	if !h.OK || h.Host != h.ID {
		t.Fatalf("host join: %s", h.raw)
	}
	if got := guest.waitFor("host-changed", 1)[0]; !json.Valid(got) || !containsID(got, h.ID) {
		t.Fatalf("host-changed %s", got)
	}
	// The host locks the room; a host token still gets in, a guest not.
	if r := host.ask("room-settings", map[string]bool{"locked": true}); !r.OK {
		t.Fatalf("host room-settings: %s", r.raw)
	}
	if r := ts.dial().ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Late", auth.RoleGuest, time.Hour)}); r.Error.Code != "locked" {
		t.Fatalf("guest into a locked room: %s", r.raw)
	}
	if r := ts.dial().ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Co-host", auth.RoleHost, time.Hour)}); !r.OK {
		t.Fatalf("host token into a locked room: %s", r.raw)
	}
	if r := host.ask("remove-participant", map[string]string{"id": g.ID}); !r.OK {
		t.Fatalf("host removes: %s", r.raw)
	}
}

func containsID(raw json.RawMessage, id string) bool {
	var v struct{ ID string }
	return json.Unmarshal(raw, &v) == nil && v.ID == id
}

func TestOneTimeTokenAdmitsOnce(t *testing.T) {
	ts := tokenServer(t, nil)
	ts.dial().ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Hana", auth.RoleHost, time.Hour)})
	c := auth.NewClaims("r", "Otto", auth.RoleGuest, time.Hour, time.Now())
	c.ID = "invite-42"
	tok, _ := auth.Issue(testSecret, c)
	first := ts.dial()
	r := first.ask("join-room", map[string]string{"room": "r", "token": tok})
	if !r.OK {
		t.Fatalf("first use: %s", r.raw)
	}
	if r2 := ts.dial().ask("join-room", map[string]string{"room": "r", "token": tok}); r2.OK || r2.Error.Code != "auth-used" {
		t.Fatalf("second use: %s", r2.raw)
	}
	if _, people := ts.svc.Stats(); people != 2 {
		t.Fatalf("%d participants after the refused second use, want 2", people)
	}
	// The participant itself comes back with its resume token and the
	// same (used) join token.
	var ack struct{ ResumeToken string }
	_ = json.Unmarshal(r.raw, &ack)
	back := ts.dial() // takes the participant over, as after a network switch
	if r3 := back.ask("join-room", map[string]string{"room": "r", "token": tok, "resume": ack.ResumeToken}); !r3.OK || r3.ID != r.ID {
		t.Fatalf("resume with a used one-time token: %s", r3.raw)
	}
}

func TestExpiredTokenStillResumes(t *testing.T) {
	// A meeting may outlast its token: a participant still in the room
	// (within its grace period) is let back by its resume token alone,
	// while a stranger with the same expired token is not.
	ts := tokenServer(t, nil)
	a := ts.dial()
	r := a.ask("join-room", map[string]string{"room": "r", "token": token(t, "r", "Al", auth.RoleGuest, time.Hour)})
	var ack struct{ ResumeToken string }
	_ = json.Unmarshal(r.raw, &ack)
	expired := token(t, "r", "Al", auth.RoleGuest, -1)
	if r2 := ts.dial().ask("join-room", map[string]string{"room": "r", "token": expired, "resume": ack.ResumeToken}); !r2.OK || r2.ID != r.ID {
		t.Fatalf("resume with an expired token: %s", r2.raw)
	}
	if r3 := ts.dial().ask("join-room", map[string]string{"room": "r", "token": expired, "resume": "forged"}); r3.OK || r3.Error.Code != "auth-expired" {
		t.Fatalf("stranger with an expired token: %s", r3.raw)
	}
	if _, people := ts.svc.Stats(); people != 1 {
		t.Fatalf("%d participants, want 1", people)
	}
}

// eventLog records OnEvent calls.
type eventLog struct {
	mu sync.Mutex
	ev []Event
}

func (l *eventLog) add(e Event) { l.mu.Lock(); l.ev = append(l.ev, e); l.mu.Unlock() }
func (l *eventLog) types() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.ev {
		out = append(out, e.Type+":"+e.Name)
	}
	return out
}

func TestMeetingEvents(t *testing.T) {
	var log eventLog
	ts := newTestServer(t, Config{OnEvent: log.add})
	a, b, w := ts.dial(), ts.dial(), ts.dial()
	a.join("m", "Ann", "")
	b.join("m", "Bob", "")
	a.ask("room-settings", map[string]bool{"waitingRoom": true})
	if r := w.ask("join-room", map[string]string{"room": "m", "name": "Wes"}); !r.Waiting {
		t.Fatalf("not waiting: %s", r.raw)
	}
	w.ask("leave-room", map[string]any{}) // left from the waiting room: never joined
	b.ask("leave-room", map[string]any{})
	a.ask("leave-room", map[string]any{})
	want := []string{"meeting.started:", "participant.joined:Ann", "participant.joined:Bob",
		"participant.left:Bob", "participant.left:Ann", "meeting.ended:"}
	if got := log.types(); !equal(got, want) {
		t.Fatalf("events\n got %q\nwant %q", got, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
