package socketio

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
)

// rawClient speaks Engine.IO over a gws WebSocket, with no Socket.IO client.
type rawClient struct {
	gws.BuiltinEventHandler
	conn   *gws.Conn
	frames chan string
	closed chan struct{}
}

func (c *rawClient) OnMessage(_ *gws.Conn, m *gws.Message) {
	if m.Opcode == gws.OpcodeBinary {
		c.frames <- "bin:" + string(m.Bytes())
		return
	}
	c.frames <- string(m.Bytes())
}
func (c *rawClient) OnClose(*gws.Conn, error) { close(c.closed) }

func (c *rawClient) next(t *testing.T) string {
	t.Helper()
	for {
		select {
		case f := <-c.frames:
			if f == "2" { // answer pings, they are not what tests look at
				_ = c.conn.WriteString("3")
				continue
			}
			return f
		case <-time.After(3 * time.Second):
			t.Fatal("no frame")
			return ""
		}
	}
}

func (c *rawClient) want(t *testing.T, want string) {
	t.Helper()
	if got := c.next(t); got != want {
		t.Fatalf("frame %q, want %q", got, want)
	}
}

func (c *rawClient) wantClosed(t *testing.T) {
	t.Helper()
	select {
	case <-c.closed:
	case <-time.After(3 * time.Second):
		t.Fatal("connection not closed")
	}
}

func serve(t *testing.T, srv *Server) *httptest.Server {
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.engine.CloseAll("test over")
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts
}

// dialWS opens an Engine.IO session over WebSocket (not yet Socket.IO connected).
func dialWS(t *testing.T, ts *httptest.Server) *rawClient {
	t.Helper()
	c := &rawClient{frames: make(chan string, 1024), closed: make(chan struct{})}
	conn, _, err := gws.NewClient(c, &gws.ClientOption{
		Addr: "ws" + strings.TrimPrefix(ts.URL, "http") + "/socket.io/?EIO=4&transport=websocket",
	})
	if err != nil {
		t.Fatal(err)
	}
	c.conn = conn
	go conn.ReadLoop()
	t.Cleanup(func() { _ = conn.NetConn().Close() })
	if f := c.next(t); !strings.HasPrefix(f, "0{") {
		t.Fatalf("first frame %q", f)
	}
	return c
}

// connectWS opens a session and a Socket.IO connection; it returns the socket id.
func connectWS(t *testing.T, ts *httptest.Server) (*rawClient, string) {
	t.Helper()
	c := dialWS(t, ts)
	_ = c.conn.WriteString("40")
	f := c.next(t)
	var ok struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(f, "40{") || json.Unmarshal([]byte(f[2:]), &ok) != nil || ok.SID == "" {
		t.Fatalf("CONNECT answered %q", f)
	}
	return c, ok.SID
}

func newTestServer(t *testing.T, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv := NewServer(cfg)
	srv.OnConnection(func(s *Socket) {
		s.On("echo", func(s *Socket, e *Event) { _ = e.Ack(rawArgs(e.Args)...) })
		s.On("panic", func(s *Socket, e *Event) { panic("boom") })
		s.On("bin", func(s *Socket, e *Event) {
			_ = e.Ack(len(e.Attachments), string(e.Attachments[0]))
		})
	})
	return srv
}

