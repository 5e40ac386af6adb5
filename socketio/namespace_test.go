package socketio

// Namespaces, as the Socket.IO v5 protocol document describes them: a
// client multiplexes the namespaces it connects over one Engine.IO
// session, every packet but the main namespace's names its namespace.

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// newNamespaceServer serves "/" and "/custom" with handlers of their own,
// as the protocol's compliance suite asks ("auth" echoes the CONNECT
// payload back on connection).
func newNamespaceServer(t *testing.T, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv := NewServer(cfg)
	for _, n := range []*Namespace{srv.Of("/"), srv.Of("custom")} {
		name := n.Name()
		n.Use(func(s *Socket, auth json.RawMessage) error {
			if string(auth) == `{"token":"no"}` {
				return errors.New("no entry to " + name)
			}
			if auth == nil {
				auth = json.RawMessage(`{}`)
			}
			s.Set(auth)
			return nil
		})
		n.OnConnection(func(s *Socket) { _ = s.Emit("auth", s.Get()) })
		n.On("where", func(s *Socket, e *Event) { _ = e.Ack(name, s.ID()) })
		n.On("join", func(s *Socket, e *Event) {
			var room string
			_ = json.Unmarshal(e.Args[0], &room)
			s.Join(room)
			_ = e.Ack(true)
		})
		n.On("bin", func(s *Socket, e *Event) { _ = e.Ack(e.Attachments[0]) })
	}
	return srv
}

// connectNsp sends CONNECT for nsp (with its trailing comma or not, as
// sent) and checks the answer and the "auth" event; it returns the socket id.
func connectNsp(t *testing.T, c *rawClient, connect string) string {
	t.Helper()
	_ = c.conn.WriteString(connect)
	nsp, _, _ := strings.Cut(strings.TrimPrefix(connect, "40"), ",")
	head, event := "40", "42"
	if nsp != "" && !strings.HasPrefix(nsp, "{") {
		head += nsp + ","
		event += nsp + ","
	}
	f := c.next(t)
	var ok struct {
		SID string `json:"sid"`
	}
	if !strings.HasPrefix(f, head+"{") || json.Unmarshal([]byte(f[len(head):]), &ok) != nil || ok.SID == "" {
		t.Fatalf("%s answered %q, want %s{\"sid\":...}", connect, f, head)
	}
	if f := c.next(t); !strings.HasPrefix(f, event+`["auth",`) {
		t.Fatalf("after %s: %q, want the auth event", connect, f)
	}
	return ok.SID
}

// TestNamespaceConnect: a CONNECT to a namespace made with Of is answered
// in that namespace, with or without the comma after its name, and its
// OnConnection gets the payload; an unknown one is refused.
func TestNamespaceConnect(t *testing.T) {
	srv := newNamespaceServer(t, Config{})
	ts := serve(t, srv)
	c := dialWS(t, ts)
	_ = c.conn.WriteString(`40/custom,{"token":"abc"}`)
	f := c.next(t)
	if !strings.HasPrefix(f, `40/custom,{"sid":"`) {
		t.Fatalf("CONNECT /custom answered %q", f)
	}
	c.want(t, `42/custom,["auth",{"token":"abc"}]`)

	c2 := dialWS(t, ts)
	_ = c2.conn.WriteString(`40/custom`)
	if f := c2.next(t); !strings.HasPrefix(f, `40/custom,{"sid":"`) {
		t.Fatalf("CONNECT /custom without a comma answered %q", f)
	}
	c2.want(t, `42/custom,["auth",{}]`)
	_ = c2.conn.WriteString(`40/random`)
	c2.want(t, `44/random,{"message":"Invalid namespace"}`)
	_ = c2.conn.WriteString(`40/custom,{"token":"no"}`) // connected already: ignored
	_ = c2.conn.WriteString(`40{"token":"no"}`)
	c2.want(t, `44{"message":"no entry to /"}`)

	// A namespace's middleware refuses in that namespace only.
	c3 := dialWS(t, ts)
	_ = c3.conn.WriteString(`40/custom,{"token":"no"}`)
	c3.want(t, `44/custom,{"message":"no entry to /custom"}`)
	connectNsp(t, c3, "40")
}

