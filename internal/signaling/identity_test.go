package signaling_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/sioclient"
	"github.com/huddlehq/huddle/socketio"
)

var resumeKey = []byte("the same key before and after a restart")

// testIPHeader lets a test pick the client address of each socket, through
// the ClientIP hook the server fills from the TCP peer or X-Forwarded-For.
const testIPHeader = "X-Forwarded-For"

type testServer struct {
	t   *testing.T
	url string
	srv *httptest.Server
}

// startService runs a signaling service on a real Socket.IO server. Unset
// ResumeKey and ClientIP are filled for tests.
func startService(t *testing.T, cfg signaling.Config) *testServer {
	t.Helper()
	if cfg.ResumeKey == nil {
		cfg.ResumeKey = resumeKey
	}
	if cfg.ClientIP == nil {
		cfg.ClientIP = func(sock *socketio.Socket) netip.Addr {
			if h := sock.Header(testIPHeader); len(h) > 0 {
				return netip.MustParseAddr(h[0])
			}
			return netip.MustParseAddr("127.0.0.1")
		}
	}
	io := socketio.NewServer(socketio.Config{Logger: quietLog()})
	signaling.NewService(cfg, nil, quietLog(), nil).Attach(io)
	srv := httptest.NewServer(io)
	ts := &testServer{t: t, url: srv.URL, srv: srv}
	t.Cleanup(ts.stop)
	return ts
}

// stop ends the server as a crash or restart would: connections are cut,
// nobody is told.
func (ts *testServer) stop() {
	ts.srv.CloseClientConnections()
	ts.srv.Close()
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// client is one test socket. Events it receives are queued by name.
type client struct {
	t *testing.T
	c *sioclient.Client

	mu     sync.Mutex
	conn   net.Conn
	events map[string]chan json.RawMessage
	gone   chan struct{}
}

func (ts *testServer) dial(ip string) *client {
	ts.t.Helper()
	cl := &client{t: ts.t, events: map[string]chan json.RawMessage{}, gone: make(chan struct{})}
	hdr := http.Header{}
	if ip != "" {
		hdr.Set(testIPHeader, ip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, ts.url, sioclient.Options{
		Header: hdr,
		NetDial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			cl.mu.Lock()
			cl.conn = conn
			cl.mu.Unlock()
			return conn, err
		},
		OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
			var arg json.RawMessage
			if len(args) > 0 {
				arg = args[0]
			}
			select {
			case cl.queue(event) <- arg:
			default:
			}
		},
		OnDisconnect: func(*sioclient.Client, error) { close(cl.gone) },
	})
	if err != nil {
		ts.t.Fatalf("dial: %v", err)
	}
	cl.c = c
	ts.t.Cleanup(func() { _ = c.Close() })
	return cl
}

func (cl *client) queue(event string) chan json.RawMessage {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	ch := cl.events[event]
	if ch == nil {
		ch = make(chan json.RawMessage, 64)
		cl.events[event] = ch
	}
	return ch
}

// drop cuts the connection without a Socket.IO DISCONNECT: a network loss.
func (cl *client) drop() {
	cl.mu.Lock()
	conn := cl.conn
	cl.mu.Unlock()
	_ = conn.Close()
	select {
	case <-cl.gone:
	case <-time.After(5 * time.Second):
		cl.t.Fatal("connection did not end")
	}
}

// request emits event with arg and returns the ack decoded into a map.
func (cl *client) request(event string, arg any) ack {
	cl.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cl.c.EmitWithAck(ctx, event, arg)
	if err != nil || len(res) == 0 {
		cl.t.Fatalf("%s: %v", event, err)
	}
	var a ack
	if err := json.Unmarshal(res[0], &a); err != nil {
		cl.t.Fatalf("%s: ack %s: %v", event, res[0], err)
	}
	return a
}

type ack struct {
	OK          bool   `json:"ok"`
	ID          string `json:"id"`
	Host        string `json:"host"`
	ResumeToken string `json:"resumeToken"`
	Resumed     bool   `json:"resumed"`
	Waiting     bool   `json:"waiting"`
	Error       struct {
		Code string `json:"code"`
	} `json:"error"`
}