func TestMalformedPacketsCloseTheSocket(t *testing.T) {
	srv := newTestServer(t, Config{MaxPayload: 1000})
	ts := serve(t, srv)
	tests := []struct {
		name   string
		frames []string // "bin:" prefix sends a binary frame
	}{
		{"unknown type", []string{"49"}},
		{"bad JSON", []string{`42["echo",`}},
		{"payload not an array", []string{`42{"a":1}`}},
		{"event name not a string", []string{`42[1,2]`}},
		{"reserved event name", []string{`42["disconnect"]`}},
		{"empty event", []string{`42[]`}},
		{"ack without id", []string{`43[]`}},
		{"CONNECT_ERROR from client", []string{`44{"message":"x"}`}},
		{"huge attachment count", []string{`45999999-["bin",{"_placeholder":true,"num":0}]`}},
		{"attachment count over the bound", []string{`417-["bin"]`}},
		{"binary without a binary packet", []string{"bin:xyz"}},
		{"text while waiting for attachments", []string{`452-["bin",{"_placeholder":true,"num":0}]`, "bin:a", `42["echo"]`}},
		{"attachments larger than MaxPayload", []string{`452-["bin",{"_placeholder":true,"num":0}]`, "bin:" + strings.Repeat("a", 600), "bin:" + strings.Repeat("b", 600)}},
		{"empty message", []string{"4"}},
		{"engine.io ping from client", []string{"2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, id := connectWS(t, ts)
			for _, f := range tt.frames {
				if b, ok := strings.CutPrefix(f, "bin:"); ok {
					_ = c.conn.WriteMessage(gws.OpcodeBinary, []byte(b))
				} else {
					_ = c.conn.WriteString(f)
				}
			}
			c.wantClosed(t)
			waitFor(t, func() bool { return srv.Socket(id) == nil })
		})
	}
}

// TestInvalidUTF8OverPolling checks the Socket.IO decoder's own UTF-8 check
// (gws refuses invalid text frames before they reach it).
func TestInvalidUTF8OverPolling(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	sid := pollOpen(t, ts)
	post(t, ts, sid, "40")
	if got := poll(t, ts, sid); !strings.HasPrefix(got, "40{") {
		t.Fatalf("CONNECT answered %q", got)
	}
	post(t, ts, sid, "42[\"echo\",\"\xff\"]")
	if got := poll(t, ts, sid); got != `{"code":1,"message":"Session ID unknown"}` {
		t.Fatalf("after invalid UTF-8: %q, want the session closed", got)
	}
}

func pollOpen(t *testing.T, ts *httptest.Server) string {
	t.Helper()
	body := httpDo(t, ts, "GET", "", "")
	var o struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal([]byte(body[1:]), &o); err != nil {
		t.Fatal(err)
	}
	return o.SID
}

func post(t *testing.T, ts *httptest.Server, sid, body string) { httpDo(t, ts, "POST", sid, body) }
func poll(t *testing.T, ts *httptest.Server, sid string) string {
	return httpDo(t, ts, "GET", sid, "")
}

func httpDo(t *testing.T, ts *httptest.Server, method, sid, body string) string {
	t.Helper()
	u := ts.URL + "/socket.io/?EIO=4&transport=polling"
	if sid != "" {
		u += "&sid=" + sid
	}
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHandlerPanicClosesOnlyThatSocket(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	a, aid := connectWS(t, ts)
	b, bid := connectWS(t, ts)
	var reason string
	var mu sync.Mutex
	srv.Socket(aid).OnDisconnect(func(r string) { mu.Lock(); reason = r; mu.Unlock() })
	_ = a.conn.WriteString(`42["panic"]`)
	a.wantClosed(t)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return reason != "" })
	if reason != "server error" {
		t.Fatalf("disconnect reason %q", reason)
	}
	_ = b.conn.WriteString(`421["echo","still here"]`)
	b.want(t, `431["still here"]`)
	if srv.Socket(bid) == nil {
		t.Fatal("the other socket is gone")
	}
}

func TestBinaryEventFromRawClient(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	c, _ := connectWS(t, ts)
	_ = c.conn.WriteString(`451-4["bin",{"_placeholder":true,"num":0}]`)
	_ = c.conn.WriteMessage(gws.OpcodeBinary, []byte("payload"))
	c.want(t, `434[1,"payload"]`)
	// Server-emitted binary: a BINARY_EVENT then the raw attachment.
	_ = srv.Socket(srv.socketIDs()[0]).Emit("file", "name", []byte{1, 2})
	c.want(t, `451-["file","name",{"_placeholder":true,"num":0}]`)
	c.want(t, "bin:\x01\x02")
}

