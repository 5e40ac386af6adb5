package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/api"
)

const (
	password = "correct-horse-battery"
	key      = "admin-test-key-0123456789"
)

// fakeRooms is one meeting of two, and what was done to it.
type fakeRooms struct {
	mu      sync.Mutex
	rooms   []api.Room
	ended   []string
	removed []string
}

type refused struct{ code string }

func (e refused) Error() string                     { return e.code }
func (e refused) ErrorCode() (code, message string) { return e.code, "refused: " + e.code }

func newFakeRooms() *fakeRooms {
	return &fakeRooms{rooms: []api.Room{{ID: "standup", Media: "sfu", Participants: []api.Participant{
		{ID: "p1", Name: "Ada", Host: true, Audio: true, Video: true},
		{ID: "p2", Name: "Bob", Audio: true},
	}}}}
}

func (f *fakeRooms) ListRooms() []api.Room {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.Room(nil), f.rooms...)
}

func (f *fakeRooms) EndRoom(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != "standup" {
		return refused{"not-found"}
	}
	f.ended = append(f.ended, id)
	return nil
}

func (f *fakeRooms) RemoveParticipant(room, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if room != "standup" || (id != "p1" && id != "p2") {
		return refused{"unknown-peer"}
	}
	f.removed = append(f.removed, room+"/"+id)
	return nil
}

type fixture struct {
	h     *Handler
	rooms *fakeRooms
	logs  *bytes.Buffer
}

