package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/huddlehq/huddle/internal/api"
	"github.com/huddlehq/huddle/internal/auth"
	"github.com/huddlehq/huddle/internal/sioclient"
	"github.com/huddlehq/huddle/internal/webhooks"
)

const (
	apiKey     = "test-api-key-0123456789"
	authSecret = "test-auth-secret-0123456789abcdef"
	hookSecret = "test-webhook-secret"
)

// apiClient calls the real server's API and checks every request and
// answer against the OpenAPI document with kin-openapi.
type apiClient struct {
	t      *testing.T
	base   string
	router routers.Router
	seen   map[string]bool // operations called, "METHOD /path"
}

func newAPIClient(t *testing.T, base string) *apiClient {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = openapi3.Servers{{URL: base + api.Prefix}}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiClient{t: t, base: base, router: router, seen: map[string]bool{}}
}

type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (a apiAnswer) code() string {
	var e struct{ Error struct{ Code string } }
	_ = json.Unmarshal(a.body, &e)
	return e.Error.Code
}

func (c *apiClient) call(method, path, key string, body any) apiAnswer {
	c.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	ans := apiAnswer{resp.StatusCode, resp.Header, out}
	// Validate against the document: the request as sent and the answer.
	vreq, _ := http.NewRequest(method, c.base+path, bytes.NewReader(raw))
	vreq.Header = req.Header.Clone()
	route, params, err := c.router.FindRoute(vreq)
	if err != nil {
		c.t.Errorf("%s %s: not in the OpenAPI document: %v", method, path, err)
		return ans
	}
	c.seen[method+" "+route.Path] = true
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route, Options: opts}
	if resp.StatusCode < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.t.Errorf("%s %s: request does not match the document: %v", method, path, err)
		}
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode,
		Header: resp.Header, Options: opts}
	rin.SetBodyBytes(out)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		c.t.Errorf("%s %s: answer %d %s does not match the document: %v", method, path, resp.StatusCode, out, err)
	}
	return ans
}

func (c *apiClient) must(status int, method, path string, body any) apiAnswer {
	c.t.Helper()
	a := c.call(method, path, apiKey, body)
	if a.status != status {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, a.status, a.body, status)
	}
	return a
}

// hookLog is a webhook receiver that checks signatures.
type hookLog struct {
	mu     sync.Mutex
	events []webhooks.Event
	bad    int
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if webhooks.Verify([]byte(hookSecret), r.Header.Get(webhooks.SignatureHeader), body, time.Minute, time.Now()) != nil {
		h.bad++
		w.WriteHeader(400)
		return
	}
	var ev webhooks.Event
	_ = json.Unmarshal(body, &ev)
	h.events = append(h.events, ev)
}

func (h *hookLog) types(room string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, e := range h.events {
		if e.Room == room {
			s := e.Type
			if e.Participant != nil {
				s += ":" + e.Participant.Name
			}
			out = append(out, s)
		}
	}
	return out
}

// sock is a Socket.IO participant of the API test.
type sock struct {
	t  *testing.T
	c  *sioclient.Client
	mu sync.Mutex
	ev map[string][]json.RawMessage
}

