package engineio

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// recorder is a Receiver that records what it gets.
type recorder struct {
	msgs     chan msg
	closed   chan string
	mu       sync.Mutex
	last     *Session
	accepted int
}

type msg struct {
	data   string
	binary bool
}

func newRecorder() *recorder {
	return &recorder{msgs: make(chan msg, 1024), closed: make(chan string, 64)}
}

func (r *recorder) accept(s *Session) Receiver {
	r.mu.Lock()
	r.last = s
	r.accepted++
	r.mu.Unlock()
	return r
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.accepted
}

// waitAccepted waits until more than n sessions were accepted: a WebSocket
// client can have its open packet, which goes out with the handshake's
// response, a moment before the server has made the session.
func (r *recorder) waitAccepted(t *testing.T, n int) {
	t.Helper()
	for deadline := time.Now().Add(3 * time.Second); r.count() <= n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server made no session for the connection")
		}
	}
}

func (r *recorder) session() *Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func (r *recorder) OnMessage(s *Session, data []byte, binary bool) {
	r.msgs <- msg{string(data), binary}
}
func (r *recorder) OnClose(s *Session, reason string) { r.closed <- reason }

func (r *recorder) wantMsg(t *testing.T, want msg) {
	t.Helper()
	select {
	case got := <-r.msgs:
		if got != want {
			t.Fatalf("message %+v, want %+v", got, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("no message, want %+v", want)
	}
}

func (r *recorder) wantClose(t *testing.T, reason string) {
	t.Helper()
	select {
	case got := <-r.closed:
		if got != reason {
			t.Fatalf("closed with %q, want %q", got, reason)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("session not closed, want %q", reason)
	}
}

type harness struct {
	t   *testing.T
	srv *Server
	ts  *httptest.Server
	rec *recorder
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newHarness(t *testing.T, cfg Config) *harness {
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	rec := newRecorder()
	srv := NewServer(cfg, rec.accept)
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		ts.CloseClientConnections()
		ts.Close()
	})
	return &harness{t, srv, ts, rec}
}

func (h *harness) do(method, query, body string, hdr map[string]string) (int, string, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.ts.URL+"/?"+query, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := h.ts.Client().Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

type openInfo struct {
	SID          string   `json:"sid"`
	Upgrades     []string `json:"upgrades"`
	PingInterval int      `json:"pingInterval"`
	PingTimeout  int      `json:"pingTimeout"`
	MaxPayload   int      `json:"maxPayload"`
}

func parseOpen(t *testing.T, body string) openInfo {
	t.Helper()
	if !strings.HasPrefix(body, "0") {
		t.Fatalf("not an open packet: %q", body)
	}
	var o openInfo
	if err := json.Unmarshal([]byte(body[1:]), &o); err != nil {
		t.Fatalf("open packet %q: %v", body, err)
	}
	return o
}

// open does a polling handshake and returns the sid.
func (h *harness) open() string {
	h.t.Helper()
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "", nil)
	if code != 200 {
		h.t.Fatalf("handshake status %d: %s", code, body)
	}
	return parseOpen(h.t, body).SID
}

func TestPollingHandshake(t *testing.T) {
	h := newHarness(t, Config{})
	code, body, hdr := h.do("GET", "EIO=4&transport=polling", "", nil)
	if code != 200 || hdr.Get("Content-Type") != "text/plain; charset=UTF-8" {
		t.Fatalf("status %d, content type %q", code, hdr.Get("Content-Type"))
	}
	o := parseOpen(t, body)
	if len(o.SID) < 16 || len(o.Upgrades) != 1 || o.Upgrades[0] != "websocket" ||
		o.PingInterval != 25000 || o.PingTimeout != 20000 || o.MaxPayload != 1000000 {
		t.Fatalf("open packet %+v", o)
	}
	if h.rec.session().ID() != o.SID {
		t.Fatal("receiver not given the new session")
	}
}

func TestRequestErrors(t *testing.T) {
	h := newHarness(t, Config{})
	sid := h.open()
	tests := []struct {
		name, method, query string
		hdr                 map[string]string
		status, code        int
	}{
		{"EIO=3", "GET", "EIO=3&transport=polling", nil, 400, 5},
		{"no EIO", "GET", "transport=polling", nil, 400, 5},
		{"unknown transport", "GET", "EIO=4&transport=flash", nil, 400, 0},
		{"unknown sid", "GET", "EIO=4&transport=polling&sid=nope", nil, 400, 1},
		{"POST handshake", "POST", "EIO=4&transport=polling", nil, 400, 2},
		{"websocket without upgrade", "GET", "EIO=4&transport=websocket", nil, 400, 3},
		{"PUT on a session", "PUT", "EIO=4&transport=polling&sid=" + sid, nil, 400, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, hdr := h.do(tt.method, tt.query, "", tt.hdr)
			var e struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil {
				t.Fatalf("body %q is not JSON", body)
			}
			if status != tt.status || e.Code != tt.code || e.Message != codeMessages[tt.code] ||
				hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("got %d %+v, want %d code %d", status, e, tt.status, tt.code)
			}
		})
	}
}