func newFixture(t *testing.T, cfg Config) fixture {
	t.Helper()
	f := fixture{rooms: newFakeRooms(), logs: &bytes.Buffer{}}
	cfg.Rooms = f.rooms
	cfg.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

// do serves one request from ip with these headers ("Cookie" and the
// like) and returns the answer.
func (f fixture) do(method, path, ip string, body io.Reader, headers ...string) *http.Response {
	r := httptest.NewRequest(method, "http://huddle.test"+path, body)
	r.RemoteAddr = ip + ":5000"
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w.Result()
}

func (f fixture) login(ip, secret string, headers ...string) *http.Response {
	form := url.Values{"password": {secret}}.Encode()
	h := append([]string{"Content-Type", "application/x-www-form-urlencoded", "Origin", "http://huddle.test"}, headers...)
	return f.do("POST", "/admin/login", ip, strings.NewReader(form), h...)
}

func readBody(t *testing.T, res *http.Response) string {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func TestOffWithoutPasswordOrKeys(t *testing.T) {
	f := newFixture(t, Config{})
	for _, path := range []string{"/admin", "/admin/", "/admin/events", "/admin/snapshot"} {
		res := f.do("GET", path, "192.0.2.1", nil, "Authorization", "Bearer "+key)
		if body := readBody(t, res); res.StatusCode != 404 || !strings.Contains(body, "not configured") {
			t.Errorf("%s: %d %q", path, res.StatusCode, body)
		}
	}
	if res := f.do("POST", "/admin/rooms/standup/end", "192.0.2.1", nil, "Authorization", "Bearer "+key); res.StatusCode != 404 {
		t.Errorf("end room with the dashboard off: %d", res.StatusCode)
	}
}

func TestRefusesWithoutOrWithWrongKey(t *testing.T) {
	f := newFixture(t, Config{Password: password, Keys: []string{key}})
	for name, headers := range map[string][]string{
		"no key":          nil,
		"wrong key":       {"Authorization", "Bearer wrong-key-0123456789"},
		"password as key": {"Authorization", "Bearer " + password},
		"forged cookie":   {"Cookie", cookieName + "=9999999999.AAAA"},
	} {
		for _, path := range []string{"/admin/events", "/admin/snapshot"} {
			res := f.do("GET", path, "192.0.2.1", nil, headers...)
			body := readBody(t, res)
			if res.StatusCode != 401 || !strings.Contains(body, `"unauthorized"`) || strings.Contains(body, "Ada") {
				t.Errorf("%s, %s: %d %s", name, path, res.StatusCode, body)
			}
		}
	}
	// Without a session the page is the login form, with no data.
	res := f.do("GET", "/admin", "192.0.2.2", nil)
	if body := readBody(t, res); res.StatusCode != 200 || !strings.Contains(body, `name="password"`) || strings.Contains(body, "admin.js") {
		t.Errorf("GET /admin without a session: %d %s", res.StatusCode, body)
	}
	res = f.do("GET", "/admin/snapshot", "192.0.2.2", nil, "Authorization", "Bearer "+key)
	var snap Snapshot
	if err := json.NewDecoder(res.Body).Decode(&snap); err != nil || res.StatusCode != 200 || snap.Participants != 2 {
		t.Fatalf("with the key: %d %+v %v", res.StatusCode, snap, err)
	}
	if strings.Contains(f.logs.String(), "wrong-key-0123456789") || strings.Contains(f.logs.String(), password) {
		t.Errorf("a secret was logged:\n%s", f.logs)
	}
}

func TestLoginSetsAStrictSessionCookie(t *testing.T) {
	f := newFixture(t, Config{Password: password})
	res := f.login("192.0.2.1", password)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin" {
		t.Fatalf("login: %d %v", res.StatusCode, res.Header)
	}
	cookies := res.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || cookies[0].Path != "/admin" {
		t.Fatalf("cookie %+v", cookies)
	}
	c := cookies[0].Name + "=" + cookies[0].Value
	res = f.do("GET", "/admin", "192.0.2.1", nil, "Cookie", c)
	if body := readBody(t, res); !strings.Contains(body, "/admin/admin.js") {
		t.Errorf("dashboard with the cookie: %d %s", res.StatusCode, body)
	}
	if res := f.do("GET", "/admin/snapshot", "192.0.2.1", nil, "Cookie", c); res.StatusCode != 200 {
		t.Errorf("snapshot with the cookie: %d", res.StatusCode)
	}
	if cookies[0].Secure {
		t.Error("Secure cookie for plain HTTP without an https public URL")
	}
	behindProxy := newFixture(t, Config{Password: password, PublicURL: "https://meet.example.com"})
	if res := behindProxy.login("192.0.2.1", password, "Origin", "https://meet.example.com"); len(res.Cookies()) != 1 || !res.Cookies()[0].Secure {
		t.Errorf("cookie behind a TLS proxy (https public URL) is not Secure: %+v", res.Cookies())
	}
	// A cookie signed by another start is worth nothing.
	other := newFixture(t, Config{Password: password})
	if res := other.do("GET", "/admin/snapshot", "192.0.2.1", nil, "Cookie", c); res.StatusCode != 401 {
		t.Errorf("another server's cookie: %d", res.StatusCode)
	}
	// A page elsewhere cannot log a browser in.
	if res := f.login("192.0.2.1", password, "Origin", "https://evil.example"); res.StatusCode != 403 || len(res.Cookies()) != 0 {
		t.Errorf("cross-origin login: %d", res.StatusCode)
	}
	// The form's POST as Chromium sends it under Referrer-Policy no-referrer.
	if res := f.do("POST", "/admin/login", "192.0.2.1", strings.NewReader("password="+password), "Content-Type", "application/x-www-form-urlencoded",
		"Origin", "null", "Sec-Fetch-Site", "same-origin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("login with Origin null from the same origin: %d", res.StatusCode)
	}
	// An API key logs in too, when keys are set.
	k := newFixture(t, Config{Keys: []string{key}})
	if res := k.login("192.0.2.1", key); res.StatusCode != http.StatusSeeOther || len(res.Cookies()) != 1 {
		t.Errorf("login with a key: %d", res.StatusCode)
	}
}

func TestWrongPasswordsAreLimitedPerAddress(t *testing.T) {
	f := newFixture(t, Config{Password: password, Keys: []string{key}, LoginFailures: 3})
	for i := 0; i < 3; i++ {
		res := f.login("192.0.2.1", "guess-number-"+string(rune('a'+i)))
		if body := readBody(t, res); res.StatusCode != 401 || !strings.Contains(body, "Wrong password") {
			t.Fatalf("wrong password %d: %d %s", i, res.StatusCode, body)
		}
	}
	// Spent: even the right password is not tried, nor a right key.
	res := f.login("192.0.2.1", password)
	if body := readBody(t, res); res.StatusCode != 429 || len(res.Cookies()) != 0 || !strings.Contains(body, "Too many") || res.Header.Get("Retry-After") == "" {
		t.Fatalf("right password after 3 wrong: %d %s", res.StatusCode, body)
	}
	if res := f.do("GET", "/admin/snapshot", "192.0.2.1", nil, "Authorization", "Bearer "+key); res.StatusCode != 429 {
		t.Errorf("key from the spent address: %d", res.StatusCode)
	}
	// Another address is not affected.
	if res := f.login("192.0.2.9", password); res.StatusCode != http.StatusSeeOther {
		t.Errorf("another address: %d", res.StatusCode)
	}
	// Wrong Bearer keys count the same.
	for i := 0; i < 3; i++ {
		f.do("GET", "/admin/snapshot", "192.0.2.5", nil, "Authorization", "Bearer nope-0123456789")
	}
	if res := f.login("192.0.2.5", password); res.StatusCode != 429 {
		t.Errorf("password after 3 wrong keys: %d", res.StatusCode)
	}
	logs := f.logs.String()
	if strings.Contains(logs, "guess-number") || strings.Contains(logs, password) || strings.Contains(logs, "nope-0123456789") {
		t.Errorf("a secret was logged:\n%s", logs)
	}
}

func TestActionsNeedAuthAndTheSameOrigin(t *testing.T) {
	f := newFixture(t, Config{Password: password, Keys: []string{key}, PublicURL: "https://meet.example.com"})
	res := f.login("192.0.2.1", password)
	c := res.Cookies()[0]
	cookie := c.Name + "=" + c.Value
	end := "/admin/rooms/standup/end"
	remove := "/admin/rooms/standup/participants/p2/remove"
	for name, tc := range map[string]struct {
		path    string
		headers []string
		want    int
	}{
		"no auth":                  {end, []string{"Origin", "http://huddle.test"}, 401},
		"cookie without origin":    {end, []string{"Cookie", cookie}, 403},
		"cookie from another site": {end, []string{"Cookie", cookie, "Origin", "https://evil.example"}, 403},
		"cookie, cross-site fetch": {remove, []string{"Cookie", cookie, "Sec-Fetch-Site", "cross-site"}, 403},
		"key from another site":    {remove, []string{"Authorization", "Bearer " + key, "Origin", "https://evil.example"}, 403},
		"wrong key, same origin":   {remove, []string{"Authorization", "Bearer wrong-0123456789", "Origin", "http://huddle.test"}, 401},
		"cookie, unknown room":     {"/admin/rooms/nope/end", []string{"Cookie", cookie, "Origin", "http://huddle.test"}, 404},
		"cookie, unknown person":   {"/admin/rooms/standup/participants/p9/remove", []string{"Cookie", cookie, "Origin", "http://huddle.test"}, 404},
		"GET is no action":         {end, []string{"Cookie", cookie, "Origin", "http://huddle.test"}, 405},
	} {
		method := "POST"
		if strings.HasPrefix(name, "GET") {
			method = "GET"
		}
		if res := f.do(method, tc.path, "192.0.2.1", nil, tc.headers...); res.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", name, res.StatusCode, tc.want)
		}
	}
	if len(f.rooms.ended)+len(f.rooms.removed) != 0 {
		t.Fatalf("refused actions were done: %v %v", f.rooms.ended, f.rooms.removed)
	}
	// Allowed: the session from the page's own origin (or the public
	// URL's), a key without a browser's headers.
	ok := []struct {
		path    string
		headers []string
	}{
		{remove, []string{"Cookie", cookie, "Origin", "http://huddle.test"}},
		{remove, []string{"Cookie", cookie, "Origin", "https://meet.example.com"}},
		{remove, []string{"Cookie", cookie, "Sec-Fetch-Site", "same-origin"}},
		// A form's POST under Referrer-Policy no-referrer, as Chromium sends it.
		{remove, []string{"Cookie", cookie, "Origin", "null", "Sec-Fetch-Site", "same-origin"}},
		{remove, []string{"Authorization", "Bearer " + key}},
		{end, []string{"Cookie", cookie, "Origin", "http://huddle.test"}},
	}
	for i, tc := range ok {
		if res := f.do("POST", tc.path, "192.0.2.1", nil, tc.headers...); res.StatusCode != 204 {
			t.Errorf("allowed action %d: %d %s", i, res.StatusCode, readBody(t, res))
		}
	}
	if len(f.rooms.removed) != 5 || len(f.rooms.ended) != 1 {
		t.Errorf("done: removed %v, ended %v", f.rooms.removed, f.rooms.ended)
	}
}

