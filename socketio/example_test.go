package socketio_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
	"github.com/huddlehq/huddle/socketio"
)

// A chat server: every message a client sends reaches everyone in the
// "lobby" room, the sender included. In a browser the official client
// talks to it unchanged: io(url).emit("chat", "hello").
func Example_chat() {
	srv := socketio.NewServer(socketio.Config{})
	srv.OnConnection(func(s *socketio.Socket) { s.Join("lobby") })
	srv.On("chat", func(s *socketio.Socket, e *socketio.Event) {
		var text string
		if len(e.Args) == 1 && json.Unmarshal(e.Args[0], &text) == nil {
			_ = srv.To("lobby").Emit("chat", text)
		}
	})
	web := httptest.NewServer(srv) // serves /socket.io/
	defer web.Close()

	got := make(chan string, 2)
	alice, bob := dial(web.URL, got), dial(web.URL, got)
	defer alice.Close()
	defer bob.Close()
	_ = alice.Emit("chat", "hello, everyone")
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// chat: "hello, everyone"
	// chat: "hello, everyone"
}

// Rooms are sets of sockets the application fills: here a client asks to
// join a room, and a broadcast reaches only that room's members, less
// the sender.
func ExampleSocket_Join() {
	srv := socketio.NewServer(socketio.Config{})
	srv.On("join", func(s *socketio.Socket, e *socketio.Event) {
		var room string
		_ = json.Unmarshal(e.Args[0], &room)
		s.Join(room)
		_ = e.Ack("joined " + room)
	})
	srv.On("shout", func(s *socketio.Socket, e *socketio.Event) {
		var room string
		_ = json.Unmarshal(e.Args[0], &room)
		_ = srv.To(room).Except(s.ID()).Emit("shout", "from "+room)
	})
	web := httptest.NewServer(srv)
	defer web.Close()

	got := make(chan string, 4)
	a, b, c := dial(web.URL, got), dial(web.URL, got), dial(web.URL, got)
	defer a.Close()
	defer b.Close()
	defer c.Close()
	for _, cl := range []*sioclient.Client{a, b} {
		ack, _ := cl.EmitWithAck(context.Background(), "join", "kitchen")
		fmt.Println(string(ack[0]))
	}
	_ = a.Emit("shout", "kitchen")
	fmt.Println(<-got) // b only: a sent it, c is not in the room
	// Output:
	// "joined kitchen"
	// "joined kitchen"
	// shout: "from kitchen"
}

// An acknowledgement answers one event: the client's callback (or Go's
// EmitWithAck) gets the server's reply, and only that client.
func ExampleEvent_Ack() {
	srv := socketio.NewServer(socketio.Config{})
	srv.On("add", func(s *socketio.Socket, e *socketio.Event) {
		var a, b int
		if len(e.Args) != 2 || json.Unmarshal(e.Args[0], &a) != nil || json.Unmarshal(e.Args[1], &b) != nil {
			_ = e.Ack(map[string]string{"error": "add takes two numbers"})
			return
		}
		_ = e.Ack(a + b)
	})
	web := httptest.NewServer(srv)
	defer web.Close()

	cl := dial(web.URL, nil)
	defer cl.Close()
	sum, _ := cl.EmitWithAck(context.Background(), "add", 2, 40)
	refusal, _ := cl.EmitWithAck(context.Background(), "add", "two")
	fmt.Println(string(sum[0]))
	fmt.Println(string(refusal[0]))
	// Output:
	// 42
	// {"error":"add takes two numbers"}
}

// Namespaces multiplex separate applications over one connection, as
// io.of("/admin") in Node: each has its own handlers, middleware and
// rooms. In a browser: io(url + "/admin", {auth: {token}}). This example
// speaks the wire protocol over long-polling to show what travels (each
// packet is "4", an Engine.IO message, then the Socket.IO packet: 0
// CONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR): the CONNECT to /admin is
// refused without the token, and an event in /admin carries the
// namespace.
func ExampleServer_Of() {
	srv := socketio.NewServer(socketio.Config{})
	admin := srv.Of("/admin")
	admin.Use(func(s *socketio.Socket, auth json.RawMessage) error {
		var a struct{ Token string }
		if json.Unmarshal(auth, &a) != nil || a.Token != "s3cret" {
			return fmt.Errorf("not allowed")
		}
		return nil
	})
	admin.On("stats", func(s *socketio.Socket, e *socketio.Event) {
		_ = e.Ack(map[string]int{"sockets": srv.Stats().WebSocket + srv.Stats().Polling})
	})
	web := httptest.NewServer(srv)
	defer web.Close()

	p := newPoller(web.URL)
	p.post(`40/admin,{"token":"guess"}`)
	fmt.Println(p.recv()) // refused: 44 is CONNECT_ERROR
	p.post(`40/admin,{"token":"s3cret"}`)
	fmt.Println(strings.Split(p.recv(), "{")[0]) // 40: connected (the rest is the socket id)
	p.post(`42/admin,7["stats"]`)
	fmt.Println(p.recv()) // 43: the ack of event 7, in /admin
	// Output:
	// 44/admin,{"message":"not allowed"}
	// 40/admin,
	// 43/admin,7[{"sockets":1}]
}

// dial connects a Go client that reports the events it gets on got.
func dial(url string, got chan<- string) *sioclient.Client {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, sioclient.Options{
		OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
			if got != nil {
				got <- event + ": " + string(args[0])
			}
		},
	})
	if err != nil {
		panic(err)
	}
	return c
}

// poller is a bare Engine.IO long-polling session, to show the packets.
type poller struct{ url string }

func newPoller(base string) *poller {
	p := &poller{url: base + "/socket.io/?EIO=4&transport=polling"}
	var open struct{ SID string }
	_ = json.Unmarshal([]byte(strings.TrimPrefix(p.get(), "0")), &open)
	p.url += "&sid=" + open.SID
	return p
}

func (p *poller) get() string {
	res, err := http.Get(p.url)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// recv waits for the next packet: "4" (an Engine.IO message) and the
// Socket.IO packet in it.
func (p *poller) recv() string { return p.get() }

// post sends one packet, written as recv reads them.
func (p *poller) post(packet string) {
	res, err := http.Post(p.url, "text/plain", strings.NewReader(packet))
	if err != nil {
		panic(err)
	}
	res.Body.Close()
}
