package clusterlink

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/huddlehq/huddle/engineio"
	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/socketio"
)

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// What the home keeps for a relayed socket beyond the virtual socket
// itself (which any relayed socket needs) is the link's bookkeeping: its
// callbacks, its entries in homed and edgeOf, and the edge's ack ring. A
// node homes thousands of these (TestClusterMemoryPerSocket in
// internal/server), so it is kept small: about 410 bytes here, 540 when
// the session's callbacks were two closures and a boxed pointer, and 580
// to 610 when the relay's queue also kept the sent answers' data alive
// until its array grew again.
func TestRelayedSocketBookkeeping(t *testing.T) {
	url := startRedis(t)
	_ = node(t, url, "edge")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const n = 2000
	open := func(i int) []byte {
		b, _ := json.Marshal(openMsg{Conn: fmt.Sprintf("conn-%06d", i), Transport: "websocket", Addr: "10.0.0.1:1234",
			Header: map[string][]string{"User-Agent": {"test"}}})
		return b
	}
	// The virtual sockets alone, opened as the link opens them.
	plain := socketio.NewServer(socketio.Config{Logger: quiet, ConnectTimeout: time.Hour})
	before := liveHeap()
	for i := range n {
		var o openMsg
		_ = json.Unmarshal(open(i), &o)
		sess, err := plain.OpenRemote(relayedRequest(o), o.Conn, engineio.WebSocket, func([]engineio.Packet) {}, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		sess.Deliver([]byte{'0'}, false)
	}
	virtual := float64(liveHeap()-before) / n
	runtime.KeepAlive(plain)

	home := New(Config{Cluster: node(t, url, "home"), Engine: socketio.NewServer(socketio.Config{Logger: quiet, ConnectTimeout: time.Hour}), Logger: quiet})
	home.handle(cluster.Event{From: "edge", Room: "mem", Type: typeOpen, Data: open(n)}) // the room's claim and mirror
	before = liveHeap()
	for i := range n {
		home.handle(cluster.Event{From: "edge", Room: "mem", Type: typeOpen, Data: open(i)})
	}
	if err := home.c.Flush(t.Context(), "edge"); err != nil { // the opened answers sent
		t.Fatal(err)
	}
	linked := float64(liveHeap()-before) / n
	if st := home.Stats(); st.Homed != n+1 {
		t.Fatalf("%d sockets homed, want %d", st.Homed, n+1)
	}
	runtime.KeepAlive(home)
	t.Logf("per relayed socket: virtual socket %.0f bytes, link's bookkeeping %.0f bytes", virtual, linked-virtual)
	if extra := linked - virtual; extra > 480 {
		t.Errorf("the link keeps %.0f bytes per relayed socket beyond its virtual socket, want at most 480", extra)
	}
}

// A room homed here keeps no goroutine of its own while nothing changes:
// its mirror starts a writer on a change, which ends when it is written
// (one goroutine per room waiting for changes was about 4 KiB of stack per
// meeting, TestClusterMemoryPerSocket in internal/server).
func TestHomedRoomKeepsNoGoroutine(t *testing.T) {
	url := startRedis(t)
	_ = node(t, url, "edge")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	home := New(Config{Cluster: node(t, url, "home"), Engine: socketio.NewServer(socketio.Config{Logger: quiet, ConnectTimeout: time.Hour}), Logger: quiet})
	open := func(room string, i int) {
		b, _ := json.Marshal(openMsg{Conn: fmt.Sprintf("conn-%s-%d", room, i), Transport: "websocket", Addr: "10.0.0.1:1234"})
		home.handle(cluster.Event{From: "edge", Room: room, Type: typeOpen, Data: b})
	}
	open("warm-up", 0)
	settle := func() int {
		time.Sleep(300 * time.Millisecond) // the writers done
		return runtime.NumGoroutine()
	}
	before := settle()
	const rooms = 50
	for i := range rooms {
		open(fmt.Sprint("room-", i), 0)
	}
	if st := home.Stats(); st.Rooms != rooms+1 {
		t.Fatalf("%d rooms homed, want %d", st.Rooms, rooms+1)
	}
	per := float64(settle()-before) / rooms
	t.Logf("goroutines per homed room: %.2f", per)
	if per > 0.1 {
		t.Errorf("%.2f goroutines kept per room homed here, want none", per)
	}
}