func TestPollingRoundTrip(t *testing.T) {
	h := newHarness(t, Config{})
	sid := h.open()
	q := "EIO=4&transport=polling&sid=" + sid
	// Batched POST: text, non-ASCII text, base64 binary, then a pong.
	code, body, _ := h.do("POST", q, "4hello\x1e4héllo 😀\x1ebAAH/\x1e3", nil)
	if code != 200 || body != "ok" {
		t.Fatalf("POST: %d %q", code, body)
	}
	h.rec.wantMsg(t, msg{"hello", false})
	h.rec.wantMsg(t, msg{"héllo 😀", false})
	h.rec.wantMsg(t, msg{"\x00\x01\xff", true})

	s := h.rec.session()
	if err := s.Send([]byte("a"), false); err != nil {
		t.Fatal(err)
	}
	_ = s.Send([]byte{1, 2, 3}, true)
	_ = s.Send([]byte("ü"), false)
	code, body, _ = h.do("GET", q, "", nil)
	if code != 200 || body != "4a\x1ebAQID\x1e4ü" {
		t.Fatalf("GET: %d %q", code, body)
	}

	// A GET with nothing queued waits for the next packet.
	got := make(chan string, 1)
	go func() {
		_, body, _ := h.do("GET", q, "", nil)
		got <- body
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case b := <-got:
		t.Fatalf("GET returned %q with nothing queued", b)
	default:
	}
	_ = s.Send([]byte("later"), false)
	if b := <-got; b != "4later" {
		t.Fatalf("waiting GET got %q", b)
	}
}

func TestPollingClosePacket(t *testing.T) {
	h := newHarness(t, Config{})
	sid := h.open()
	h.do("POST", "EIO=4&transport=polling&sid="+sid, "1", nil)
	h.rec.wantClose(t, "transport close")
	if code, _, _ := h.do("GET", "EIO=4&transport=polling&sid="+sid, "", nil); code != 400 {
		t.Fatalf("GET after close: %d", code)
	}
}

func TestConcurrentGETClosesSession(t *testing.T) {
	h := newHarness(t, Config{})
	sid := h.open()
	q := "EIO=4&transport=polling&sid=" + sid
	first := make(chan string, 1)
	go func() {
		_, body, _ := h.do("GET", q, "", nil)
		first <- body
	}()
	time.Sleep(50 * time.Millisecond)
	code, _, _ := h.do("GET", q, "", nil)
	if code != 400 {
		t.Fatalf("second GET: %d, want 400", code)
	}
	if b := <-first; b != "1" {
		t.Fatalf("first GET got %q, want the close packet", b)
	}
	h.rec.wantClose(t, "transport error")
}

func TestMaxPayload(t *testing.T) {
	h := newHarness(t, Config{MaxPayload: 100})
	sid := h.open()
	code, _, _ := h.do("POST", "EIO=4&transport=polling&sid="+sid, "4"+strings.Repeat("x", 100), nil)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", code)
	}
	h.rec.wantClose(t, "transport error")

	// Exactly the limit is fine.
	sid = h.open()
	code, _, _ = h.do("POST", "EIO=4&transport=polling&sid="+sid, "4"+strings.Repeat("x", 99), nil)
	if code != 200 {
		t.Fatalf("status %d at the limit", code)
	}
}

func TestBadPollingPayloadClosesSession(t *testing.T) {
	for _, body := range []string{"", "9", "4a\x1e", "b!!!", "0"} {
		h := newHarness(t, Config{})
		sid := h.open()
		code, _, _ := h.do("POST", "EIO=4&transport=polling&sid="+sid, body, nil)
		if body == "0" {
			if code != 200 {
				t.Fatalf("%q: %d", body, code)
			}
			h.rec.wantClose(t, "transport error")
			continue
		}
		if code != 400 {
			t.Fatalf("%q: status %d, want 400", body, code)
		}
		h.rec.wantClose(t, "parse error")
	}
}