// readEvent reads one Server-Sent Event's data.
func readEvent(t *testing.T, r *bufio.Reader) Snapshot {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var s Snapshot
			if err := json.Unmarshal([]byte(data), &s); err != nil {
				t.Fatalf("event %q: %v", data, err)
			}
			return s
		}
	}
}

func TestEventStreamSendsSnapshotsUntilTheClientGoes(t *testing.T) {
	var mu sync.Mutex
	sent := uint64(0)
	f := newFixture(t, Config{Keys: []string{key}, Interval: 50 * time.Millisecond,
		Media: func(room string) map[string]MediaFigures {
			mu.Lock()
			defer mu.Unlock()
			sent += 12500 // 100 kb per sample
			return map[string]MediaFigures{"p1": {PublishedBytes: sent, ForwardedBytes: sent / 2, Loss: 0.02, RTT: 40 * time.Millisecond, Reported: true}}
		},
		Relay:   func() Relay { return Relay{Allocations: 3, BytesRelayed: 1000} },
		Sockets: func() (int, int) { return 1, 2 },
	})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/admin/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	r := bufio.NewReader(res.Body)
	first := readEvent(t, r)
	second := readEvent(t, r)
	if len(second.Rooms) != 1 || len(second.Rooms[0].Participants) != 2 || second.Participants != 2 {
		t.Fatalf("rooms: %+v", second.Rooms)
	}
	ada, bob := second.Rooms[0].Participants[0], second.Rooms[0].Participants[1]
	if ada.Name != "Ada" || !ada.Host || !ada.Audio || !ada.Video || ada.Path != "sfu" || bob.Name != "Bob" || bob.Path != "mesh" {
		t.Errorf("participants: %+v %+v", ada, bob)
	}
	if first.Rooms[0].Participants[0].Up != nil {
		t.Errorf("a rate in the first sample, with nothing to compare: %v", *first.Rooms[0].Participants[0].Up)
	}
	if ada.Up == nil || *ada.Up <= 0 || ada.Down == nil || *ada.Down <= 0 || *ada.Up <= *ada.Down {
		t.Errorf("rates: up %v down %v", ada.Up, ada.Down)
	}
	if ada.Loss == nil || *ada.Loss != 0.02 || ada.RTT == nil || *ada.RTT != 40 || bob.Up != nil || bob.Loss != nil {
		t.Errorf("network figures: %+v %+v", ada, bob)
	}
	if second.Relay == nil || second.Relay.Allocations != 3 || second.Server.Polling != 1 || second.Server.WebSocket != 2 {
		t.Errorf("relay and sockets: %+v %+v", second.Relay, second.Server)
	}
	if second.Server.Goroutines <= 0 || second.Server.Memory == 0 {
		t.Errorf("server: %+v", second.Server)
	}
	if first.Server.CPU != -1 || second.Server.CPU < 0 {
		t.Errorf("cpu: first %v, second %v", first.Server.CPU, second.Server.CPU)
	}
	if second.Time <= first.Time {
		t.Errorf("times: %d then %d", first.Time, second.Time)
	}
	// The client goes: the handler ends and gives its slot back.
	cancel()
	res.Body.Close()
	deadline := time.Now().Add(2 * time.Second)
	for f.h.streams.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream's handler did not end after the client went")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	f := newFixture(t, Config{Keys: []string{key}, Interval: time.Hour, MaxStreams: 1})
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/admin/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	readEvent(t, bufio.NewReader(res.Body))
	// One stream at most: the next is refused.
	if res2 := f.do("GET", "/admin/events", "192.0.2.1", nil, "Authorization", "Bearer "+key); res2.StatusCode != 503 {
		t.Errorf("second stream over MaxStreams 1: %d", res2.StatusCode)
	}
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, res.Body); close(done) }()
	f.h.Close()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream did not end at Close")
	}
}