func (cl *client) join(room, resume string) ack {
	cl.t.Helper()
	// Each client its own name: a newcomer may not take the host's.
	return cl.request("join-room", map[string]string{"room": room, "name": fmt.Sprintf("n%p", cl), "resume": resume})
}

func (cl *client) mustJoin(room, resume string) ack {
	cl.t.Helper()
	a := cl.join(room, resume)
	if !a.OK {
		cl.t.Fatalf("join %s refused: %s", room, a.Error.Code)
	}
	return a
}

// event waits for the next event of that name.
func (cl *client) event(name string) json.RawMessage {
	cl.t.Helper()
	select {
	case arg := <-cl.queue(name):
		return arg
	case <-time.After(5 * time.Second):
		cl.t.Fatalf("no %s event", name)
		return nil
	}
}

// none checks that no event of that name came within a short while.
func (cl *client) none(name string) {
	cl.t.Helper()
	select {
	case arg := <-cl.queue(name):
		cl.t.Fatalf("unexpected %s %s", name, arg)
	case <-time.After(200 * time.Millisecond):
	}
}

func (cl *client) closed() bool {
	select {
	case <-cl.gone:
		return true
	case <-time.After(300 * time.Millisecond):
		return false
	}
}

// Before, a resume token was "<id>.<random>" and any "<id>.anything" took
// that id when it was free: the attacker then got the offers meant for it.
func TestForgedResumeTokenGetsFreshID(t *testing.T) {
	ts := startService(t, signaling.Config{})
	host := ts.dial("")
	host.mustJoin("r", "")
	victim := ts.dial("")
	v := victim.mustJoin("r", "")
	victim.request("leave-room", nil)

	attacker := ts.dial("")
	a := attacker.mustJoin("r", v.ID+".anything")
	if a.ID == v.ID || a.ID != attacker.c.ID() {
		t.Fatalf("forged token got id %q (victim %q, own socket %q)", a.ID, v.ID, attacker.c.ID())
	}
	// What is sent to the victim's id does not reach the attacker.
	if res := host.request("offer", map[string]any{"to": v.ID, "offer": "sdp"}); res.OK || res.Error.Code != "unknown-peer" {
		t.Fatalf("offer to the victim's id: %+v", res)
	}
	attacker.none("offer")
}

func TestResumeRotatesToken(t *testing.T) {
	ts := startService(t, signaling.Config{})
	peer := ts.dial("")
	peer.mustJoin("r", "")
	first := ts.dial("")
	a1 := first.mustJoin("r", "")
	first.drop()

	second := ts.dial("")
	a2 := second.mustJoin("r", a1.ResumeToken)
	if !a2.Resumed || a2.ID != a1.ID {
		t.Fatalf("resume: id %q resumed %v, want %q", a2.ID, a2.Resumed, a1.ID)
	}
	if a2.ResumeToken == "" || a2.ResumeToken == a1.ResumeToken {
		t.Fatalf("token not rotated: %q", a2.ResumeToken)
	}
	// The token of before the resume no longer takes the participant
	// over, and trying does not end its session.
	thief := ts.dial("")
	a3 := thief.mustJoin("r", a1.ResumeToken)
	if a3.Resumed || a3.ID == a1.ID {
		t.Fatalf("old token after rotation: id %q resumed %v", a3.ID, a3.Resumed)
	}
	if second.closed() {
		t.Fatal("a refused token ended the participant's session")
	}
	// The new token does: its holder takes over and the old session ends.
	third := ts.dial("")
	if a4 := third.mustJoin("r", a2.ResumeToken); !a4.Resumed || a4.ID != a1.ID {
		t.Fatalf("new token: %+v", a4)
	}
	if !second.closed() {
		t.Fatal("the replaced session is still open")
	}
}