func TestOrigin(t *testing.T) {
	h := newHarness(t, Config{CheckOrigin: func(r *http.Request) bool {
		return r.Header.Get("Origin") == "" || r.Header.Get("Origin") == "https://good.example"
	}})
	code, body, _ := h.do("GET", "EIO=4&transport=polling", "", map[string]string{"Origin": "https://evil.example"})
	if code != 403 || body != `{"code":4,"message":"Forbidden"}` {
		t.Fatalf("polling from a refused origin: %d %s", code, body)
	}
	code, body, _ = h.do("GET", "EIO=4&transport=websocket", "", map[string]string{
		"Origin": "https://evil.example", "Upgrade": "websocket", "Connection": "Upgrade",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
	})
	if code != 403 || !strings.Contains(body, `"code":4`) {
		t.Fatalf("websocket from a refused origin: %d %s", code, body)
	}
	code, _, hdr := h.do("GET", "EIO=4&transport=polling", "", map[string]string{"Origin": "https://good.example"})
	if code != 200 || hdr.Get("Access-Control-Allow-Origin") != "https://good.example" ||
		hdr.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("allowed origin: %d %v", code, hdr)
	}
	code, _, hdr = h.do("OPTIONS", "EIO=4&transport=polling", "", map[string]string{
		"Origin": "https://good.example", "Access-Control-Request-Headers": "content-type",
	})
	if code != 204 || hdr.Get("Access-Control-Allow-Origin") != "https://good.example" ||
		!strings.Contains(hdr.Get("Access-Control-Allow-Methods"), "POST") ||
		hdr.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Fatalf("preflight: %d %v", code, hdr)
	}
}

func TestSendQueueOverflow(t *testing.T) {
	h := newHarness(t, Config{SendQueue: 4})
	h.open()
	s := h.rec.session()
	for i := range 4 {
		if err := s.Send([]byte("x"), false); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := s.Send([]byte("x"), false); err != ErrQueueFull {
		t.Fatalf("fifth send: %v, want ErrQueueFull", err)
	}
	h.rec.wantClose(t, "send queue full")
	if err := s.Send([]byte("x"), false); err != ErrClosed {
		t.Fatalf("send after close: %v", err)
	}
}

// wsClient is a raw gws client that records the frames it receives.
type wsClient struct {
	gws.BuiltinEventHandler
	conn   *gws.Conn
	frames chan msg
	closed chan struct{}
}

func (c *wsClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	c.frames <- msg{string(m.Bytes()), m.Opcode == gws.OpcodeBinary}
}
func (c *wsClient) OnClose(*gws.Conn, error) { close(c.closed) }

func (h *harness) dial(query string) *wsClient {
	h.t.Helper()
	c := &wsClient{frames: make(chan msg, 1024), closed: make(chan struct{})}
	before := h.rec.count()
	conn, resp, err := gws.NewClient(c, &gws.ClientOption{Addr: "ws" + strings.TrimPrefix(h.ts.URL, "http") + "/?" + query})
	if err != nil {
		h.t.Fatal(err)
	}
	c.conn = conn
	go conn.ReadLoop()
	h.t.Cleanup(func() { _ = conn.NetConn().Close() })
	if resp != nil && resp.StatusCode == http.StatusSwitchingProtocols && !strings.Contains(query, "sid=") {
		h.rec.waitAccepted(h.t, before)
	}
	return c
}

func (c *wsClient) want(t *testing.T, want msg) {
	t.Helper()
	select {
	case got := <-c.frames:
		if got != want {
			t.Fatalf("frame %+v, want %+v", got, want)
		}
	case <-time.After(3 * time.Second):
		t.Fatalf("no frame, want %+v", want)
	}
}

func (c *wsClient) next(t *testing.T) msg {
	t.Helper()
	select {
	case got := <-c.frames:
		return got
	case <-time.After(3 * time.Second):
		t.Fatal("no frame")
	}
	return msg{}
}

func TestWebSocketDirect(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		c := h.dial("EIO=4&transport=websocket")
		o := parseOpen(t, c.next(t).data)
		if len(o.Upgrades) != 0 || o.SID == "" {
			t.Fatalf("open packet %+v", o)
		}
		_ = c.conn.WriteString("4hi 😀")
		_ = c.conn.WriteMessage(gws.OpcodeBinary, []byte{0, 9})
		h.rec.wantMsg(t, msg{"hi 😀", false})
		h.rec.wantMsg(t, msg{"\x00\x09", true})
		s := h.rec.session()
		if s.Transport() != WebSocket {
			t.Fatal("transport not websocket")
		}
		_ = s.Send([]byte("text"), false)
		_ = s.Send([]byte{7, 8}, true)
		c.want(t, msg{"4text", false})
		c.want(t, msg{"\x07\x08", true})

		// Messages far larger than the read buffer, both ways.
		big := strings.Repeat("é😀x", 20000)
		_ = c.conn.WriteString("4" + big)
		h.rec.wantMsg(t, msg{big, false})
		_ = s.Send([]byte(big), false)
		c.want(t, msg{"4" + big, false})

		_ = c.conn.WriteString("1")
		h.rec.wantClose(t, "transport close")
	})
}

