package clusterlink

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/socketio"
)

// startRedis runs a redis-server for the test, or skips it without one.
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (scripts/setup-test.sh installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--dir", t.TempDir(), "--save", "", "--appendonly", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "redis://" + addr + "/0"
}

func node(t *testing.T, url, id string) *cluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := cluster.New(ctx, cluster.Config{RedisURL: url, NodeID: id, StreamBlock: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func next(t *testing.T, ch <-chan cluster.Event) cluster.Event {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no relayed event")
		return cluster.Event{}
	}
}

// An open for a room another node owns is answered moved, naming the
// owner; the edge then opens at the owner, sending again what it had sent.
func TestMoved(t *testing.T) {
	url := startRedis(t)
	owner, edge := node(t, url, "owner"), node(t, url, "edge")
	if _, err := owner.Claim(context.Background(), "busy"); err != nil {
		t.Fatal(err)
	}
	home := New(Config{Cluster: node(t, url, "home"), Engine: socketio.NewServer(socketio.Config{})})
	open, _ := json.Marshal(openMsg{Conn: "c1", Transport: "websocket"})
	home.handle(cluster.Event{From: "edge", Room: "busy", Type: typeOpen, Data: open})
	ev := next(t, edge.Subscribe(context.Background()))
	var m connMsg
	if ev.Type != typeMoved || json.Unmarshal(ev.Data, &m) != nil || m.Conn != "c1" || m.Node != "owner" {
		t.Fatalf("answer %s %s, want moved to owner", ev.Type, ev.Data)
	}
	if st := home.Stats(); st.Moved != 1 || st.Homed != 0 {
		t.Fatalf("home stats %+v", st)
	}

	// The edge's side: its proxy follows moved with the open and the
	// packets not yet confirmed, in order.
	l := New(Config{Cluster: edge, Engine: socketio.NewServer(socketio.Config{})})
	p := &proxy{l: l, conn: "c1", room: "busy", open: open, home: "home", sent: [][]byte{[]byte("in-1"), []byte("in-2")}}
	l.proxies["c1"] = p
	moved, _ := json.Marshal(connMsg{Conn: "c1", Node: "owner"})
	l.handle(cluster.Event{From: "home", Room: "busy", Type: typeMoved, Data: moved})
	got := owner.Subscribe(context.Background())
	for _, want := range []string{typeOpen, typeIn, typeIn} {
		if ev := next(t, got); ev.Type != want || ev.From != "edge" {
			t.Fatalf("owner got %s from %s, want %s from edge", ev.Type, ev.From, want)
		}
	}
	if p.home != "owner" || p.hops != 1 {
		t.Fatalf("proxy home %q hops %d", p.home, p.hops)
	}
	// A former home's late answer is ignored.
	l.handle(cluster.Event{From: "home", Room: "busy", Type: typeOpened, Data: moved})
	if p.opened {
		t.Fatal("an answer from the former home counted")
	}
}

// A node shutting down (Drain) takes no room: an open for a room nobody
// owns (its rooms given up, say) is answered closed, and the room stays
// free for a live node, instead of being claimed for a node about to stop.
func TestDrainingNodeClaimsNoRoom(t *testing.T) {
	url := startRedis(t)
	edge := node(t, url, "edge")
	home := New(Config{Cluster: node(t, url, "home"), Engine: socketio.NewServer(socketio.Config{})})
	home.Drain()
	open, _ := json.Marshal(openMsg{Conn: "c1", Transport: "websocket"})
	home.handle(cluster.Event{From: "edge", Room: "free", Type: typeOpen, Data: open})
	ev := next(t, edge.Subscribe(context.Background()))
	var m connMsg
	if ev.Type != typeClosed || json.Unmarshal(ev.Data, &m) != nil || m.Conn != "c1" {
		t.Fatalf("answer %s %s, want closed", ev.Type, ev.Data)
	}
	if owner, _, err := edge.Owner(context.Background(), "free"); err != nil || owner != "" {
		t.Fatalf("room owned by %q (%v), want free", owner, err)
	}
	if st := home.Stats(); st.Rooms != 0 || st.Homed != 0 {
		t.Fatalf("draining node's stats %+v", st)
	}
}
