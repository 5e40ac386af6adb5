package server

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// cuttable is a TCP proxy to Redis for one node, which the test can cut
// (every connection closed, new ones refused) and mend, on the same port:
// that node is cut off from Redis while the others still reach it.
type cuttable struct {
	t      *testing.T
	addr   string // where the node connects
	target string // Redis
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCuttable(t *testing.T, redisURL string) *cuttable {
	t.Helper()
	var port int
	if _, err := fmt.Sscanf(redisURL, "redis://127.0.0.1:%d/0", &port); err != nil {
		t.Fatalf("redis URL %q: %v", redisURL, err)
	}
	p := &cuttable{t: t, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), target: fmt.Sprintf("127.0.0.1:%d", port)}
	p.mend()
	t.Cleanup(p.cut)
	return p
}

func (p *cuttable) url() string { return "redis://" + p.addr + "/0" }

// mend listens again and forwards what comes.
func (p *cuttable) mend() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			r, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, r)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(r, c); r.Close() }()
			go func() { _, _ = io.Copy(c, r); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection through it.
func (p *cuttable) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// One node cut off from Redis while the other still reaches it, with a
// meeting homed on the cut-off node: Ada's socket on the home, Bob's on
// the other node, relayed. Bob's node finds the home silent, and Bob
// reconnects and resumes there: that node takes the meeting over from
// Redis once the cut-off home's lease lapses. The cut-off node cannot
// know that it is the only one cut off (a Redis outage for everyone looks
// the same from there), so it serves Ada on in its own copy meanwhile.
// Once it reaches Redis again it finds the meeting owned by the other
// node and sends Ada away: she resumes there under her own id, nobody is
// shown leaving, and chat flows both ways once.
func TestClusterNodeCutOffFromRedis(t *testing.T) {
	rp := startRedisKept(t)
	key := "cluster-test-resume-key-0123456789"
	proxies := []*cuttable{newCuttable(t, rp.url), newCuttable(t, rp.url)}
	var nodes []*realServer
	for i, p := range proxies {
		nodes = append(nodes, startReal(t, testConfig(t, "--redis-url", p.url(), "--node-id", fmt.Sprintf("n%d", i+1), "--resume-key", key)))
	}
	for _, n := range nodes {
		eventually(t, "both nodes live", func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			live, err := n.cluster.Nodes(ctx)
			return err == nil && len(live) == 2
		})
	}
	// Ada starts the meeting on n1; wherever it is placed, she is on its
	// home after a rejoin there, and Bob on the other node.
	probe := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	probe.ask(nil, "join-room", map[string]string{"room": "cutoff", "name": "Probe"})
	home := homeOf(t, nodes, "cutoff")
	other := 1 - home
	adaGone, bobGone := make(chan struct{}, 4), make(chan struct{}, 4)
	ada := connectMember(t, nodes[home].url(), sioclient.WebSocket, func(o *sioclient.Options) {
		o.OnDisconnect = func(*sioclient.Client, error) { adaGone <- struct{}{} }
	})
	bob := connectMember(t, nodes[other].url(), sioclient.Polling, func(o *sioclient.Options) {
		o.OnDisconnect = func(*sioclient.Client, error) { bobGone <- struct{}{} }
	})
	aj, bj := joinBoth(t, "cutoff", ada, bob)
	probe.ask(nil, "leave-room", map[string]string{})
	probe.c.Close()
	ada.await("user-left")
	bob.await("user-left")

	proxies[home].cut()
	cut := time.Now()
	select {
	case <-bobGone:
	case <-time.After(15 * time.Second):
		t.Fatal("Bob's relayed connection outlived his home's silence")
	}
	t.Logf("n%d cut off from Redis; Bob (on n%d) sent away %v later", home+1, other+1, time.Since(cut).Round(time.Millisecond))
	bob2, bb := rejoin(t, nodes[other].url(), "cutoff", "Bob", bj.ResumeToken)
	if !bb.Resumed || bb.ID != bj.ID {
		t.Fatalf("Bob back as %s resumed=%v, want %s resumed", bb.ID, bb.Resumed, bj.ID)
	}
	// Asked of the node that reaches Redis.
	if h := homeOf(t, []*realServer{nodes[other]}, "cutoff"); h != 0 {
		t.Fatalf("the meeting is not homed on n%d", other+1)
	}
	t.Logf("Bob resumed on n%d, the meeting's home now, %v after the cut", other+1, time.Since(cut).Round(time.Millisecond))
	// The cut-off node serves Ada on meanwhile (it cannot tell this from
	// an outage of Redis for everyone).
	select {
	case <-adaGone:
		t.Fatal("Ada was sent away while her node could not reach Redis")
	default:
	}

	proxies[home].mend()
	mended := time.Now()
	select {
	case <-adaGone:
	case <-time.After(10 * time.Second):
		t.Fatal("the node that reached Redis again kept Ada in its stale copy of the meeting")
	}
	t.Logf("Redis reachable again from n%d; Ada sent away %v later", home+1, time.Since(mended).Round(time.Millisecond))
	ada2, ab := rejoin(t, nodes[home].url(), "cutoff", "Ada", aj.ResumeToken)
	if !ab.Resumed || ab.ID != aj.ID {
		t.Fatalf("Ada back as %s resumed=%v, want %s resumed", ab.ID, ab.Resumed, aj.ID)
	}
	t.Logf("Ada resumed through n%d %v after Redis was reachable again", home+1, time.Since(mended).Round(time.Millisecond))
	if h := homeOf(t, nodes, "cutoff"); h != other {
		t.Fatalf("the meeting's home is n%d, want n%d", h+1, other+1)
	}
	ada2.ask(nil, "chat-message", map[string]string{"text": "from Ada, back"})
	bob2.await("chat-message", "from Ada, back", aj.ID)
	bob2.ask(nil, "chat-message", map[string]string{"text": "from Bob, back"})
	ada2.await("chat-message", "from Bob, back", bj.ID)
	time.Sleep(300 * time.Millisecond) // a copy would arrive by now
	if n := countWith(bob2, "chat-message", "from Ada, back") + countWith(ada2, "chat-message", "from Bob, back"); n != 2 {
		t.Errorf("the two messages arrived %d times in all, want once each", n)
	}
	for _, m := range []*member{ada, bob, ada2, bob2} {
		if n := countWith(m, "user-left", aj.ID) + countWith(m, "user-left", bj.ID); n != 0 {
			t.Errorf("someone was shown Ada or Bob leaving (%d times)", n)
		}
	}
}