func TestUpgrade(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		sid := h.open()
		q := "EIO=4&transport=polling&sid=" + sid
		s := h.rec.session()
		poll := make(chan string, 1)
		go func() {
			_, body, _ := h.do("GET", q, "", nil)
			poll <- body
		}()
		time.Sleep(30 * time.Millisecond)

		c := h.dial("EIO=4&transport=websocket&sid=" + sid)
		_ = c.conn.WriteString("2probe")
		c.want(t, msg{"3probe", false})
		if b := <-poll; b != "6" {
			t.Fatalf("pending GET got %q, want noop", b)
		}
		// Queued while the client pauses polling: must arrive over WebSocket, in order.
		_ = s.Send([]byte("one"), false)
		_ = s.Send([]byte("two"), false)
		if s.Transport() != Polling {
			t.Fatal("switched before the upgrade packet")
		}
		_ = c.conn.WriteString("5")
		c.want(t, msg{"4one", false})
		c.want(t, msg{"4two", false})
		if s.Transport() != WebSocket {
			t.Fatal("not switched after upgrade")
		}
		_ = s.Send([]byte("three"), false)
		c.want(t, msg{"4three", false})
		_ = c.conn.WriteString("4up")
		h.rec.wantMsg(t, msg{"up", false})
		if code, _, _ := h.do("POST", q, "4late", nil); code != 400 {
			t.Fatalf("POST after upgrade: %d", code)
		}
	})
}

// TestPollingCloseAfterFlush: closing a polling session sends what is
// queued in one response and the close packet alone in the next (the
// official client would act on a close packet before the messages beside
// it); the client's own close packet then ends the session at once.
func TestPollingCloseAfterFlush(t *testing.T) {
	h := newHarness(t, Config{})
	sid := h.open()
	s := h.rec.session()
	q := "EIO=4&transport=polling&sid=" + sid
	_ = s.Send([]byte("1"), false)
	s.Close("kicked")
	if _, body, _ := h.do("GET", q, "", nil); body != "41" {
		t.Fatalf("first GET after Close: %q, want the queued message alone", body)
	}
	if code, body, _ := h.do("POST", q, "1", nil); code != 200 {
		t.Fatalf("client close packet: %d %q", code, body)
	}
	h.rec.wantClose(t, "kicked")

	// Without the client's close packet, the next GET gets the server's.
	sid = h.open()
	s = h.rec.session()
	q = "EIO=4&transport=polling&sid=" + sid
	s.Close("bye")
	if _, body, _ := h.do("GET", q, "", nil); body != "1" {
		t.Fatalf("GET after Close: %q, want the close packet", body)
	}
	h.rec.wantClose(t, "bye")
}

// TestCloseDuringUpgrade: a session closed after the probe but before the
// upgrade packet still completes the upgrade, and what was queued for
// polling reaches the client over the WebSocket before it closes (the
// client no longer polls once it has sent the upgrade packet).
func TestCloseDuringUpgrade(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		sid := h.open()
		s := h.rec.session()
		c := h.dial("EIO=4&transport=websocket&sid=" + sid)
		_ = c.conn.WriteString("2probe")
		c.want(t, msg{"3probe", false})
		if _, body, _ := h.do("GET", "EIO=4&transport=polling&sid="+sid, "", nil); body != "6" {
			t.Fatalf("GET after the probe: %q, want noop", body)
		}
		_ = s.Send([]byte("last words"), false)
		s.Close("kicked")
		_ = c.conn.WriteString("5")
		c.want(t, msg{"4last words", false})
		select {
		case <-c.closed:
		case <-time.After(3 * time.Second):
			t.Fatal("WebSocket not closed after the flush")
		}
		h.rec.wantClose(t, "kicked")
	})
}