func (s *Server) socketIDs() []string {
	s.main.mu.RLock()
	defer s.main.mu.RUnlock()
	var ids []string
	for id := range s.main.sockets {
		ids = append(ids, id)
	}
	return ids
}

func TestConnectErrors(t *testing.T) {
	srv := newTestServer(t, Config{})
	srv.Use(func(s *Socket, auth json.RawMessage) error {
		if string(auth) == `{"token":"no"}` {
			return errDenied
		}
		return nil
	})
	ts := serve(t, srv)
	c := dialWS(t, ts)
	_ = c.conn.WriteString(`40/admin,`)
	c.want(t, `44/admin,{"message":"Invalid namespace"}`)
	_ = c.conn.WriteString(`40{"token":"no"}`)
	c.want(t, `44{"message":"denied \"here\""}`)
	_ = c.conn.WriteString(`42["echo"]`) // not connected: ignored
	_ = c.conn.WriteString(`40{"token":"yes"}`)
	if f := c.next(t); !strings.HasPrefix(f, `40{"sid":`) {
		t.Fatalf("CONNECT answered %q", f)
	}
}

type deniedError struct{}

func (deniedError) Error() string { return `denied "here"` }

var errDenied error = deniedError{}

func TestRoomsAndLookup(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	a, aid := connectWS(t, ts)
	b, bid := connectWS(t, ts)
	c, cid := connectWS(t, ts)
	for _, id := range []string{aid, bid, cid} {
		srv.Socket(id).Join("room")
	}
	if srv.Socket(aid).Request().URL.Query().Get("EIO") != "4" || srv.Socket(aid).Transport() != "websocket" {
		t.Fatal("request or transport of the socket")
	}
	if err := srv.To("room").Except(aid).Emit("hello", 1); err != nil {
		t.Fatal(err)
	}
	b.want(t, `42["hello",1]`)
	c.want(t, `42["hello",1]`)
	srv.Socket(cid).Leave("room")
	_ = srv.To("room").Emit("again")
	a.want(t, `42["again"]`)
	b.want(t, `42["again"]`)
	_ = srv.To(cid).Emit("own room")
	c.want(t, `42["own room"]`)
	if st := srv.Stats(); st.WebSocket != 3 || st.Polling != 0 {
		t.Fatalf("stats %+v", st)
	}
	_ = a.conn.WriteString("41") // client namespace disconnect
	waitFor(t, func() bool { return srv.Socket(aid) == nil })
	_ = srv.To("room").Emit("last")
	b.want(t, `42["last"]`)
	if st := srv.Stats(); st.WebSocket != 2 {
		t.Fatalf("stats after disconnect %+v", st)
	}
}

func TestServerAckAndDisconnect(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	c, id := connectWS(t, ts)
	sock := srv.Socket(id)
	got := make(chan string, 1)
	if err := sock.EmitWithAck(func(args []json.RawMessage) { got <- string(args[0]) }, "q", 1); err != nil {
		t.Fatal(err)
	}
	c.want(t, `420["q",1]`)
	_ = c.conn.WriteString(`430[{"ok":true}]`)
	if r := <-got; r != `{"ok":true}` {
		t.Fatalf("ack got %s", r)
	}
	reasons := make(chan string, 1)
	sock.OnDisconnect(func(r string) { reasons <- r })
	sock.Disconnect()
	if r := <-reasons; r != "server namespace disconnect" {
		t.Fatalf("reason %q", r)
	}
	c.want(t, "41")
	c.wantClosed(t)
	if err := sock.Emit("x"); err != ErrSocketClosed {
		t.Fatalf("emit after disconnect: %v", err)
	}
}