// After a restart the first to join an empty room is its host. The host of
// before the restart, coming back with its token, gets its id and the role
// back; an attacker who came first with a forged token gets neither.
func TestRestartHostRegainsRole(t *testing.T) {
	before := startService(t, signaling.Config{})
	host := before.dial("")
	h := host.mustJoin("r", "")
	guest := before.dial("")
	g := guest.mustJoin("r", "")
	before.stop()

	after := startService(t, signaling.Config{}) // same key
	attacker := after.dial("")
	m := attacker.mustJoin("r", h.ID+".forged")
	if m.ID == h.ID || m.Host != m.ID {
		t.Fatalf("attacker: id %q host %q", m.ID, m.Host)
	}
	guest2 := after.dial("")
	if g2 := guest2.mustJoin("r", g.ResumeToken); g2.ID != g.ID || g2.Host != m.ID {
		t.Fatalf("guest: id %q host %q, want %q and %q", g2.ID, g2.Host, g.ID, m.ID)
	}
	host2 := after.dial("")
	h2 := host2.mustJoin("r", h.ResumeToken)
	if h2.ID != h.ID || h2.Host != h.ID {
		t.Fatalf("host back: id %q host %q, want %q as host", h2.ID, h2.Host, h.ID)
	}
	for _, cl := range []*client{attacker, guest2} {
		var hc struct{ ID string }
		_ = json.Unmarshal(cl.event("host-changed"), &hc)
		if hc.ID != h.ID {
			t.Fatalf("host-changed %q, want %q", hc.ID, h.ID)
		}
	}
	if res := attacker.request("room-settings", map[string]bool{"locked": true}); res.OK || res.Error.Code != "not-host" {
		t.Fatalf("attacker's host control after the reclaim: %+v", res)
	}
	if res := host2.request("room-settings", map[string]bool{"locked": true}); !res.OK {
		t.Fatalf("host's control: %+v", res)
	}
}

// The new host after a succession gets a token that says so: it is the one
// that takes the role back after a restart.
func TestSuccessorHostTokenSurvivesRestart(t *testing.T) {
	before := startService(t, signaling.Config{})
	first := before.dial("")
	first.mustJoin("r", "")
	second := before.dial("")
	s := second.mustJoin("r", "")
	first.request("leave-room", nil)
	var rt struct{ ResumeToken string }
	_ = json.Unmarshal(second.event("resume-token"), &rt)
	if rt.ResumeToken == "" || rt.ResumeToken == s.ResumeToken {
		t.Fatalf("resume-token %q", rt.ResumeToken)
	}
	before.stop()

	after := startService(t, signaling.Config{})
	other := after.dial("")
	other.mustJoin("r", "")
	back := after.dial("")
	if b := back.mustJoin("r", rt.ResumeToken); b.ID != s.ID || b.Host != s.ID {
		t.Fatalf("successor back: id %q host %q", b.ID, b.Host)
	}
}

// Before, a dropped participant freed its address's connection slot while
// it kept its place: one address filled the server's rooms.
func TestDroppedParticipantsCountAgainstTheirIP(t *testing.T) {
	ts := startService(t, signaling.Config{MaxParticipantsPerIP: 3, RoomsPerIPPerMinute: -1})
	for _, room := range []string{"a", "b", "c"} {
		cl := ts.dial("192.0.2.7")
		cl.mustJoin(room, "")
		cl.drop()
	}
	cl := ts.dial("192.0.2.7")
	if a := cl.join("d", ""); a.OK || a.Error.Code != "too-many-participants" {
		t.Fatalf("fourth participant from one address: %+v", a)
	}
	ts.dial("198.51.100.1").mustJoin("d", "")
}

func TestRoomsPerIPPerMinute(t *testing.T) {
	ts := startService(t, signaling.Config{RoomsPerIPPerMinute: 2})
	cl := ts.dial("192.0.2.8")
	for _, room := range []string{"a", "b"} {
		cl.mustJoin(room, "")
		cl.request("leave-room", nil)
	}
	if a := cl.join("c", ""); a.OK || a.Error.Code != "too-many-new-rooms" {
		t.Fatalf("third new room in a minute: %+v", a)
	}
}

