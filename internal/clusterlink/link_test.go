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

	"github.com/huddlehq/huddle/engineio"
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
	p := &proxy{l: l, conn: "c1", room: "busy", home: "home", pending: &pendingOpen{open: open, sent: [][]byte{[]byte("in-1"), []byte("in-2")}}}
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

// A node that takes a room over closes at once the sockets it relayed to
// the room's former home (their clients resume here), without waiting for
// the watch for dead nodes; sockets of other rooms stay.
func TestTakeOverClosesStaleProxies(t *testing.T) {
	url := startRedis(t)
	ctx := context.Background()
	cfg := cluster.Config{RedisURL: url, NodeID: "dead", LeaseTTL: 500 * time.Millisecond, StreamBlock: 200 * time.Millisecond}
	dead, err := cluster.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Claim(ctx, "r"); err != nil {
		t.Fatal(err)
	}
	cfg.NodeID = "edge"
	edge, err := cluster.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { edge.Close() })

	io := socketio.NewServer(socketio.Config{})
	socks := make(chan *socketio.Socket, 2)
	io.OnConnection(func(s *socketio.Socket) { socks <- s })
	l := New(Config{Cluster: edge, Engine: io, NodeCheck: time.Hour}) // watchNodes never runs here
	var sessions []*engineio.Session
	for _, room := range []string{"r", "other"} {
		sess, err := io.OpenRemote(relayedRequest(openMsg{Addr: "127.0.0.1:1"}), "c-"+room, engineio.WebSocket, func([]engineio.Packet) {}, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		sess.Deliver([]byte("0"), false)
		sessions = append(sessions, sess)
		l.proxies["c-"+room] = &proxy{l: l, sock: <-socks, conn: "c-" + room, room: room, home: "dead", opened: true}
	}

	dead.Close() // as kill -9 for the room: its lease is not renewed (nor released)
	home, err := l.home("r", true)
	if err != nil || home != "edge" {
		t.Fatalf("home %q, %v; want the room taken over here", home, err)
	}
	if !sessions[0].Closed() {
		t.Fatal("the socket relayed to the room's former home is still open")
	}
	if sessions[1].Closed() || len(l.proxies) != 1 || l.proxies["c-other"] == nil {
		t.Fatalf("another room's relayed socket was closed too (proxies %v)", l.proxies)
	}
}

// A node that stops beating but is still listed (killed a moment ago: its
// registry entry lapses only after NodeTTL) loses the sockets relayed to
// it once it has been silent for two heartbeats, without waiting for the
// entry to lapse; a node that beats keeps its sockets, however old the
// beats look by this node's clock.
func TestSilentHomeEndsRelayedSockets(t *testing.T) {
	url := startRedis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := func(id string, beat, ttl time.Duration) *cluster.Cluster {
		c, err := cluster.New(ctx, cluster.Config{RedisURL: url, NodeID: id, HeartbeatInterval: beat, NodeTTL: ttl, StreamBlock: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	start("dead", time.Hour, time.Hour) // beats once, listed for an hour
	start("alive", 100*time.Millisecond, time.Second)
	edge := start("edge", 100*time.Millisecond, time.Second)

	io := socketio.NewServer(socketio.Config{})
	socks := make(chan *socketio.Socket, 2)
	io.OnConnection(func(s *socketio.Socket) { socks <- s })
	l := New(Config{Cluster: edge, Engine: io, NodeCheck: 100 * time.Millisecond})
	sessions := map[string]*engineio.Session{}
	for _, home := range []string{"dead", "alive"} {
		sess, err := io.OpenRemote(relayedRequest(openMsg{Addr: "127.0.0.1:1"}), "c-"+home, engineio.WebSocket, func([]engineio.Packet) {}, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		sess.Deliver([]byte("0"), false)
		sessions[home] = sess
		l.mu.Lock()
		l.proxies["c-"+home] = &proxy{l: l, sock: <-socks, conn: "c-" + home, room: "r-" + home, home: home, opened: true}
		l.mu.Unlock()
	}
	go l.Run(ctx)
	deadline := time.Now().Add(3 * time.Second)
	for !sessions["dead"].Closed() {
		if time.Now().After(deadline) {
			t.Fatal("the socket relayed to a silent node is still open")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	if sessions["alive"].Closed() {
		t.Fatal("the socket relayed to a node that beats was closed")
	}

	// By this node's clock only: a beat that changes is a live node's,
	// one that stops changing is silent after two heartbeats (a link of
	// its own: the running one's checks would interleave).
	w := New(Config{Cluster: edge, Engine: io})
	now := time.Now()
	old := now.Add(-time.Hour) // a node whose clock is an hour behind
	// Checks 110 ms apart; the edge beats every 100 ms.
	beats := []time.Duration{0, time.Second, time.Second, time.Second}
	for i, want := range []bool{false, false, false, true} {
		n := []cluster.Node{{ID: "x", Beat: old.Add(beats[i])}}
		if got := w.silent(n, now.Add(time.Duration(i)*110*time.Millisecond))["x"]; got != want {
			t.Fatalf("check %d: silent %v, want %v", i, got, want)
		}
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

// A home that shuts down holds its rooms until its sessions have closed,
// which may outlast a join's wait for the lease (claimWhenLapsed): that
// join is relayed to the old home. Joins queued behind it meanwhile must
// not take the time they spent queued for Redis being away (and serve the
// meeting here alone, split from the one the others are in): they wait
// for the room in turn and take it over once it is given up.
func TestJoinsQueuedBehindALeavingHomeAreNotServedAlone(t *testing.T) {
	url := startRedis(t)
	ctx := context.Background()
	cfg := cluster.Config{RedisURL: url, NodeID: "old", LeaseTTL: time.Second, StreamBlock: 200 * time.Millisecond,
		Load: func() cluster.Load { return cluster.Load{Leaving: true} }}
	old, err := cluster.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { old.Close() })
	lease, err := old.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	cfg.NodeID, cfg.Load = "edge", nil
	edge, err := cluster.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { edge.Close() })
	l := New(Config{Cluster: edge, Engine: socketio.NewServer(socketio.Config{}), OpTimeout: 200 * time.Millisecond, NodeCheck: time.Hour})

	// The first join waits a lease's life and a second for it, then goes
	// to the old home; the room is given up half a second after that.
	time.AfterFunc(l.c.LeaseTTL()+1500*time.Millisecond, func() { _ = lease.Release(context.Background()) })
	type found struct {
		home string
		err  error
	}
	joins := make(chan found, 3)
	for range cap(joins) {
		go func() {
			home, err := l.home("r", true)
			joins <- found{home, err}
		}()
	}
	var homes []string
	for range cap(joins) {
		j := <-joins
		if j.err != nil {
			t.Fatalf("a queued join failed (%v): the meeting would be served here alone", j.err)
		}
		homes = append(homes, j.home)
	}
	if homes[len(homes)-1] != "edge" {
		t.Fatalf("joins went to %v; want the last ones here, once the room was given up", homes)
	}
}