func TestShutdownClosesTransportWithoutDisconnect(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	c, id := connectWS(t, ts)
	reasons := make(chan string, 1)
	srv.Socket(id).OnDisconnect(func(r string) { reasons <- r })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sock := srv.Socket(id)
	if err := sock.Emit("last-words"); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	// What was queued is flushed; no DISCONNECT, so the official client
	// treats it as a transport close and reconnects by itself.
	c.want(t, `42["last-words"]`)
	c.wantClosed(t)
	for len(c.frames) > 0 {
		if f := <-c.frames; f == "41" {
			t.Fatal("shutdown sent DISCONNECT; clients would not reconnect")
		}
	}
	if r := <-reasons; r != "server shutting down" {
		t.Fatalf("reason %q", r)
	}
}

func TestEventsInOrderOneAtATime(t *testing.T) {
	srv := NewServer(Config{Logger: testLogger(t)})
	var mu sync.Mutex
	var seen []int
	running := 0
	overlap := false
	srv.OnConnection(func(s *Socket) {
		s.OnAny(func(s *Socket, e *Event) {
			mu.Lock()
			running++
			if running > 1 {
				overlap = true
			}
			var i int
			_ = json.Unmarshal(e.Args[0], &i)
			seen = append(seen, i)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
		})
	})
	ts := serve(t, srv)
	c, _ := connectWS(t, ts)
	for i := range 50 {
		_ = c.conn.WriteString(`42["n",` + string(rune('0'+i%10)) + `]`)
	}
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 50 })
	for i, v := range seen {
		if v != i%10 {
			t.Fatalf("event %d carried %d", i, v)
		}
	}
	if overlap {
		t.Fatal("two events of one socket ran at once")
	}
}

// TestServerHandlers: handlers registered once on the server serve every
// socket; a socket's own handler of the same event wins, the server's
// catch-all takes the rest, and the server's OnDisconnect runs for each
// connected socket with its reason.
func TestServerHandlers(t *testing.T) {
	srv := NewServer(Config{Logger: testLogger(t)})
	srv.On("echo", func(s *Socket, e *Event) { _ = e.Ack("server", s.Get()) })
	srv.On("shadowed", func(s *Socket, e *Event) { _ = e.Ack("server") })
	srv.OnAny(func(s *Socket, e *Event) { _ = e.Ack("any", e.Name) })
	gone := make(chan string, 4)
	srv.OnDisconnect(func(s *Socket, reason string) { gone <- s.Get().(string) + ":" + reason })
	srv.OnConnection(func(s *Socket) {
		s.Set(s.ID())
		s.On("shadowed", func(s *Socket, e *Event) { _ = e.Ack("own") })
	})
	ts := serve(t, srv)
	a, idA := connectWS(t, ts)
	b, idB := connectWS(t, ts)
	_ = a.conn.WriteString(`421["echo"]`)
	a.want(t, `431["server","`+idA+`"]`)
	_ = b.conn.WriteString(`422["echo"]`)
	b.want(t, `432["server","`+idB+`"]`)
	_ = a.conn.WriteString(`423["shadowed"]`)
	a.want(t, `433["own"]`)
	_ = a.conn.WriteString(`424["other",1]`)
	a.want(t, `434["any","other"]`)

	_ = a.conn.WriteString("41")
	select {
	case g := <-gone:
		if g != idA+":client namespace disconnect" {
			t.Fatalf("server OnDisconnect got %q", g)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("server OnDisconnect not called")
	}
	// A session that never connected is no socket to the application.
	c := dialWS(t, ts)
	_ = c.conn.NetConn().Close()
	_ = b.conn.NetConn().Close()
	select {
	case g := <-gone:
		if g != idB+":transport close" {
			t.Fatalf("server OnDisconnect got %q", g)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("server OnDisconnect not called")
	}
	select {
	case g := <-gone:
		t.Fatalf("unexpected OnDisconnect %q", g)
	case <-time.After(100 * time.Millisecond):
	}
}