// TestNamespacesMultiplexed: one session connects "/" and "/custom", each
// socket with its own id and handlers; events, acks and binary
// attachments carry the namespace both ways.
func TestNamespacesMultiplexed(t *testing.T) {
	srv := newNamespaceServer(t, Config{})
	ts := serve(t, srv)
	c := dialWS(t, ts)
	mainID := connectNsp(t, c, "40")
	customID := connectNsp(t, c, "40/custom,")
	if mainID == customID {
		t.Fatal("one socket id for two namespaces")
	}
	_ = c.conn.WriteString(`4212["where"]`)
	c.want(t, `4312["/","`+mainID+`"]`)
	_ = c.conn.WriteString(`42/custom,12["where"]`)
	c.want(t, `43/custom,12["/custom","`+customID+`"]`)

	_ = c.conn.WriteString(`451-/custom,7["bin",{"_placeholder":true,"num":0}]`)
	_ = c.conn.WriteMessage(2, []byte{1, 2, 3})
	c.want(t, `461-/custom,7[{"_placeholder":true,"num":0}]`)
	c.want(t, "bin:\x01\x02\x03")

	// Server to client: Emit, EmitWithAck, and a Packet encoded without a
	// namespace, sent to the socket of /custom.
	custom := srv.Of("/custom").Socket(customID)
	if custom == nil || srv.Socket(customID) != nil || srv.Socket(mainID) == nil {
		t.Fatal("sockets not found in their own namespace only")
	}
	_ = custom.Emit("hi", 1)
	c.want(t, `42/custom,["hi",1]`)
	_ = custom.Emit("raw", []byte{9})
	c.want(t, `451-/custom,["raw",{"_placeholder":true,"num":0}]`)
	c.want(t, "bin:\x09")
	p, _ := EncodeEvent("shared", "x")
	_ = custom.Send(p)
	c.want(t, `42/custom,["shared","x"]`)
	_ = srv.Socket(mainID).Send(p)
	c.want(t, `42["shared","x"]`)
	got := make(chan string, 1)
	_ = custom.EmitWithAck(func(args []json.RawMessage) { got <- string(args[0]) }, "q")
	c.want(t, `42/custom,0["q"]`)
	_ = c.conn.WriteString(`43/custom,0["yes"]`)
	select {
	case r := <-got:
		if r != `"yes"` {
			t.Fatalf("ack got %s", r)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("ack in /custom not delivered")
	}
	if st := srv.Stats(); st.WebSocket != 2 {
		t.Fatalf("stats %+v, want two sockets", st)
	}
}

// TestNamespaceRooms: rooms belong to a namespace: a broadcast to a room
// of /custom reaches that namespace's sockets in it only, in /custom.
func TestNamespaceRooms(t *testing.T) {
	srv := newNamespaceServer(t, Config{})
	ts := serve(t, srv)
	a, b := dialWS(t, ts), dialWS(t, ts)
	connectNsp(t, a, "40")
	aCustom := connectNsp(t, a, "40/custom,")
	bMain := connectNsp(t, b, "40")
	for _, join := range []struct {
		c   *rawClient
		msg string
	}{{a, `42/custom,1["join","r"]`}, {b, `421["join","r"]`}} {
		_ = join.c.conn.WriteString(join.msg)
		if f := join.c.next(t); !strings.HasSuffix(f, "1[true]") {
			t.Fatalf("join answered %q", f)
		}
	}
	_ = srv.Of("/custom").To("r").Emit("room", 1)
	a.want(t, `42/custom,["room",1]`)
	_ = srv.To("r").Emit("room", 2)
	b.want(t, `42["room",2]`)
	_ = srv.Of("/custom").To(aCustom).Emit("own", 3)
	a.want(t, `42/custom,["own",3]`)
	_ = srv.Of("/custom").To(bMain).Emit("nobody") // bMain is a socket of "/"
	_ = srv.To(aCustom).Emit("nobody")             // and aCustom one of /custom
	_ = a.conn.WriteString(`42/custom,2["where"]`)
	if f := a.next(t); !strings.HasPrefix(f, `43/custom,2[`) {
		t.Fatalf("a got %q, want only its ack", f)
	}
	_ = b.conn.WriteString(`422["where"]`)
	if f := b.next(t); !strings.HasPrefix(f, `432[`) {
		t.Fatalf("b got %q, want only its ack", f)
	}
}

// TestLeaveCustomNamespace: a client that disconnects from /custom keeps
// its session and "/"; the server's Disconnect of one namespace's socket
// does the same, and the session closes with the last.
func TestLeaveCustomNamespace(t *testing.T) {
	srv := newNamespaceServer(t, Config{})
	gone := make(chan string, 4)
	srv.Of("/custom").OnDisconnect(func(s *Socket, reason string) { gone <- "custom " + reason })
	srv.OnDisconnect(func(s *Socket, reason string) { gone <- "main " + reason })
	ts := serve(t, srv)
	c := dialWS(t, ts)
	mainID := connectNsp(t, c, "40")
	customID := connectNsp(t, c, "40/custom,")
	_ = c.conn.WriteString("41/custom,")
	_ = c.conn.WriteString(`421["where"]`)
	c.want(t, `431["/","`+mainID+`"]`)
	if g := <-gone; g != "custom client namespace disconnect" {
		t.Fatalf("OnDisconnect: %q", g)
	}
	if srv.Of("/custom").Socket(customID) != nil {
		t.Fatal("socket of /custom still connected")
	}
	_ = c.conn.WriteString(`42/custom,2["where"]`) // not connected there: ignored

	// Connected again, then disconnected by the server.
	customID = connectNsp(t, c, "40/custom")
	srv.Of("/custom").Socket(customID).Disconnect()
	c.want(t, "41/custom,")
	if g := <-gone; g != "custom server namespace disconnect" {
		t.Fatalf("OnDisconnect: %q", g)
	}
	_ = c.conn.WriteString(`423["where"]`)
	c.want(t, `433["/","`+mainID+`"]`)

	// "/" may leave and come back on the same session, with a new id.
	_ = c.conn.WriteString("41")
	if g := <-gone; g != "main client namespace disconnect" {
		t.Fatalf("OnDisconnect: %q", g)
	}
	again := connectNsp(t, c, "40")
	if again == mainID || srv.Socket(again) == nil {
		t.Fatalf("reconnected to / as %q (was %q)", again, mainID)
	}
	// The last socket disconnected by the server ends the session.
	srv.Socket(again).Disconnect()
	c.want(t, "41")
	c.wantClosed(t)
}

// TestConnectTimeoutPerSession: the connect timeout ends a session that
// connects no namespace (a refused CONNECT does not count), not one that
// connects /custom only, nor one that has left the namespace it connected.
func TestConnectTimeoutPerSession(t *testing.T) {
	srv := newNamespaceServer(t, Config{ConnectTimeout: 200 * time.Millisecond})
	ts := serve(t, srv)
	refused := dialWS(t, ts)
	_ = refused.conn.WriteString("40/random,")
	refused.want(t, `44/random,{"message":"Invalid namespace"}`)
	custom := dialWS(t, ts)
	connectNsp(t, custom, "40/custom,")
	left := dialWS(t, ts)
	connectNsp(t, left, "40")
	_ = left.conn.WriteString("41")
	refused.wantClosed(t)
	time.Sleep(300 * time.Millisecond)
	for _, c := range []*rawClient{custom, left} {
		select {
		case <-c.closed:
			t.Fatal("a session that connected a namespace was closed by the connect timeout")
		default:
		}
	}
	_ = custom.conn.WriteString(`42/custom,1["where"]`)
	if f := custom.next(t); !strings.HasPrefix(f, `43/custom,1["/custom",`) {
		t.Fatalf("got %q", f)
	}
	waitFor(t, func() bool { return srv.Stats().Pending == 0 })
}

// TestOfNames: Of makes a namespace once, adds the leading slash, and
// gives the main namespace for "/" and "".
func TestOfNames(t *testing.T) {
	srv := NewServer(Config{Logger: testLogger(t)})
	if srv.Of("chat") != srv.Of("/chat") || srv.Of("/chat").Name() != "/chat" {
		t.Fatal("Of is not one namespace per name")
	}
	if srv.Of("/") != srv.Of("") || srv.Of("/").Name() != "/" {
		t.Fatal("Of(\"/\") is not the main namespace")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a name with a comma was accepted")
		}
	}()
	srv.Of("/a,b")
}