// TestUpgradeWakesWaitingGET: a GET still waiting when the upgrade
// completes is answered 400, as any polling request after the upgrade,
// and leaves the queue to the WebSocket. (A client that follows the
// protocol has none: it sends the upgrade packet once its GET is back.)
func TestUpgradeWakesWaitingGET(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		sid := h.open()
		s := h.rec.session()
		c := h.dial("EIO=4&transport=websocket&sid=" + sid)
		_ = c.conn.WriteString("2probe")
		c.want(t, msg{"3probe", false})
		q := "EIO=4&transport=polling&sid=" + sid
		if _, body, _ := h.do("GET", q, "", nil); body != "6" {
			t.Fatalf("GET after the probe: %q, want noop", body)
		}
		poll := make(chan string, 1)
		go func() {
			_, body, _ := h.do("GET", q, "", nil)
			poll <- body
		}()
		time.Sleep(50 * time.Millisecond)
		_ = c.conn.WriteString("5")
		select {
		case b := <-poll:
			if !strings.Contains(b, `"code":3`) {
				t.Fatalf("waiting GET got %q, want 400 Bad request", b)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("waiting GET not answered after the upgrade")
		}
		_ = s.Send([]byte("over ws"), false)
		c.want(t, msg{"4over ws", false})
		if code, _, _ := h.do("GET", q, "", nil); code != 400 {
			t.Fatalf("GET after upgrade: %d, want 400", code)
		}
	})
}

func TestBadUpgradeKeepsPolling(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		sid := h.open()
		c := h.dial("EIO=4&transport=websocket&sid=" + sid)
		_ = c.conn.WriteString("5") // upgrade without probe
		select {
		case <-c.closed:
		case <-time.After(3 * time.Second):
			t.Fatal("probe socket not closed")
		}
		s := h.rec.session()
		_ = s.Send([]byte("still"), false)
		if _, body, _ := h.do("GET", "EIO=4&transport=polling&sid="+sid, "", nil); body != "4still" {
			t.Fatalf("polling after a failed upgrade: %q", body)
		}
	})
}

func TestPingTimeout(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		// A generous timeout: on a loaded machine a pong can take tens of ms.
		h := newHarness(t, Config{ReadMode: mode, PingInterval: 50 * time.Millisecond, PingTimeout: time.Second})
		// A client that answers pings stays.
		good := h.dial("EIO=4&transport=websocket")
		good.next(t)
		for range 4 {
			good.want(t, msg{"2", false})
			_ = good.conn.WriteString("3")
		}
		select {
		case r := <-h.rec.closed:
			t.Fatalf("a client that answers pings was closed: %s", r)
		default:
		}
		_ = good.conn.NetConn().Close()
		h.rec.wantClose(t, "transport close")

		// One that does not is closed.
		bad := h.dial("EIO=4&transport=websocket")
		bad.next(t)
		bad.want(t, msg{"2", false})
		h.rec.wantClose(t, "ping timeout")
		select {
		case <-bad.closed:
		case <-time.After(3 * time.Second):
			t.Fatal("socket not closed after ping timeout")
		}
	})
}

func TestShutdownFlushesAndCloses(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		c := h.dial("EIO=4&transport=websocket")
		c.next(t)
		_ = h.rec.session().Send([]byte("bye"), false)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := h.srv.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		c.want(t, msg{"4bye", false})
		h.rec.wantClose(t, "server shutting down")
		if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", nil); code != 503 {
			t.Fatalf("handshake after shutdown: %d", code)
		}
	})
}