// A dialect-B join into a room with a waiting room is told it waits, and
// gets its room:join only once admitted. Before, it was acked (and sent
// room:join) as if it were in.
func TestLobbyJoinWaits(t *testing.T) {
	ts := startService(t, signaling.Config{})
	host := ts.dial("")
	host.mustJoin("r", "")
	if res := host.request("room-settings", map[string]bool{"waitingRoom": true}); !res.OK {
		t.Fatalf("settings: %+v", res)
	}
	b := ts.dial("")
	a := b.request("room:join", map[string]string{"email": "bee@example.com", "room": "r"})
	if !a.OK || !a.Waiting || a.ID != b.c.ID() {
		t.Fatalf("dialect-B join into a waiting room: %+v", a)
	}
	b.event("room:waiting")
	b.none("room:join")
	var wl struct{ Waiting []struct{ ID string } }
	for len(wl.Waiting) == 0 {
		_ = json.Unmarshal(host.event("waiting-list"), &wl)
	}
	if wl.Waiting[0].ID != a.ID {
		t.Fatalf("waiting list %+v", wl)
	}
	if res := host.request("admit", map[string]string{"id": a.ID}); !res.OK {
		t.Fatalf("admit: %+v", res)
	}
	var j struct{ Email, Room string }
	_ = json.Unmarshal(b.event("room:join"), &j)
	if j.Email != "bee@example.com" || j.Room != "r" {
		t.Fatalf("room:join %+v", j)
	}
	b.none("admitted")
}

// OnDepart runs when a participant is gone for good, not when its
// connection drops.
func TestOnDepart(t *testing.T) {
	departed := make(chan string, 16)
	ts := startService(t, signaling.Config{
		ReconnectGrace: 300 * time.Millisecond,
		OnDepart:       func(id string) { departed <- id },
	})
	next := func() string {
		select {
		case id := <-departed:
			return id
		case <-time.After(5 * time.Second):
			t.Fatal("no departure")
			return ""
		}
	}
	quiet := func() {
		select {
		case id := <-departed:
			t.Fatalf("unexpected departure of %s", id)
		case <-time.After(100 * time.Millisecond):
		}
	}
	host := ts.dial("")
	host.mustJoin("r", "")

	leaver := ts.dial("")
	l := leaver.mustJoin("r", "")
	leaver.request("leave-room", nil)
	if id := next(); id != l.ID {
		t.Fatalf("leave: departed %q, want %q", id, l.ID)
	}

	dropper := ts.dial("")
	d := dropper.mustJoin("r", "")
	dropper.drop()
	quiet() // within the grace period: not gone
	back := ts.dial("")
	back.mustJoin("r", d.ResumeToken)
	quiet()
	back.drop()
	if id := next(); id != d.ID {
		t.Fatalf("grace ended: departed %q, want %q", id, d.ID)
	}

	removed := ts.dial("")
	rm := removed.mustJoin("r", "")
	if res := host.request("remove-participant", map[string]string{"id": rm.ID}); !res.OK {
		t.Fatalf("remove: %+v", res)
	}
	if id := next(); id != rm.ID {
		t.Fatalf("removed: departed %q, want %q", id, rm.ID)
	}

	// Switching rooms on the same socket keeps the id: not a departure.
	host.mustJoin("other", "")
	quiet()
}

// With no ResumeKey the service still works (a random key per process).
func TestNoResumeKeyStillResumes(t *testing.T) {
	ts := startService(t, signaling.Config{ResumeKey: []byte{}})
	a := ts.dial("")
	first := a.mustJoin("r", "")
	ts.dial("").mustJoin("r", "")
	a.drop()
	if b := ts.dial("").mustJoin("r", first.ResumeToken); !b.Resumed || b.ID != first.ID {
		t.Fatalf("resume without a configured key: %+v", b)
	}
	if !strings.Contains(first.ResumeToken, first.ID+".") {
		t.Fatalf("token %q does not name its id", first.ResumeToken)
	}
}