func dialSock(t *testing.T, url string) *sock {
	s := &sock{t: t, ev: map[string][]json.RawMessage{}}
	c, err := dial(t, url, sioclient.Options{OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
		s.mu.Lock()
		s.ev[event] = append(s.ev[event], args...)
		s.mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	s.c = c
	return s
}

func (s *sock) got(event, want string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.ev[event] {
		if strings.Contains(string(a), want) {
			return true
		}
	}
	return false
}

func issueToken(t *testing.T, room, name string, role auth.Role) string {
	tok, err := auth.Issue([]byte(authSecret), auth.NewClaims(room, name, role, time.Hour, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestServerAPI calls every route of the API on the real server, with
// real participants in the meeting, tokens in --auth token mode, and
// webhooks to a real receiver; each request and answer is checked against
// the OpenAPI document.
func TestServerAPI(t *testing.T) {
	hooks := &hookLog{}
	recv := httptest.NewServer(hooks)
	defer recv.Close()
	r := startReal(t, testConfig(t, "--api-keys", apiKey+",second-key-0123456789", "--auth", "token",
		"--auth-secret", authSecret, "--webhook-urls", recv.URL, "--webhook-secret", hookSecret,
		"--public-url", "https://meet.example.com", "--allow-loopback-origins"))
	c := newAPIClient(t, r.url())

	// The document, without a key, is docs/openapi.json.
	doc := c.call("GET", "/api/v1/openapi.json", "", nil)
	want, _ := os.ReadFile("../../docs/openapi.json")
	if doc.status != 200 || !bytes.Equal(doc.body, want) {
		t.Fatalf("openapi.json: %d", doc.status)
	}
	// Keys.
	if a := c.call("GET", "/api/v1/rooms", "", nil); a.status != 401 || a.code() != "unauthorized" {
		t.Fatalf("no key: %d %s", a.status, a.body)
	}
	if a := c.call("GET", "/api/v1/rooms", "wrong-key-0123456789", nil); a.status != 401 {
		t.Fatalf("wrong key: %d %s", a.status, a.body)
	}

	// Create a meeting ahead, with settings.
	created := c.must(201, "POST", "/api/v1/rooms", map[string]any{"id": "board", "password": "pw",
		"waitingRoom": true, "maxParticipants": 4, "ttlSeconds": 3600})
	var room api.Room
	_ = json.Unmarshal(created.body, &room)
	if !room.Persistent || !room.Settings.HasPassword || !room.Settings.WaitingRoom || room.Settings.MaxParticipants != 4 ||
		room.ExpiresAt == nil || room.URL != "https://meet.example.com/board" || created.header.Get("Location") != "/api/v1/rooms/board" {
		t.Fatalf("created %s", created.body)
	}
	if a := c.call("POST", "/api/v1/rooms", apiKey, map[string]any{"id": "board"}); a.status != 409 || a.code() != "room-exists" {
		t.Fatalf("again: %d %s", a.status, a.body)
	}
	if a := c.call("POST", "/api/v1/rooms", apiKey, map[string]any{"id": "no spaces"}); a.status != 400 || a.code() != "invalid-room" {
		t.Fatalf("bad id: %d %s", a.status, a.body)
	}
	// A meeting may have its own media mode.
	c.must(201, "POST", "/api/v1/rooms", map[string]any{"id": "big-one", "media": "sfu"})
	c.must(204, "DELETE", "/api/v1/rooms/big-one", nil)
	if a := c.call("POST", "/api/v1/rooms", apiKey, map[string]any{"id": "odd-one", "media": "p2p"}); a.status != 400 || a.code() != "bad-request" {
		t.Fatalf("media p2p: %d %s", a.status, a.body)
	}
	var auto api.Room
	_ = json.Unmarshal(c.must(201, "POST", "/api/v1/rooms", map[string]any{}).body, &auto)
	if len(auto.ID) != 12 {
		t.Fatalf("random id %q", auto.ID)
	}

	// A token from the API lets the host in (past password and waiting
	// room); a guest with its own token and the password waits.
	var tok struct{ Token, URL string }
	_ = json.Unmarshal(c.must(201, "POST", "/api/v1/rooms/board/tokens", map[string]any{"name": "Hana", "role": "host", "ttlSeconds": 600}).body, &tok)
	if !strings.HasPrefix(tok.URL, "https://meet.example.com/board?token=") {
		t.Fatalf("token url %q", tok.URL)
	}
	if a := c.call("POST", "/api/v1/rooms/board/tokens", apiKey, map[string]any{"role": "admin"}); a.status != 400 {
		t.Fatalf("bad role: %d %s", a.status, a.body)
	}
	host := dialSock(t, r.url())
	h := join(t, host.c, map[string]string{"room": "board", "token": tok.Token})
	if h.Error != nil || h.ID == "" {
		t.Fatalf("host join: %+v", h)
	}
	guest := dialSock(t, r.url())
	gAck := join(t, guest.c, map[string]string{"room": "board", "password": "pw", "token": issueToken(t, "board", "Gus", auth.RoleGuest)})
	if gAck.Error != nil {
		t.Fatalf("guest join: %+v", gAck)
	}
	var got api.Room
	_ = json.Unmarshal(c.must(200, "GET", "/api/v1/rooms/board", nil).body, &got)
	if len(got.Participants) != 1 || !got.Participants[0].Host || got.Participants[0].Role != "host" || len(got.Waiting) != 1 {
		t.Fatalf("room with a waiting guest: %+v", got)
	}
	// Turning the waiting room off lets the guest in.
	_ = json.Unmarshal(c.must(200, "PATCH", "/api/v1/rooms/board", map[string]any{"waitingRoom": false}).body, &got)
	eventually(t, "guest admitted", func() bool { return guest.got("admitted", `"room":"board"`) })
	_ = json.Unmarshal(c.must(200, "GET", "/api/v1/rooms/board", nil).body, &got)
	if len(got.Participants) != 2 || got.Settings.WaitingRoom || got.Media == "" {
		t.Fatalf("room after PATCH: %+v", got)
	}
	gID := got.Participants[1].ID
	var list struct{ Rooms []api.Room }
	_ = json.Unmarshal(c.must(200, "GET", "/api/v1/rooms", nil).body, &list)
	if len(list.Rooms) != 2 {
		t.Fatalf("list %+v", list)
	}

	// Hands: the guest raises one, the API lowers it, the guest hears it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if _, err := guest.c.EmitWithAck(ctx, "raise-hand", map[string]bool{"raised": true}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if a := c.call("POST", "/api/v1/rooms/board/hands/lower", apiKey, map[string]any{"participants": []string{"nobody"}}); a.status != 404 || a.code() != "unknown-peer" {
		t.Fatalf("lower nobody's hand: %d %s", a.status, a.body)
	}
	var lowered struct{ Lowered []string }
	_ = json.Unmarshal(c.must(200, "POST", "/api/v1/rooms/board/hands/lower", map[string]any{}).body, &lowered)
	if len(lowered.Lowered) != 1 || lowered.Lowered[0] != gID {
		t.Fatalf("lowered %v, want the guest's", lowered.Lowered)
	}
	eventually(t, "hand lowered", func() bool { return guest.got("hand", `"by":"system"`) })

	// Recording: the test's participants cannot send through the SFU, so
	// the start is refused with its code; a meeting not recorded cannot
	// stop; the list of a room with none is empty.
	if a := c.call("POST", "/api/v1/rooms/board/recording", apiKey, nil); a.status != 409 || a.code() != "recording-needs-sfu" {
		t.Fatalf("start recording: %d %s", a.status, a.body)
	}
	if a := c.call("DELETE", "/api/v1/rooms/board/recording", apiKey, nil); a.status != 409 || a.code() != "recording-inactive" {
		t.Fatalf("stop recording: %d %s", a.status, a.body)
	}
	if a := c.must(200, "GET", "/api/v1/rooms/board/recordings", nil); string(a.body) != "{\"recordings\":[]}\n" {
		t.Fatalf("recordings: %s", a.body)
	}

	// Chat from the server, a mute request, a removal.
	c.must(201, "POST", "/api/v1/rooms/board/messages", map[string]string{"text": "The meeting ends at 10."})
	eventually(t, "system chat", func() bool { return guest.got("chat-message", `"from":"system"`) })
	if a := c.call("POST", "/api/v1/rooms/board/messages", apiKey, map[string]string{"text": "  "}); a.status != 400 {
		t.Fatalf("empty chat: %d %s", a.status, a.body)
	}
	c.must(204, "POST", "/api/v1/rooms/board/participants/"+gID+"/mute", nil)
	eventually(t, "mute request", func() bool { return guest.got("mute-request", `"from":"system"`) })
	if a := c.call("POST", "/api/v1/rooms/board/participants/nobody/mute", apiKey, nil); a.status != 404 || a.code() != "unknown-peer" {
		t.Fatalf("mute nobody: %d %s", a.status, a.body)
	}
	c.must(204, "DELETE", "/api/v1/rooms/board/participants/"+gID, nil)
	eventually(t, "guest removed", func() bool { return guest.got("removed", `"code":"removed"`) })
	if a := c.call("DELETE", "/api/v1/rooms/board/participants/"+gID, apiKey, nil); a.status != 404 {
		t.Fatalf("remove twice: %d %s", a.status, a.body)
	}

	// End the meeting: the host is told, the room is gone.
	c.must(204, "DELETE", "/api/v1/rooms/board", nil)
	eventually(t, "host told", func() bool { return host.got("removed", `"code":"meeting-ended"`) })
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		var body any
		if m == "PATCH" {
			body = map[string]any{"locked": true}
		}
		if a := c.call(m, "/api/v1/rooms/board", apiKey, body); a.status != 404 || a.code() != "not-found" {
			t.Fatalf("%s an ended room: %d %s", m, a.status, a.body)
		}
	}
	if a := c.call("POST", "/api/v1/rooms/board/messages", apiKey, map[string]string{"text": "hi"}); a.status != 404 {
		t.Fatalf("chat to an ended room: %d", a.status)
	}

	// Every operation of the document was called.
	docOps := 0
	for path, item := range mustDoc(t).Paths.Map() {
		for method := range item.Operations() {
			docOps++
			if !c.seen[method+" "+path] {
				t.Errorf("%s %s was not called", method, path)
			}
		}
	}
	if docOps != len(c.seen) {
		t.Errorf("called %d operations, the document has %d", len(c.seen), docOps)
	}

	// Webhooks: every event of the meeting, in order, signed.
	wantHooks := []string{"meeting.started", "participant.joined:Hana", "participant.joined:Gus",
		"participant.left:Gus", "participant.left:Hana", "meeting.ended"}
	eventually(t, "webhooks", func() bool { return len(hooks.types("board")) == len(wantHooks) })
	if got := hooks.types("board"); strings.Join(got, " ") != strings.Join(wantHooks, " ") || hooks.bad != 0 {
		t.Fatalf("webhooks %q (bad %d), want %q", got, hooks.bad, wantHooks)
	}
	metrics := scrapeMetrics(t, r.Handler())
	if v := metricValue(metrics, "huddle_webhooks_delivered_total"); v != 6 {
		t.Fatalf("huddle_webhooks_delivered_total %v", v)
	}
}

func mustDoc(t *testing.T) *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestServerRoutesAreTheAPIs: the server hands every documented path to
// the API (a JSON 401 without a key), not to the web app.
func TestServerRoutesAreTheAPIs(t *testing.T) {
	r := startReal(t, testConfig(t, "--api-keys", apiKey))
	for path, item := range mustDoc(t).Paths.Map() {
		p := strings.NewReplacer("{room}", "r", "{participant}", "p").Replace(api.Prefix + path)
		for method := range item.Operations() {
			rec := httptest.NewRecorder()
			r.Handler().ServeHTTP(rec, httptest.NewRequest(method, p, strings.NewReader("{}")))
			want := 401
			if path == "/openapi.json" {
				want = 200
			}
			if rec.Code != want || rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: %d %s", method, p, rec.Code, rec.Header().Get("Content-Type"))
			}
		}
	}
}

func TestJoinTokensOnTheRealServer(t *testing.T) {
	r := startReal(t, testConfig(t, "--auth", "token", "--auth-secret", authSecret))
	for _, tc := range []struct {
		name, token, code string
	}{
		{"none", "", "auth-required"},
		{"wrong room", issueToken(t, "other", "A", auth.RoleGuest), "auth-wrong-room"},
		{"valid", issueToken(t, "room-1", "A", auth.RoleGuest), ""},
	} {
		c, err := dial(t, r.url(), sioclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ack := join(t, c, map[string]string{"room": "room-1", "token": tc.token})
		switch {
		case tc.code == "" && ack.Error != nil:
			t.Errorf("%s: %+v", tc.name, ack.Error)
		case tc.code != "" && (ack.Error == nil || ack.Error.Code != tc.code):
			t.Errorf("%s: %+v, want %s", tc.name, ack, tc.code)
		}
	}
	// The refusals are counted by their code.
	m := scrapeMetrics(t, r.Handler())
	if !strings.Contains(m, `reason="auth-required"`) {
		t.Errorf("refusals not counted by code:\n%s", grepLines(m, "refused"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
