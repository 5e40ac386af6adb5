package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// Cluster tests: real redis-server, several real servers in this process
// (each with its own listener, engine, signaling and cluster link), and
// the Go Socket.IO client connecting to chosen nodes.

// startRedis runs a redis-server on a free loopback port until the test
// ends, or skips the test without one (scripts/setup-test.sh installs it).
func startRedis(t *testing.T) string {
	return startRedisProc(t).url
}

// redisProc is a redis-server a test may kill and start again (empty: it
// persists nothing, unless persist).
type redisProc struct {
	t    *testing.T
	port int
	url  string
	dir  string
	cmd  *exec.Cmd
	// persist writes every change to an append-only file (fsync always),
	// so that the server comes back from kill -9 with its data.
	persist bool
}

func startRedisProc(t *testing.T) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (scripts/setup-test.sh installs it)")
	}
	port := freePort(t)
	r := &redisProc{t: t, port: port, url: fmt.Sprintf("redis://127.0.0.1:%d/0", port), dir: t.TempDir()}
	r.start()
	t.Cleanup(r.kill)
	return r
}

func (r *redisProc) start() {
	r.t.Helper()
	aof := []string{"--appendonly", "no"}
	if r.persist {
		aof = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	cmd := exec.Command("redis-server", append([]string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--loglevel", "warning"}, aof...)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.cmd = cmd
	waitTCP(r.t, fmt.Sprintf("127.0.0.1:%d", r.port))
}

// kill is kill -9.
func (r *redisProc) kill() {
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func waitTCP(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startCluster starts n nodes on one Redis and waits until each sees all
// of them live and ready.
func startClusterNodes(t *testing.T, redisURL string, n int, args ...string) []*realServer {
	t.Helper()
	var nodes []*realServer
	for i := range n {
		nodes = append(nodes, startReal(t, testConfig(t, append([]string{"--redis-url", redisURL,
			"--node-id", fmt.Sprintf("n%d", i+1), "--resume-key", "cluster-test-resume-key-0123456789"}, args...)...)))
	}
	for _, r := range nodes {
		eventually(t, "every node live and ready", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			live, err := r.cluster.Nodes(ctx)
			ready := 0
			for _, nd := range live {
				if !nd.Load.Draining {
					ready++
				}
			}
			return err == nil && ready == n
		})
	}
	return nodes
}

// member is one test participant: a client and what it received.
type member struct {
	t    *testing.T
	c    *sioclient.Client
	opts sioclient.Options
	mu   sync.Mutex
	got  map[string][]json.RawMessage
	wake chan struct{}
}

func connectMember(t *testing.T, url string, tr sioclient.Transport, opts ...func(*sioclient.Options)) *member {
	t.Helper()
	m := &member{t: t, got: map[string][]json.RawMessage{}, wake: make(chan struct{}, 1)}
	o := sioclient.Options{Transport: tr, OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
		m.mu.Lock()
		if len(args) > 0 {
			m.got[event] = append(m.got[event], args[0])
		} else {
			m.got[event] = append(m.got[event], nil)
		}
		m.mu.Unlock()
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}}
	for _, f := range opts {
		f(&o)
	}
	c, err := dial(t, url, o)
	if err != nil {
		t.Fatal(err)
	}
	m.c, m.opts = c, o
	return m
}

// ask emits with an ack and decodes the ack's first argument into v.
func (m *member) ask(v any, event string, arg any) {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := m.c.EmitWithAck(ctx, event, arg)
	if err != nil {
		m.t.Fatalf("%s: %v", event, err)
	}
	if len(res) == 0 {
		m.t.Fatalf("%s: empty ack", event)
	}
	if strings.Contains(string(res[0]), `"ok":false`) {
		m.t.Fatalf("%s refused: %s", event, res[0])
	}
	if v != nil {
		if err := json.Unmarshal(res[0], v); err != nil {
			m.t.Fatalf("%s ack %s: %v", event, res[0], err)
		}
	}
}

// await waits for an event whose first argument contains every one of
// parts, and returns it.
func (m *member) await(event string, parts ...string) json.RawMessage {
	m.t.Helper()
	return m.awaitFor(10*time.Second, event, parts...)
}

func (m *member) awaitFor(d time.Duration, event string, parts ...string) json.RawMessage {
	m.t.Helper()
	deadline := time.After(d)
	for {
		m.mu.Lock()
		for _, a := range m.got[event] {
			ok := true
			for _, p := range parts {
				ok = ok && strings.Contains(string(a), p)
			}
			if ok {
				m.mu.Unlock()
				return a
			}
		}
		seen := fmt.Sprint(len(m.got[event]))
		m.mu.Unlock()
		select {
		case <-m.wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			m.t.Fatalf("no %s with %q (got %s of that event)", event, parts, seen)
		}
	}
}

func (m *member) count(event string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.got[event])
}

// homeOf is the index of the node owning room.
func homeOf(t *testing.T, nodes []*realServer, room string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	owner, _, err := nodes[0].cluster.Owner(ctx, room)
	if err != nil || owner == "" {
		t.Fatalf("room %q has no home: %q %v", room, owner, err)
	}
	for i, n := range nodes {
		if n.cluster.NodeID() == owner {
			return i
		}
	}
	t.Fatalf("room %q owned by unknown node %q", room, owner)
	return -1
}

type joined struct {
	ID    string `json:"id"`
	Peers []struct {
		ID string `json:"id"`
	} `json:"peers"`
	ResumeToken string `json:"resumeToken"`
}

// meetAcross has a and b, connected to different nodes, join room in
// dialect A and checks that they see each other join, chat, and exchange
// offer, answer and ICE candidates, each exactly once; then b leaves.
func meetAcross(t *testing.T, room string, a, b *member) {
	t.Helper()
	var aj, bj joined
	a.ask(&aj, "join-room", map[string]string{"room": room, "name": "Ada"})
	b.ask(&bj, "join-room", map[string]string{"room": room, "name": "Bob"})
	if len(bj.Peers) != 1 || bj.Peers[0].ID != aj.ID {
		t.Fatalf("Bob's peers %+v, want Ada %s", bj.Peers, aj.ID)
	}
	// As on one server, a participant's id is its socket's id, relayed
	// or not (clients may rely on it).
	if aj.ID != a.c.ID() || bj.ID != b.c.ID() {
		t.Errorf("ids %s %s, socket ids %s %s", aj.ID, bj.ID, a.c.ID(), b.c.ID())
	}
	a.await("user-joined", `"id":"`+bj.ID+`"`, `"name":"Bob"`)

	b.ask(nil, "chat-message", map[string]string{"text": "hello from Bob"})
	a.await("chat-message", "hello from Bob", `"from":"`+bj.ID+`"`)
	a.ask(nil, "chat-message", map[string]string{"text": "hi Bob"})
	b.await("chat-message", "hi Bob")

	a.ask(nil, "offer", map[string]any{"to": bj.ID, "offer": map[string]string{"type": "offer", "sdp": "v=0 ada"}})
	b.await("offer", `"from":"`+aj.ID+`"`, "v=0 ada")
	b.ask(nil, "answer", map[string]any{"to": aj.ID, "answer": map[string]string{"type": "answer", "sdp": "v=0 bob"}})
	a.await("answer", `"from":"`+bj.ID+`"`, "v=0 bob")
	before := b.count("ice-candidate")
	for i := range 5 {
		cand := fmt.Sprintf("candidate:%d 1 udp 1 10.0.0.1 %d typ host", i, 5000+i)
		a.ask(nil, "ice-candidate", map[string]any{"to": bj.ID, "candidate": map[string]string{"candidate": cand}})
		b.ask(nil, "ice-candidate", map[string]any{"to": aj.ID, "candidate": map[string]string{"candidate": cand}})
	}
	for i := range 5 {
		b.await("ice-candidate", fmt.Sprintf("candidate:%d ", i), `"from":"`+aj.ID+`"`)
		a.await("ice-candidate", fmt.Sprintf("candidate:%d ", i), `"from":"`+bj.ID+`"`)
	}
	time.Sleep(100 * time.Millisecond) // a doubled one would be in by now
	if n := b.count("ice-candidate") - before; n != 5 {
		t.Errorf("Bob got %d candidates, want 5 (none lost or doubled)", n)
	}
	b.ask(nil, "leave-room", map[string]string{})
	a.await("user-left", `"id":"`+bj.ID+`"`)
}

// joinBoth has ada and bob join room in dialect A, and waits until ada
// sees bob.
func joinBoth(t *testing.T, room string, ada, bob *member) (aj, bj joined) {
	t.Helper()
	ada.ask(&aj, "join-room", map[string]string{"room": room, "name": "Ada"})
	bob.ask(&bj, "join-room", map[string]string{"room": room, "name": "Bob"})
	ada.await("user-joined", bj.ID)
	return aj, bj
}

// lobbyAcross is meetAcross in dialect B (room:join, user:call,
// call:accepted).
func lobbyAcross(t *testing.T, room string, a, b *member) {
	t.Helper()
	var aj, bj struct{ ID string }
	a.ask(&aj, "room:join", map[string]string{"email": "cy@example.org", "room": room})
	b.ask(&bj, "room:join", map[string]string{"email": "dee@example.org", "room": room})
	a.await("user:joined", `"email":"dee@example.org"`, bj.ID)
	a.ask(nil, "user:call", map[string]any{"to": bj.ID, "offer": map[string]string{"sdp": "v=0 cy"}})
	b.await("incomming:call", "v=0 cy", aj.ID)
	b.ask(nil, "call:accepted", map[string]any{"to": aj.ID, "ans": map[string]string{"sdp": "v=0 dee"}})
	a.await("call:accepted", "v=0 dee", bj.ID)
}

// Two participants of one meeting on different nodes (one over polling)
// see each other join, chat, and exchange offer, answer and ICE through
// the room's home; so do two dialect-B participants.
func TestClusterRelaysAcrossNodes(t *testing.T) {
	nodes := startClusterNodes(t, startRedis(t), 3)

	// Dialect A: Ada on n1, Bob on n2 over polling; the room's home is
	// wherever placement put it, so at least one of them is relayed.
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	bob := connectMember(t, nodes[1].url(), sioclient.Polling)
	meetAcross(t, "cluster-a", ada, bob)
	t.Logf("dialect A: home n%d, Ada on n1, Bob on n2", homeOf(t, nodes, "cluster-a")+1)

	// Dialect B: Cy on n3, Dee on n1 over polling.
	cy := connectMember(t, nodes[2].url(), sioclient.WebSocket)
	dee := connectMember(t, nodes[0].url(), sioclient.Polling)
	lobbyAcross(t, "cluster-b", cy, dee)
	t.Logf("dialect B: home n%d, Cy on n3, Dee on n1", homeOf(t, nodes, "cluster-b")+1)

	relayed := int64(0)
	for _, n := range nodes {
		st := n.link.Stats()
		relayed += st.PacketsIn
		t.Logf("%s: %+v", n.cluster.NodeID(), st)
	}
	if relayed == 0 {
		t.Error("nothing was relayed between nodes")
	}
	// A relayed participant switching meetings: the old one sees it leave,
	// the new one is claimed by a home and reached from any node.
	first := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	first.ask(nil, "join-room", map[string]string{"room": "switch-x", "name": "First"})
	hx := homeOf(t, nodes, "switch-x")
	gus := connectMember(t, nodes[(hx+1)%3].url(), sioclient.WebSocket) // relayed to hx
	var gj joined
	gus.ask(&gj, "join-room", map[string]string{"room": "switch-x", "name": "Gus"})
	first.await("user-joined", gj.ID)
	var gj2 joined
	gus.ask(&gj2, "join-room", map[string]string{"room": "switch-y", "name": "Gus"})
	first.await("user-left", gj.ID)
	hy := homeOf(t, nodes, "switch-y") // fails if nobody claimed it
	ivy := connectMember(t, nodes[(hy+2)%3].url(), sioclient.Polling)
	var ij joined
	ivy.ask(&ij, "join-room", map[string]string{"room": "switch-y", "name": "Ivy"})
	if len(ij.Peers) != 1 || ij.Peers[0].ID != gj2.ID {
		t.Fatalf("Ivy's peers in switch-y %+v, want Gus %s", ij.Peers, gj2.ID)
	}
	gus.await("user-joined", ij.ID)
	first.c.Close()

	// Participants on the home node cost no Redis round trip: two of them
	// exchange offer, answer and candidates, and no node publishes.
	first = connectMember(t, nodes[0].url(), sioclient.WebSocket)
	first.ask(nil, "join-room", map[string]string{"room": "home-only", "name": "First"})
	h := nodes[homeOf(t, nodes, "home-only")]
	eve := connectMember(t, h.url(), sioclient.WebSocket)
	fay := connectMember(t, h.url(), sioclient.Polling)
	var ej, fj joined
	eve.ask(&ej, "join-room", map[string]string{"room": "home-only", "name": "Eve"})
	fay.ask(&fj, "join-room", map[string]string{"room": "home-only", "name": "Fay"})
	time.Sleep(200 * time.Millisecond) // the joins' announcements to First are out
	queued := func() (n int64) {
		for _, nd := range nodes {
			n += nd.cluster.Stats().EventsQueued
		}
		return n
	}
	q0 := queued()
	eve.ask(nil, "offer", map[string]any{"to": fj.ID, "offer": map[string]string{"sdp": "v=0 eve"}})
	fay.await("offer", "v=0 eve")
	fay.ask(nil, "answer", map[string]any{"to": ej.ID, "answer": map[string]string{"sdp": "v=0 fay"}})
	eve.await("answer", "v=0 fay")
	eve.ask(nil, "ice-candidate", map[string]any{"to": fj.ID, "candidate": map[string]string{"candidate": "candidate:9"}})
	fay.await("ice-candidate", "candidate:9")
	if q := queued(); q != q0 {
		t.Errorf("%d events went through Redis for participants on the home node", q-q0)
	}

	// /metrics shows the cluster: nodes, rooms per node, relayed events.
	eventually(t, "heartbeats carry the rooms: four in all", func() bool {
		body := scrapeMetrics(t, nodes[0].Handler())
		rooms := 0
		for _, line := range strings.Split(body, "\n") {
			var n int
			if strings.HasPrefix(line, "huddle_cluster_node_rooms{") {
				if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &n); err == nil {
					rooms += n
				}
			}
		}
		return strings.Contains(body, "huddle_cluster_nodes 3") && rooms == 4
	})
	body := scrapeMetrics(t, nodes[0].Handler())
	for _, want := range []string{`huddle_cluster_relay_events_total{stage="delivered"}`, `huddle_cluster_relay_packets_total{direction="to_client"}`,
		"huddle_cluster_redis_errors_total 0", `huddle_cluster_relayed_sockets{side="edge"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `huddle_cluster_relay_events_total{stage="delivered"} 0`) {
		t.Error("no relayed event counted as delivered on n1")
	}
}

// startHAProxy runs HAProxy with deploy/haproxy.cfg in front of nodes and
// waits until it routes to every one; it returns its URL. The test is
// skipped without haproxy (scripts/setup-test.sh installs it).
func startHAProxy(t *testing.T, nodes []*realServer) string {
	t.Helper()
	var addrs []string
	for _, n := range nodes {
		addrs = append(addrs, n.Addr().String())
	}
	return startHAProxyFor(t, addrs)
}

// startHAProxyFor is startHAProxy for nodes at addrs.
func startHAProxyFor(t *testing.T, addrs []string) string {
	t.Helper()
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy not installed (scripts/setup-test.sh installs it)")
	}
	bind := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command("haproxy", "-db", "-f", "../../deploy/haproxy.cfg")
	cmd.Env = append(os.Environ(), "HUDDLE_BIND="+bind)
	for i, a := range addrs {
		cmd.Env = append(cmd.Env, fmt.Sprintf("HUDDLE_NODE%d=%s", i+1, a))
	}
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", logs.String())
		}
	})
	waitTCP(t, bind)
	url := "http://" + bind
	// Health checks (rise 2, every 1s) put each node in service: wait
	// until new polling sessions have reached all of them.
	seen := map[string]bool{}
	deadline := time.Now().Add(15 * time.Second)
	for len(seen) < len(addrs) {
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy routed only to %v", seen)
		}
		m := connectMember(t, url, sioclient.Polling, withJar)
		seen[nodeCookie(t, m, url)] = true
		m.c.Close()
	}
	return url
}

// withJar gives a polling client a cookie jar of its own: HAProxy's
// sticky cookie keeps its requests on one node.
func withJar(o *sioclient.Options) {
	jar, _ := cookiejar.New(nil)
	o.HTTPClient = &http.Client{Jar: jar, Timeout: 60 * time.Second}
}

// nodeCookie is the node HAProxy's cookie sent m's polling session to.
func nodeCookie(t *testing.T, m *member, url string) string {
	t.Helper()
	u, _ := neturl.Parse(url)
	for _, c := range m.opts.HTTPClient.Jar.Cookies(u) {
		if c.Name == "HUDDLE_NODE" {
			return c.Value
		}
	}
	t.Fatal("no HUDDLE_NODE cookie from HAProxy")
	return ""
}

// Behind HAProxy (deploy/haproxy.cfg, real HAProxy): a participant over
// long-polling through HAProxy (kept on its node by the cookie) and one
// connected directly to another node meet; then one over WebSocket
// through HAProxy and one direct, in dialect B.
func TestClusterBehindHAProxy(t *testing.T) {
	nodes := startClusterNodes(t, startRedis(t), 3)
	url := startHAProxy(t, nodes)

	ada := connectMember(t, url, sioclient.Polling, withJar)
	adaNode := nodeCookie(t, ada, url) // "n1".."n3", as the servers' cookies
	other := nodes[0]
	if adaNode == "n1" {
		other = nodes[1]
	}
	bob := connectMember(t, other.url(), sioclient.WebSocket)
	meetAcross(t, "haproxy-a", ada, bob)
	t.Logf("dialect A: home n%d, Ada on %s via HAProxy (polling), Bob on %s", homeOf(t, nodes, "haproxy-a")+1, adaNode, other.cluster.NodeID())

	// Over WebSocket the cookie does not show: find Cy's node by its
	// sockets.
	before := make([]int, len(nodes))
	for i, n := range nodes {
		before[i] = n.parts.engine.Stats().WebSocket
	}
	cy := connectMember(t, url, sioclient.WebSocket)
	cyNode := -1
	for i, n := range nodes {
		if n.parts.engine.Stats().WebSocket > before[i] {
			cyNode = i
		}
	}
	if cyNode < 0 {
		t.Fatal("Cy's socket on no node")
	}
	dee := connectMember(t, nodes[(cyNode+1)%3].url(), sioclient.Polling)
	lobbyAcross(t, "haproxy-b", cy, dee)
	t.Logf("dialect B: home n%d, Cy on n%d via HAProxy (WebSocket), Dee on n%d", homeOf(t, nodes, "haproxy-b")+1, cyNode+1, (cyNode+1)%3+1)
}

// TestClusterHelperNode is no test of its own: TestClusterEdgeNodeKilled
// runs the test binary with it as a node in a process of its own, to kill
// it with SIGKILL.
func TestClusterHelperNode(t *testing.T) {
	args := os.Getenv("HUDDLE_TEST_NODE_ARGS")
	if args == "" {
		t.Skip("only run as a helper process")
	}
	if rate, err := strconv.Atoi(os.Getenv("HUDDLE_TEST_MEMPROFILERATE")); err == nil {
		runtime.MemProfileRate = rate // a finer heap profile (cluster_bench_test.go)
	}
	cfg, err := config.Parse(strings.Split(args, "\x1f"), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	// SIGTERM shuts the node down as cmd/huddle's does (a rolling restart).
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, cfg, NewLogger(cfg, os.Stderr)); err != nil {
		fmt.Fprintln(os.Stderr, "node process:", err) // shown by startNodeProcess when the test fails
	}
}

// startNodeProcess runs a node in a child process (TestClusterHelperNode)
// and waits until it is ready; kill ends it with SIGKILL.
func startNodeProcess(t *testing.T, args ...string) (addr string, kill func()) {
	t.Helper()
	addr, _, kill = startNodeProc(t, args...)
	return addr, kill
}

// startNodeProc is startNodeProcess that also returns the process.
func startNodeProc(t *testing.T, args ...string) (addr string, proc *os.Process, kill func()) {
	t.Helper()
	addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	args = append([]string{"--addr", addr, "--turn=false", "--sfu-udp=0", "--sfu-tcp=0", "--shutdown-timeout", "5s", "--shutdown-delay", "0s"}, args...)
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterHelperNode$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HUDDLE_TEST_NODE_ARGS="+strings.Join(args, "\x1f"))
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	kill = func() {
		once.Do(func() {
			_ = cmd.Process.Kill() // SIGKILL: no shutdown, no goodbye to Redis
			_ = cmd.Wait()
		})
	}
	t.Cleanup(func() {
		kill()
		if t.Failed() {
			t.Logf("node process %s:\n%s", addr, logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return addr, cmd.Process, kill
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("node process never ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill -9 of the node holding two participants' connections (not their
// room's home): one reconnects through HAProxy to another node and resumes
// with its token (same id, and the others see no leave and no second
// join); the other never comes back, and once the home has found the node
// dead and the grace period ended, the others see it leave.
func TestClusterEdgeNodeKilled(t *testing.T) {
	redisURL := startRedis(t)
	const grace = "2s"
	key := "cluster-test-resume-key-0123456789"
	var nodes []*realServer
	for i := range 2 {
		nodes = append(nodes, startReal(t, testConfig(t, "--redis-url", redisURL, "--node-id", fmt.Sprintf("n%d", i+1),
			"--resume-key", key, "--reconnect-grace", grace)))
	}
	// The room is made before n3 exists, so its home is n1 or n2.
	eventually(t, "n1 and n2 ready", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ns, err := nodes[0].cluster.Nodes(ctx)
		ready := 0
		for _, n := range ns {
			if !n.Load.Draining {
				ready++
			}
		}
		return err == nil && ready == 2
	})
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	var aj joined
	ada.ask(&aj, "join-room", map[string]string{"room": "kill-edge", "name": "Ada"})
	home := homeOf(t, nodes, "kill-edge")

	n3, kill := startNodeProcess(t, "--redis-url", redisURL, "--node-id", "n3", "--resume-key", key, "--reconnect-grace", grace)
	url := startHAProxyFor(t, []string{nodes[0].Addr().String(), nodes[1].Addr().String(), n3})
	bob := connectMember(t, "http://"+n3, sioclient.WebSocket)
	var bj joined
	bob.ask(&bj, "join-room", map[string]string{"room": "kill-edge", "name": "Bob"})
	cy := connectMember(t, "http://"+n3, sioclient.Polling)
	var cj joined
	cy.ask(&cj, "join-room", map[string]string{"room": "kill-edge", "name": "Cy"})
	ada.await("user-joined", bj.ID)
	ada.await("user-joined", cj.ID)
	t.Logf("home n%d; Bob and Cy on n3 (a process of its own)", home+1)

	kill()
	killed := time.Now()
	// Bob's client reconnects through HAProxy (which finds n3 down) and
	// resumes.
	var again *member
	var rj struct {
		joined
		Resumed bool `json:"resumed"`
	}
	for again == nil {
		if time.Since(killed) > 15*time.Second {
			t.Fatal("Bob never got back in through HAProxy")
		}
		m := &member{t: t, got: map[string][]json.RawMessage{}, wake: make(chan struct{}, 1)}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := sioclient.Dial(ctx, url, sioclient.Options{OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
			m.mu.Lock()
			m.got[event] = append(m.got[event], args...)
			m.mu.Unlock()
		}})
		if err == nil {
			var res []json.RawMessage
			res, err = c.EmitWithAck(ctx, "join-room", map[string]string{"room": "kill-edge", "name": "Bob", "resume": bj.ResumeToken})
			if err == nil && len(res) > 0 && json.Unmarshal(res[0], &rj) == nil && rj.ID != "" {
				m.c = c
				again = m
				t.Cleanup(func() { c.Close() })
			} else {
				c.Close()
			}
		}
		cancel()
		if again == nil {
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("Bob back after %v", time.Since(killed).Round(time.Millisecond))
	if rj.ID != bj.ID || !rj.Resumed {
		t.Fatalf("Bob came back as %q resumed=%v, want %q resumed", rj.ID, rj.Resumed, bj.ID)
	}
	again.ask(nil, "chat-message", map[string]string{"text": "back again"})
	ada.await("chat-message", "back again", bj.ID)

	// Cy does not come back: the home finds n3 gone, her grace period
	// runs out, and Ada sees her leave.
	ada.awaitFor(30*time.Second, "user-left", cj.ID)
	t.Logf("Cy left %v after the kill", time.Since(killed).Round(time.Millisecond))
	if n := countWith(ada, "user-left", bj.ID); n != 0 {
		t.Errorf("Ada saw Bob leave %d times", n)
	}
	if n := countWith(ada, "user-joined", bj.ID); n != 1 {
		t.Errorf("Ada saw Bob join %d times, want once", n)
	}
}

func countWith(m *member, event, part string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, a := range m.got[event] {
		if strings.Contains(string(a), part) {
			n++
		}
	}
	return n
}

// Redis killed (kill -9) and started again empty while a meeting has a
// participant relayed from another node: no node stops, a meeting whose
// participants are all on its home goes on during the outage, the relayed
// participant's chat sent during the outage arrives once Redis is back,
// and the relay works both ways afterwards.
func TestClusterRedisRestartedEmpty(t *testing.T) {
	rp := startRedisProc(t)
	nodes := startClusterNodes(t, rp.url, 2)
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	bob := connectMember(t, nodes[1].url(), sioclient.WebSocket)
	aj, bj := joinBoth(t, "redis-gone", ada, bob)
	home := homeOf(t, nodes, "redis-gone")
	// Two on the home of another meeting, which must not notice: a probe
	// starts it, Eve and Fay join on its home, the probe leaves.
	probe := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	probe.ask(nil, "join-room", map[string]string{"room": "redis-local", "name": "Probe"})
	lh := nodes[homeOf(t, nodes, "redis-local")]
	eve := connectMember(t, lh.url(), sioclient.WebSocket)
	fay := connectMember(t, lh.url(), sioclient.Polling)
	var ej, fj joined
	eve.ask(&ej, "join-room", map[string]string{"room": "redis-local", "name": "Eve"})
	fay.ask(&fj, "join-room", map[string]string{"room": "redis-local", "name": "Fay"})
	probe.ask(nil, "leave-room", map[string]string{})
	eve.await("user-left")

	rp.kill()
	// During the outage: the relayed participant's chat waits, the
	// meeting on one node goes on.
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err := bob.c.EmitWithAck(ctx, "chat-message", map[string]string{"text": "sent while redis was down"})
		sent <- err
	}()
	eve.ask(nil, "offer", map[string]any{"to": fj.ID, "offer": map[string]string{"sdp": "v=0 during outage"}})
	fay.await("offer", "during outage")
	fay.ask(nil, "chat-message", map[string]string{"text": "still here"})
	eve.await("chat-message", "still here")
	time.Sleep(2 * time.Second)
	rp.start() // empty
	back := time.Now()
	ada.awaitFor(15*time.Second, "chat-message", "sent while redis was down", bj.ID)
	t.Logf("chat from the outage arrived %v after Redis returned", time.Since(back).Round(time.Millisecond))
	if err := <-sent; err != nil {
		t.Fatalf("Bob's chat ack: %v", err)
	}
	ada.ask(nil, "offer", map[string]any{"to": bj.ID, "offer": map[string]string{"sdp": "v=0 after"}})
	bob.await("offer", "v=0 after", aj.ID)
	bob.ask(nil, "chat-message", map[string]string{"text": "after"})
	ada.await("chat-message", "after", bj.ID)
	if n := countWith(ada, "chat-message", "sent while redis was down"); n != 1 {
		t.Errorf("Ada got the outage's chat %d times, want once", n)
	}
	// Ownership is back in Redis.
	eventually(t, "room owned again", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		owner, _, err := nodes[0].cluster.Owner(ctx, "redis-gone")
		return err == nil && owner == nodes[home].cluster.NodeID()
	})
}

// A node that starts shutting down (SIGTERM: its context ends) says it is
// draining in the registry at once, as /readyz turns 503, and gets no new
// meetings during its shutdown delay.
func TestClusterDrainingNodeGetsNoRooms(t *testing.T) {
	redisURL := startRedis(t)
	var nodes []*realServer
	for i := range 3 {
		args := []string{"--redis-url", redisURL, "--node-id", fmt.Sprintf("n%d", i+1)}
		if i == 2 {
			args = append(args, "--shutdown-delay", "3s")
		}
		nodes = append(nodes, startReal(t, testConfig(t, args...)))
	}
	for _, r := range nodes {
		eventually(t, "three nodes ready", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			ns, err := r.cluster.Nodes(ctx)
			ready := 0
			for _, n := range ns {
				if !n.Load.Draining {
					ready++
				}
			}
			return err == nil && ready == 3
		})
	}
	// Without the beat at shutdown, the registry would say so only at
	// n3's next heartbeat, up to a second later.
	nodes[2].cancel()
	eventually(t, "n3 not ready", func() bool { return !nodes[2].ready.Load() })
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	ns, err := nodes[0].cluster.Nodes(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.ID == "n3" && !n.Load.Draining {
			t.Fatal("n3 shuts down but the registry still offers it for new rooms")
		}
	}
	for i := range 10 {
		m := connectMember(t, nodes[i%2].url(), sioclient.WebSocket)
		room := fmt.Sprintf("drain-%d", i)
		m.ask(nil, "join-room", map[string]string{"room": room, "name": "X"})
		if h := homeOf(t, nodes, room); h == 2 {
			t.Fatalf("room %s placed on the draining node", room)
		}
	}
}

// resumedAck is a join ack after a reconnection.
type resumedAck struct {
	joined
	Resumed  bool   `json:"resumed"`
	Host     string `json:"host"`
	Settings struct {
		Locked bool `json:"locked"`
	} `json:"settings"`
	Chat []struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	} `json:"chat"`
}

// rejoin is what a browser does after its connection dropped: connect
// through url (HAProxy) until a node answers, and join room again with its
// resume token (a failed or unanswered join is tried again on a new
// connection), for up to 20 s.
func rejoin(t *testing.T, url, room, name, token string) (*member, resumedAck) {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 20*time.Second {
		m := &member{t: t, got: map[string][]json.RawMessage{}, wake: make(chan struct{}, 1)}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := sioclient.Dial(ctx, url, sioclient.Options{Transport: sioclient.WebSocket, OnEvent: func(_ *sioclient.Client, event string, args []json.RawMessage) {
			m.mu.Lock()
			m.got[event] = append(m.got[event], args...)
			m.mu.Unlock()
			select {
			case m.wake <- struct{}{}:
			default:
			}
		}})
		if err == nil {
			var res []json.RawMessage
			var ack resumedAck
			res, err = c.EmitWithAck(ctx, "join-room", map[string]string{"room": room, "name": name, "resume": token})
			if err == nil && len(res) > 0 && json.Unmarshal(res[0], &ack) == nil && ack.ID != "" {
				cancel()
				m.c = c
				t.Cleanup(func() { c.Close() })
				return m, ack
			}
			c.Close()
		}
		cancel()
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s never got back into %s", name, room)
	return nil, resumedAck{}
}

// kill -9 of a meeting's home node: another node takes the meeting over
// from the state the home kept in Redis. Its participants (one on the home
// itself, two relayed from other nodes) reconnect through HAProxy and
// resume with their tokens: same ids, the host still host, the chat
// history kept, the locked meeting still locked, and nobody is shown
// leaving or joining. When the meeting ends its Redis keys go.
func TestClusterHomeNodeKilled(t *testing.T) {
	redisURL := startRedis(t)
	key := "cluster-test-resume-key-0123456789"
	// n3 alone first, so that the meeting is homed there.
	n3, kill := startNodeProcess(t, "--redis-url", redisURL, "--node-id", "n3", "--resume-key", key)
	hal := connectMember(t, "http://"+n3, sioclient.WebSocket)
	var hj joined
	hal.ask(&hj, "join-room", map[string]string{"room": "kill-home", "name": "Hal"})
	var nodes []*realServer
	for i := range 2 {
		nodes = append(nodes, startReal(t, testConfig(t, "--redis-url", redisURL, "--node-id", fmt.Sprintf("n%d", i+1), "--resume-key", key)))
	}
	if owner, _, _ := nodes[0].cluster.Owner(context.Background(), "kill-home"); owner != "n3" {
		t.Fatalf("home %q, want n3", owner)
	}
	url := startHAProxyFor(t, []string{nodes[0].Addr().String(), nodes[1].Addr().String(), n3})
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	bob := connectMember(t, nodes[1].url(), sioclient.Polling)
	var aj, bj joined
	ada.ask(&aj, "join-room", map[string]string{"room": "kill-home", "name": "Ada"})
	bob.ask(&bj, "join-room", map[string]string{"room": "kill-home", "name": "Bob"})
	// A join and a setting are in Redis by the time they are acknowledged.
	if st, err := nodes[0].cluster.LoadRoom(context.Background(), "kill-home"); err != nil || len(st.Participants) != 3 || len(st.Resume) != 3 {
		t.Fatalf("state in Redis when Bob's join was acknowledged: %+v %v", st, err)
	}
	hal.await("user-joined", bj.ID)
	hal.ask(nil, "chat-message", map[string]string{"text": "before the kill"})
	bob.await("chat-message", "before the kill")
	hal.ask(nil, "room-settings", map[string]any{"locked": true})
	if st, _ := nodes[0].cluster.LoadRoom(context.Background(), "kill-home"); !st.Meta.Locked {
		t.Fatal("the lock not in Redis when it was acknowledged")
	}
	ada.await("room-settings", `"locked":true`)
	// Chat is written in the background within milliseconds.
	eventually(t, "the home's state in Redis", func() bool {
		st, err := nodes[0].cluster.LoadRoom(context.Background(), "kill-home")
		return err == nil && st.Meta.Locked && len(st.Chat) == 1 && len(st.Participants) == 3 && len(st.Resume) == 3
	})

	kill()
	killed := time.Now()
	type back struct {
		m   *member
		ack resumedAck
	}
	var wg sync.WaitGroup
	res := make([]back, 3)
	for i, who := range []struct{ name, token string }{{"Hal", hj.ResumeToken}, {"Ada", aj.ResumeToken}, {"Bob", bj.ResumeToken}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, ack := rejoin(t, url, "kill-home", who.name, who.token)
			res[i] = back{m, ack}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("all three back %v after the kill, the meeting on n%d", time.Since(killed).Round(time.Millisecond), homeOf(t, nodes, "kill-home")+1)
	for i, want := range []string{hj.ID, aj.ID, bj.ID} {
		a := res[i].ack
		if a.ID != want || !a.Resumed {
			t.Errorf("participant %d back as %q resumed=%v, want %q resumed", i, a.ID, a.Resumed, want)
		}
		if a.Host != hj.ID {
			t.Errorf("participant %d sees host %q, want Hal %q", i, a.Host, hj.ID)
		}
		if !a.Settings.Locked {
			t.Errorf("participant %d: the meeting is no longer locked", i)
		}
		if len(a.Chat) != 1 || a.Chat[0].Text != "before the kill" {
			t.Errorf("participant %d: chat history %+v", i, a.Chat)
		}
		if len(a.Peers) != 2 {
			t.Errorf("participant %d: peers %+v, want the other two", i, a.Peers)
		}
	}
	hal2, ada2, bob2 := res[0].m, res[1].m, res[2].m
	newHome := nodes[homeOf(t, nodes, "kill-home")]
	if body := scrapeMetrics(t, newHome.Handler()); !strings.Contains(body, "huddle_cluster_rooms_taken_over_total 1") {
		t.Error("the new home's /metrics does not count the room taken over")
	}
	// Locked: a newcomer without a token is refused.
	eve := connectMember(t, url, sioclient.WebSocket)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	refusal, err := eve.c.EmitWithAck(ctx, "join-room", map[string]string{"room": "kill-home", "name": "Eve"})
	cancel()
	if err != nil || len(refusal) == 0 || !strings.Contains(string(refusal[0]), `"locked"`) {
		t.Errorf("newcomer to the locked meeting: %s %v, want refused as locked", refusal, err)
	}
	bob2.ask(nil, "chat-message", map[string]string{"text": "new home"})
	ada2.await("chat-message", "new home", bj.ID)
	hal2.await("chat-message", "new home", bj.ID)
	hal2.ask(nil, "room-settings", map[string]any{"locked": false}) // only the host may
	for _, m := range []*member{hal2, ada2, bob2} {
		if n := m.count("user-joined") + m.count("user-left"); n != 0 {
			t.Errorf("a participant saw %d joins or leaves after the takeover", n)
		}
	}
	// The meeting ends: its keys go.
	for _, m := range []*member{hal2, ada2, bob2} {
		m.ask(nil, "leave-room", map[string]string{})
	}
	rc := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(redisURL, "redis://"), "/0")})
	defer rc.Close()
	eventually(t, "the meeting's keys gone", func() bool {
		keys, err := rc.Keys(context.Background(), "huddle:room:{kill-home}:*").Result()
		return err == nil && len(keys) == 0
	})
}

// Redis away for longer than a lease (5 s), then back empty: the home
// claims its room again, so a newcomer through another node joins the same
// meeting (not a second one), and what was relayed during the outage
// arrives.
func TestClusterRedisOutageLongerThanLease(t *testing.T) {
	rp := startRedisProc(t)
	nodes := startClusterNodes(t, rp.url, 2)
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	bob := connectMember(t, nodes[1].url(), sioclient.Polling)
	_, bj := joinBoth(t, "long-outage", ada, bob)
	home := homeOf(t, nodes, "long-outage")

	rp.kill()
	sent := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
		defer cancel()
		_, err := bob.c.EmitWithAck(ctx, "chat-message", map[string]string{"text": "during the long outage"})
		sent <- err
	}()
	time.Sleep(7 * time.Second) // past LeaseTTL: the lease lapses
	rp.start()
	back := time.Now()
	eventually(t, "the home claimed its room again", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		owner, _, err := nodes[0].cluster.Owner(ctx, "long-outage")
		return err == nil && owner == nodes[home].cluster.NodeID()
	})
	t.Logf("room owned again %v after Redis returned", time.Since(back).Round(time.Millisecond))
	ada.awaitFor(15*time.Second, "chat-message", "during the long outage", bj.ID)
	if err := <-sent; err != nil {
		t.Fatalf("Bob's chat ack: %v", err)
	}
	cy := connectMember(t, nodes[1-home].url(), sioclient.WebSocket)
	var cj joined
	cy.ask(&cj, "join-room", map[string]string{"room": "long-outage", "name": "Cy"})
	if len(cj.Peers) != 2 {
		t.Fatalf("Cy's peers %+v, want Ada and Bob: a second meeting of the same name", cj.Peers)
	}
}

// A meeting's home shutting down (SIGTERM) gives its meetings up after its
// connections closed: its participants, reconnecting to another node at
// once, resume there in the meeting with its state, without waiting for
// the lease to lapse.
func TestClusterHomeNodeStopped(t *testing.T) {
	nodes := startClusterNodes(t, startRedis(t), 2)
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	var aj joined
	ada.ask(&aj, "join-room", map[string]string{"room": "stopped", "name": "Ada"})
	home := homeOf(t, nodes, "stopped")
	other := nodes[1-home]
	bob := connectMember(t, other.url(), sioclient.WebSocket)
	var bj joined
	bob.ask(&bj, "join-room", map[string]string{"room": "stopped", "name": "Bob"})
	ada.ask(nil, "chat-message", map[string]string{"text": "before the restart"})
	bob.await("chat-message", "before the restart")

	nodes[home].cancel()
	err := <-nodes[home].done
	nodes[home].done <- err // for the cleanup, which waits for it too
	stopped := time.Now()
	for _, who := range []struct {
		name, token, id string
	}{{"Ada", aj.ResumeToken, aj.ID}, {"Bob", bj.ResumeToken, bj.ID}} {
		m := connectMember(t, other.url(), sioclient.WebSocket)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		res, err := m.c.EmitWithAck(ctx, "join-room", map[string]string{"room": "stopped", "name": who.name, "resume": who.token})
		cancel()
		var ack resumedAck
		if err != nil || len(res) == 0 || json.Unmarshal(res[0], &ack) != nil {
			t.Fatalf("%s's join right after the home stopped: %s %v", who.name, res, err)
		}
		if ack.ID != who.id || !ack.Resumed || len(ack.Chat) != 1 {
			t.Errorf("%s back as %s resumed=%v with chat %+v", who.name, ack.ID, ack.Resumed, ack.Chat)
		}
	}
	t.Logf("both back %v after the home stopped", time.Since(stopped).Round(time.Millisecond))
}

// A home frozen (SIGSTOP) long enough for another node to take its meeting
// over, then thawed: it stops acting as the meeting's home and closes its
// members' connections, so that they resume in the meeting on the node that
// has it now (the host still host) instead of staying in a stale copy.
func TestClusterFrozenHomeSendsMembersAway(t *testing.T) {
	redisURL := startRedis(t)
	key := "cluster-test-resume-key-0123456789"
	n3, proc, _ := startNodeProc(t, "--redis-url", redisURL, "--node-id", "n3", "--resume-key", key)
	halGone := make(chan struct{}, 1)
	hal := connectMember(t, "http://"+n3, sioclient.WebSocket, func(o *sioclient.Options) {
		o.OnDisconnect = func(*sioclient.Client, error) { halGone <- struct{}{} }
	})
	var hj joined
	hal.ask(&hj, "join-room", map[string]string{"room": "frozen", "name": "Hal"})
	n1 := startReal(t, testConfig(t, "--redis-url", redisURL, "--node-id", "n1", "--resume-key", key))
	adaGone := make(chan struct{}, 1)
	ada := connectMember(t, n1.url(), sioclient.WebSocket, func(o *sioclient.Options) {
		o.OnDisconnect = func(*sioclient.Client, error) { adaGone <- struct{}{} }
	})
	var aj joined
	ada.ask(&aj, "join-room", map[string]string{"room": "frozen", "name": "Ada"})
	hal.await("user-joined", aj.ID)
	eventually(t, "the home's state in Redis", func() bool { // written in the background
		st, err := n1.cluster.LoadRoom(context.Background(), "frozen")
		return err == nil && len(st.Participants) == 2 && len(st.Resume) == 2
	})

	if err := proc.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Signal(syscall.SIGCONT) })
	select {
	case <-adaGone: // her node found the home gone
	case <-time.After(20 * time.Second):
		t.Fatal("Ada's relayed connection outlived her frozen home")
	}
	_, back := rejoin(t, n1.url(), "frozen", "Ada", aj.ResumeToken)
	if !back.Resumed || back.ID != aj.ID || back.Host != hj.ID {
		t.Fatalf("Ada back as %s resumed=%v host %s", back.ID, back.Resumed, back.Host)
	}
	if err := proc.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed := time.Now()
	select {
	case <-halGone:
	case <-time.After(10 * time.Second):
		t.Fatal("the thawed home kept Hal in its stale copy of the meeting")
	}
	t.Logf("Hal sent away %v after his home thawed", time.Since(thawed).Round(time.Millisecond))
	_, hb := rejoin(t, n1.url(), "frozen", "Hal", hj.ResumeToken)
	if !hb.Resumed || hb.ID != hj.ID || hb.Host != hj.ID {
		t.Fatalf("Hal back as %s resumed=%v host %s", hb.ID, hb.Resumed, hb.Host)
	}
}
