package socketio

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPendingSessionsInStats: sessions that have not sent CONNECT are not
// sockets, but Stats shows them as Pending until they connect or end.
func TestPendingSessionsInStats(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	a := dialWS(t, ts)
	b := dialWS(t, ts)
	sid := pollOpen(t, ts)
	waitFor(t, func() bool { return srv.Stats().Pending == 3 })
	if st := srv.Stats(); st.WebSocket != 0 || st.Polling != 0 {
		t.Fatalf("stats %+v: sessions without CONNECT counted as sockets", st)
	}
	_ = a.conn.WriteString("40")
	if f := a.next(t); !strings.HasPrefix(f, "40{") {
		t.Fatalf("CONNECT answered %q", f)
	}
	post(t, ts, sid, "40")
	waitFor(t, func() bool { st := srv.Stats(); return st.Pending == 1 && st.WebSocket == 1 && st.Polling == 1 })
	_ = b.conn.NetConn().Close()
	waitFor(t, func() bool { return srv.Stats().Pending == 0 })
	_ = a.conn.NetConn().Close()
	waitFor(t, func() bool { st := srv.Stats(); return st.WebSocket == 0 && st.Pending == 0 })
}

// TestConnectTimeout: a session that sends no CONNECT is closed after
// ConnectTimeout; one that connects in time stays.
func TestConnectTimeout(t *testing.T) {
	if got := (Config{}).withDefaults().ConnectTimeout; got != DefaultConnectTimeout || got > 10*time.Second {
		t.Fatalf("default connect timeout %v", got)
	}
	srv := newTestServer(t, Config{ConnectTimeout: 200 * time.Millisecond})
	ts := serve(t, srv)
	start := time.Now()
	idle := dialWS(t, ts)
	good, id := connectWS(t, ts)
	idle.wantClosed(t)
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("closed after %v, before the timeout", d)
	}
	time.Sleep(300 * time.Millisecond)
	if srv.Socket(id) == nil {
		t.Fatal("a connected socket was closed by the connect timeout")
	}
	_ = good.conn.WriteString(`421["echo","still here"]`)
	good.want(t, `431["still here"]`)
	waitFor(t, func() bool { return srv.Stats().Pending == 0 })
}

// TestAckIDs: ack ids of any size a JavaScript number holds exactly round
// trip, both ways, through the real parser and server; a longer or larger
// id closes the connection as a parse error.
func TestAckIDs(t *testing.T) {
	srv := newTestServer(t, Config{})
	ts := serve(t, srv)
	c, id := connectWS(t, ts)
	ids := []int64{0, 9, 10, 99, 100, 999, 1000, 1001, 9999, 12345, 65536, 1<<31 - 1, 1 << 32, maxAckID}
	// Client to server: the server's ack carries the client's id.
	for _, n := range ids {
		ack := strconv.FormatInt(n, 10)
		_ = c.conn.WriteString(`42` + ack + `["echo","a` + ack + `"]`)
		c.want(t, `43`+ack+`["a`+ack+`"]`)
	}
	// Server to client: the client's ack reaches the callback of that id.
	sock := srv.Socket(id)
	for _, n := range ids {
		sock.mu.Lock()
		sock.nextAck = n
		sock.mu.Unlock()
		got := make(chan string, 1)
		if err := sock.EmitWithAck(func(args []json.RawMessage) { got <- string(args[0]) }, "q"); err != nil {
			t.Fatal(err)
		}
		ack := strconv.FormatInt(n, 10)
		c.want(t, `42`+ack+`["q"]`)
		_ = c.conn.WriteString(`43` + ack + `["r` + ack + `"]`)
		select {
		case r := <-got:
			if r != `"r`+ack+`"` {
				t.Fatalf("ack %d got %s", n, r)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("ack %d never reached its callback", n)
		}
	}

	for _, bad := range []string{
		"9007199254740992",  // maxAckID+1: not exact in JavaScript
		"12345678901234567", // 17 digits
		strings.Repeat("9", 400),
	} {
		for _, typ := range []string{"2", "3"} {
			t.Run(typ+"/"+bad[:min(len(bad), 20)], func(t *testing.T) {
				c, id := connectWS(t, ts)
				reason := make(chan string, 1)
				srv.Socket(id).OnDisconnect(func(r string) { reason <- r })
				_ = c.conn.WriteString("4" + typ + bad + `["echo","x"]`)
				c.wantClosed(t)
				select {
				case r := <-reason:
					if r != "parse error" {
						t.Fatalf("closed with %q, want parse error", r)
					}
				case <-time.After(3 * time.Second):
					t.Fatal("socket not closed")
				}
			})
		}
	}
}