// TestNoGoroutineLeak opens sessions on both transports, upgrades some,
// closes them in several ways and checks every goroutine is gone.
func TestNoGoroutineLeak(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		before := runtime.NumGoroutine()
		func() {
			rec := newRecorder()
			srv := NewServer(Config{ReadMode: mode, Logger: quietLogger(), PingInterval: 20 * time.Millisecond, PingTimeout: time.Second}, rec.accept)
			ts := httptest.NewServer(srv)
			h := &harness{t, srv, ts, rec}
			defer ts.Close()
			var clients []*wsClient
			for range 5 {
				c := h.dial("EIO=4&transport=websocket")
				c.next(t)
				clients = append(clients, c)
			}
			for range 3 { // upgraded
				sid := h.open()
				c := h.dial("EIO=4&transport=websocket&sid=" + sid)
				_ = c.conn.WriteString("2probe")
				c.want(t, msg{"3probe", false})
				_ = c.conn.WriteString("5")
				clients = append(clients, c)
			}
			var polls sync.WaitGroup
			for range 3 { // polling with a waiting GET
				sid := h.open()
				polls.Add(1)
				go func() {
					defer polls.Done()
					h.do("GET", "EIO=4&transport=polling&sid="+sid, "", nil)
				}()
			}
			h.open() // polling without GET
			_ = clients[0].conn.WriteString("1")
			_ = clients[1].conn.NetConn().Close()
			time.Sleep(50 * time.Millisecond)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				t.Fatal(err)
			}
			polls.Wait()
			for _, c := range clients {
				_ = c.conn.NetConn().Close()
			}
			ts.Client().CloseIdleConnections()
		}()
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines before, %d after:\n%s", before, n, bytes.TrimSpace(buf))
		}
	})
}

// TestSessionRequest: a session keeps the opening request's method, URL,
// address and application headers, not the handshake's transport headers.
func TestSessionRequest(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		c := h.dial("EIO=4&transport=websocket&x=1")
		c.next(t)
		r := h.rec.session().Request()
		if r.Method != "GET" || r.URL.Query().Get("x") != "1" || r.RemoteAddr == "" || r.Host == "" {
			t.Fatalf("request %s %s from %q host %q", r.Method, r.URL, r.RemoteAddr, r.Host)
		}
		if r.Header.Get("Sec-WebSocket-Key") != "" || r.Header.Get("Upgrade") != "" {
			t.Fatalf("transport headers kept: %v", r.Header)
		}
		if r.Context() == nil || r.Context().Err() != nil {
			t.Fatal("request context should be a live background context")
		}

		code, body, _ := h.do("GET", "EIO=4&transport=polling", "", map[string]string{"Origin": "http://o.example", "X-Forwarded-For": "192.0.2.1"})
		if code != 200 {
			t.Fatalf("handshake %d %s", code, body)
		}
		s := h.rec.session()
		r = s.Request()
		if r.Header.Get("Origin") != "http://o.example" || r.Header.Get("X-Forwarded-For") != "192.0.2.1" || r.Header.Get("User-Agent") == "" {
			t.Fatalf("application headers lost: %v", r.Header)
		}
		// The accessors that skip the rebuild agree with it.
		if s.RemoteAddr() != r.RemoteAddr {
			t.Errorf("RemoteAddr %q, request says %q", s.RemoteAddr(), r.RemoteAddr)
		}
		for _, name := range []string{"Origin", "X-Forwarded-For", "User-Agent", "Cookie"} {
			if got, want := s.Header(name), r.Header.Values(name); !slices.Equal(got, want) {
				t.Errorf("Header(%s) = %q, request says %q", name, got, want)
			}
		}
	})
}

// TestFrameLengths: messages at each WebSocket length encoding boundary,
// sent together so they leave in one batched write, arrive whole and in
// order.
func TestFrameLengths(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		c := h.dial("EIO=4&transport=websocket")
		c.next(t)
		s := h.rec.session()
		sizes := []int{0, 124, 125, 126, 65534, 65535, 65536, 70000}
		var packets []Packet
		for i, n := range sizes {
			packets = append(packets, Packet{Type: Message, Data: bytes.Repeat([]byte{'a' + byte(i)}, n), Binary: i%2 == 1})
		}
		if err := s.SendAll(packets...); err != nil {
			t.Fatal(err)
		}
		for i, n := range sizes {
			want := msg{strings.Repeat(string(rune('a'+i)), n), i%2 == 1}
			if !want.binary {
				want.data = "4" + want.data
			}
			c.want(t, want)
		}
	})
}

// readModes are the ways WebSocket connections are read; each WebSocket
// test runs in all of them.
var readModes = []ReadMode{ReadGoroutine, ReadEventDriven}

func eachReadMode(t *testing.T, f func(t *testing.T, mode ReadMode)) {
	for _, m := range readModes {
		t.Run(m.String(), func(t *testing.T) { f(t, m) })
	}
}
