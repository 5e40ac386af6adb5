package socketio

import (
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/engineio"
)

// remoteOut collects what a remote session sends.
type remoteOut struct {
	mu     sync.Mutex
	msgs   []string
	closed chan string
}

func (o *remoteOut) out(ps []engineio.Packet) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range ps {
		if p.Binary {
			o.msgs = append(o.msgs, "bin:"+string(p.Data))
		} else {
			o.msgs = append(o.msgs, string(p.Data))
		}
	}
}

func (o *remoteOut) wait(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		o.mu.Lock()
		if len(o.msgs) >= n {
			m := append([]string(nil), o.msgs...)
			o.mu.Unlock()
			return m
		}
		o.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	t.Fatalf("got %q, want %d messages", o.msgs, n)
	return nil
}

// A remote client's packets reach the handlers, acks and emits come back
// through out, and the relaying side's view (Event.Encode) is the packet
// the client sent.
func TestRemoteSocket(t *testing.T) {
	srv := NewServer(Config{})
	var remote bool
	var reasons = make(chan string, 1)
	srv.OnConnection(func(s *Socket) { remote = s.Remote() })
	srv.On("hello", func(s *Socket, e *Event) {
		_ = e.Ack(map[string]string{"to": string(e.Args[0])})
		_ = s.Emit("news", 1)
	})
	srv.OnDisconnect(func(s *Socket, reason string) { reasons <- reason })
	o := &remoteOut{closed: make(chan string, 1)}
	r := httptest.NewRequest("GET", "/socket.io/", nil)
	sess, err := srv.OpenRemote(r, "edge-socket-id", engineio.WebSocket, o.out, func(reason string) { o.closed <- reason })
	if err != nil {
		t.Fatal(err)
	}
	sess.Deliver([]byte(`0{"token":"x"}`), false)
	got := o.wait(t, 1)
	var sid struct{ Sid string }
	if len(got[0]) < 2 || got[0][0] != '0' || json.Unmarshal([]byte(got[0][1:]), &sid) != nil || sid.Sid != "edge-socket-id" {
		t.Fatalf("connect answer %q, want the relaying server's socket id", got[0])
	}
	if !remote {
		t.Fatal("socket not Remote")
	}
	if _, err := srv.OpenRemote(r, "edge-socket-id", engineio.WebSocket, o.out, nil); err == nil {
		t.Fatal("a second remote session with the same id")
	}
	if st := srv.Stats(); st.Remote != 1 || st.WebSocket != 0 {
		t.Fatalf("stats %+v", st)
	}
	// The relaying server re-encodes its client's event with Encode.
	ev := &Event{Name: "hello", Args: []json.RawMessage{json.RawMessage(`"you"`)}, ackID: 7, sock: &Socket{nsp: &srv.main}}
	for _, p := range ev.Encode() {
		sess.Deliver(p.Data, p.Binary)
	}
	got = o.wait(t, 3)
	if got[1] != `37[{"to":"\"you\""}]` || got[2] != `2["news",1]` {
		t.Fatalf("answers %q", got[1:])
	}
	sess.Abort("transport close")
	select {
	case r := <-reasons:
		if r != "transport close" {
			t.Fatalf("disconnect reason %q", r)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no disconnect")
	}
	select {
	case r := <-o.closed:
		if r != "transport close" {
			t.Fatalf("closed reason %q", r)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("closed not called")
	}
}

func TestEventEncodeBinary(t *testing.T) {
	ev := &Event{Name: "f", Args: []json.RawMessage{json.RawMessage(`{"_placeholder":true,"num":0}`)},
		Attachments: [][]byte{{1, 2}}, ackID: -1}
	ps := ev.Encode()
	if len(ps) != 2 || string(ps[0].Data) != `51-["f",{"_placeholder":true,"num":0}]` || !ps[1].Binary {
		t.Fatalf("%+v", ps)
	}
}

// PacketOf takes a server's plain events of the main namespace, nothing
// else.
func TestPacketOf(t *testing.T) {
	for _, tc := range []struct {
		data   string
		binary bool
		ok     bool
	}{
		{`2["chat-message",{"text":"hi"}]`, false, true},
		{`2["x"]`, false, true},
		{`3[{"ok":true}]`, false, false}, // an ack: the connection it answered is gone
		{`21["x"]`, false, false},        // an event asking for an ack
		{`2/admin,["x"]`, false, false},  // another namespace
		{`51-["x",{"_placeholder":true,"num":0}]`, false, false},
		{`0{"sid":"x"}`, false, false},
		{`2["x"]`, true, false},
		{`2[`, false, false},
	} {
		p, ok := PacketOf(engineio.Packet{Type: engineio.Message, Data: []byte(tc.data), Binary: tc.binary})
		if ok != tc.ok || ok && string(p.data) != tc.data {
			t.Errorf("PacketOf(%q, binary %v) = %v %v, want %v", tc.data, tc.binary, p, ok, tc.ok)
		}
	}
}
