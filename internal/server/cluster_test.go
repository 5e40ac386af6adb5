package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// Cluster tests: real redis-server, several real servers in this process
// (each with its own listener, engine, signaling and cluster link), and
// the Go Socket.IO client connecting to chosen nodes.

// startRedis runs a redis-server on a free loopback port until the test
// ends, or skips the test without one (scripts/setup-test.sh installs it).
func startRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (scripts/setup-test.sh installs it)")
	}
	port := freePort(t)
	cmd := exec.Command("redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1",
		"--dir", t.TempDir(), "--save", "", "--appendonly", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port))
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
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
func startClusterNodes(t *testing.T, redisURL string, n int) []*realServer {
	t.Helper()
	var nodes []*realServer
	for i := range n {
		nodes = append(nodes, startReal(t, testConfig(t, "--redis-url", redisURL,
			"--node-id", fmt.Sprintf("n%d", i+1), "--resume-key", "cluster-test-resume-key-0123456789")))
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
	m.c = c
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
	deadline := time.After(10 * time.Second)
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

// Two participants of one meeting on different nodes (one over polling)
// see each other join, chat, and exchange offer, answer and ICE through
// the room's home; so do two dialect-B participants.
func TestClusterRelaysAcrossNodes(t *testing.T) {
	nodes := startClusterNodes(t, startRedis(t), 3)

	// Dialect A. Ada joins on n1; the room's home is wherever placement
	// put it. Bob joins on a node that is not Ada's, and over polling.
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	var aj joined
	ada.ask(&aj, "join-room", map[string]string{"room": "cluster-a", "name": "Ada"})
	home := homeOf(t, nodes, "cluster-a")
	bobNode := 1
	if home == 1 {
		bobNode = 2 // Bob on a third node: neither his nor Ada's node need be home
	}
	t.Logf("home n%d, Ada on n1, Bob on n%d", home+1, bobNode+1)
	bob := connectMember(t, nodes[bobNode].url(), sioclient.Polling)
	var bj joined
	bob.ask(&bj, "join-room", map[string]string{"room": "cluster-a", "name": "Bob"})
	if len(bj.Peers) != 1 || bj.Peers[0].ID != aj.ID {
		t.Fatalf("Bob's peers %+v, want Ada %s", bj.Peers, aj.ID)
	}
	ada.await("user-joined", `"id":"`+bj.ID+`"`, `"name":"Bob"`)

	bob.ask(nil, "chat-message", map[string]string{"text": "hello from Bob"})
	ada.await("chat-message", "hello from Bob", `"from":"`+bj.ID+`"`)
	ada.ask(nil, "chat-message", map[string]string{"text": "hi Bob"})
	bob.await("chat-message", "hi Bob")

	ada.ask(nil, "offer", map[string]any{"to": bj.ID, "offer": map[string]string{"type": "offer", "sdp": "v=0 ada"}})
	bob.await("offer", `"from":"`+aj.ID+`"`, "v=0 ada")
	bob.ask(nil, "answer", map[string]any{"to": aj.ID, "answer": map[string]string{"type": "answer", "sdp": "v=0 bob"}})
	ada.await("answer", `"from":"`+bj.ID+`"`, "v=0 bob")
	for i := range 5 {
		cand := fmt.Sprintf("candidate:%d 1 udp 1 10.0.0.1 %d typ host", i, 5000+i)
		ada.ask(nil, "ice-candidate", map[string]any{"to": bj.ID, "candidate": map[string]string{"candidate": cand}})
		bob.ask(nil, "ice-candidate", map[string]any{"to": aj.ID, "candidate": map[string]string{"candidate": cand}})
	}
	for i := range 5 {
		bob.await("ice-candidate", fmt.Sprintf("candidate:%d ", i))
		ada.await("ice-candidate", fmt.Sprintf("candidate:%d ", i))
	}
	if n := bob.count("ice-candidate"); n != 5 {
		t.Errorf("Bob got %d candidates, want 5 (none lost or doubled)", n)
	}

	// Bob leaves: Ada sees it.
	bob.ask(nil, "leave-room", map[string]string{})
	ada.await("user-left", `"id":"`+bj.ID+`"`)

	// Dialect B, on two nodes again.
	cy := connectMember(t, nodes[2].url(), sioclient.WebSocket)
	var cj struct{ ID string }
	cy.ask(&cj, "room:join", map[string]string{"email": "cy@example.org", "room": "cluster-b"})
	t.Logf("dialect B: home n%d, Cy on n3, Dee on n1", homeOf(t, nodes, "cluster-b")+1)
	dee := connectMember(t, nodes[0].url(), sioclient.Polling)
	var dj struct{ ID string }
	dee.ask(&dj, "room:join", map[string]string{"email": "dee@example.org", "room": "cluster-b"})
	cy.await("user:joined", `"email":"dee@example.org"`)
	cy.ask(nil, "user:call", map[string]any{"to": dj.ID, "offer": map[string]string{"sdp": "v=0 cy"}})
	dee.await("incomming:call", "v=0 cy")
	dee.ask(nil, "call:accepted", map[string]any{"to": cj.ID, "ans": map[string]string{"sdp": "v=0 dee"}})
	cy.await("call:accepted", "v=0 dee")
	for _, n := range nodes {
		st := n.link.Stats()
		t.Logf("%s: %+v", n.cluster.NodeID(), st)
	}
}
