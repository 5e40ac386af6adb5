package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// Numbered messages through a node's kill -9. Each talker sends numbered
// chat messages and ICE candidates to another, 50 a second, each asking
// for an ack; what is not acked when its connection drops it sends again
// after resuming through HAProxy, as a browser app would. The receiver
// counts each number: none may be missing, none may come twice. Chat
// history in a join ack is recognised by message id (it replays what the
// client may have had).

// talker is one such participant.
type talker struct {
	t                *testing.T
	name, room, url  string
	peerName, peerID string

	mu       sync.Mutex
	c        *sioclient.Client
	id       string
	token    string
	next     int
	unacked  map[int]bool
	resent   map[int]bool    // sent again after a resume
	got      map[int]int     // the peer's numbers, times received
	chatIDs  map[string]bool // chat message ids seen
	peers    map[string]bool // the room's other members as this one sees them
	resumes  int
	refusals int
	// delay is how long it waits before reconnecting.
	delay time.Duration
	done  bool // the test ended: no more reconnecting
}

// newTalker makes a talker, which hangs up when the test ends (before the
// servers it talks to stop).
func newTalker(t *testing.T, name, room, url string) *talker {
	k := &talker{t: t, name: name, room: room, url: url, unacked: map[int]bool{}, resent: map[int]bool{}, got: map[int]int{},
		chatIDs: map[string]bool{}, peers: map[string]bool{}}
	t.Cleanup(func() {
		k.mu.Lock()
		k.done = true
		c := k.c
		k.mu.Unlock()
		if c != nil {
			c.Close()
		}
	})
	return k
}

// join connects to url and joins, resuming with the talker's token if it
// has one; false when that failed (the caller tries again).
func (k *talker) join(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, sioclient.Options{Transport: sioclient.WebSocket,
		OnEvent:      func(_ *sioclient.Client, event string, args []json.RawMessage) { k.onEvent(event, args) },
		OnDisconnect: func(c *sioclient.Client, _ error) { k.dropped(c) }})
	if err != nil {
		return false
	}
	k.mu.Lock()
	token := k.token
	k.mu.Unlock()
	res, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": k.room, "name": k.name, "resume": token})
	var ack struct {
		resumedAck
		Peers []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"peers"`
	}
	if err != nil || len(res) == 0 || json.Unmarshal(res[0], &ack) != nil || ack.ID == "" {
		c.Close()
		return false
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.done {
		c.Close()
		return true
	}
	if k.id != "" && (ack.ID != k.id || !ack.Resumed) {
		k.t.Errorf("%s came back as %s resumed=%v, was %s", k.name, ack.ID, ack.Resumed, k.id)
	}
	if k.id != "" {
		k.resumes++
	}
	k.c, k.id, k.token = c, ack.ID, ack.ResumeToken
	clear(k.peers)
	for _, p := range ack.Peers {
		k.peers[p.ID] = true
		if p.Name == k.peerName {
			k.peerID = p.ID
		}
	}
	for _, m := range ack.Chat {
		k.chat(m.ID, m.Text)
	}
	// What was not acked goes again, in order.
	var again []int
	for n := range k.unacked {
		again = append(again, n)
	}
	sort.Ints(again)
	for _, n := range again {
		if k.sendLocked(n) {
			k.resent[n] = true
		}
	}
	return true
}

// chat counts a chat message. Called with k.mu held.
func (k *talker) chat(id, text string) {
	if k.chatIDs[id] {
		return // a replay of the history
	}
	k.chatIDs[id] = true
	k.count(text)
}

func (k *talker) count(text string) {
	var name string
	var n int
	if _, err := fmt.Sscanf(text, "n %s %d", &name, &n); err == nil && name == k.peerName {
		k.got[n]++
	}
}

func (k *talker) onEvent(event string, args []json.RawMessage) {
	if len(args) == 0 {
		return
	}
	var a struct {
		ID        string `json:"id"`
		Name      string `json:"name"`
		Text      string `json:"text"`
		Candidate struct {
			Candidate string `json:"candidate"`
		} `json:"candidate"`
	}
	_ = json.Unmarshal(args[0], &a)
	k.mu.Lock()
	defer k.mu.Unlock()
	switch event {
	case "chat-message":
		k.chat(a.ID, a.Text)
	case "ice-candidate":
		k.count(a.Candidate.Candidate)
	case "user-joined":
		k.peers[a.ID] = true
		if a.Name == k.peerName {
			k.peerID = a.ID
		}
	case "user-left":
		delete(k.peers, a.ID)
	}
}

// dropped reconnects through HAProxy, as the browser app does.
func (k *talker) dropped(c *sioclient.Client) {
	k.mu.Lock()
	if k.c != c || k.done {
		k.mu.Unlock()
		return
	}
	k.c = nil
	k.mu.Unlock()
	go func() {
		time.Sleep(k.delay)
		for start := time.Now(); time.Since(start) < 25*time.Second; time.Sleep(200 * time.Millisecond) {
			k.mu.Lock()
			done := k.done
			k.mu.Unlock()
			if done || k.join(k.url) {
				return
			}
		}
		k.t.Errorf("%s never got back", k.name) // the test waits for it: it has not ended
	}()
}

// say numbers a new message and sends it if connected.
func (k *talker) say() {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.next
	k.next++
	k.unacked[n] = true
	k.sendLocked(n)
}

// sendLocked sends message n: even numbers as chat, odd ones as ICE
// candidates to the peer, and reports whether it did. Called with k.mu
// held.
func (k *talker) sendLocked(n int) bool {
	c := k.c
	if c == nil || k.peerID == "" {
		return false // sent after the resume
	}
	text := fmt.Sprintf("n %s %d", k.name, n)
	done := func(args []json.RawMessage, err error) {
		if err != nil || len(args) == 0 {
			return // the connection ended: sent again after the resume
		}
		k.mu.Lock()
		defer k.mu.Unlock()
		if strings.Contains(string(args[0]), `"ok":true`) {
			delete(k.unacked, n)
		} else {
			k.refusals++
			k.t.Logf("%s: message %d refused: %s", k.name, n, args[0])
		}
	}
	if n%2 == 0 {
		return c.EmitAckFunc(done, "chat-message", map[string]string{"text": text}) == nil
	}
	return c.EmitAckFunc(done, "ice-candidate", map[string]any{"to": k.peerID, "candidate": map[string]string{"candidate": text}}) == nil
}

// talk has the talkers say a message each every 20 ms until stop.
func talk(stop <-chan struct{}, ks ...*talker) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			for _, k := range ks {
				k.say()
			}
		}
	}()
	return done
}

// within is eventually with a deadline of d.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkNumbered waits until every message is acked, then checks that
// each talker got each of its peer's numbers: none missing, and none
// twice. A sender sends again what was not acked when its connection
// dropped. When the message had reached the room's home and only its ack
// was lost with a dying edge, the home knows (the ack is among what that
// node never delivered) and does not do it twice. When the home itself
// died, nobody knows: the receiver may get the message twice and drops the
// copy by its number, as an app must; with resentTwice those are counted
// apart instead of failing.
func checkNumbered(t *testing.T, ks map[string]*talker, resentTwice bool) {
	t.Helper()
	within(t, 15*time.Second, "every message acked", func() bool {
		for _, k := range ks {
			k.mu.Lock()
			n := len(k.unacked)
			k.mu.Unlock()
			if n > 0 {
				return false
			}
		}
		return true
	})
	time.Sleep(300 * time.Millisecond) // a late copy would be in by now
	for _, k := range ks {
		p := ks[k.peerName]
		p.mu.Lock()
		sent := p.next
		resent := maps.Clone(p.resent)
		p.mu.Unlock()
		k.mu.Lock()
		var lost, dup, resentDup []int
		for n := range sent {
			switch c := k.got[n]; {
			case c == 0:
				lost = append(lost, n)
			case c > 1 && resent[n] && resentTwice:
				resentDup = append(resentDup, n)
			case c > 1:
				dup = append(dup, n)
			}
		}
		t.Logf("%s got %d of %s's %d messages; %d lost, %d twice; %d resent after a lost ack and dropped by number; resumed %d times",
			k.name, len(k.got), p.name, sent, len(lost), len(dup), len(resentDup), k.resumes)
		if len(lost) > 0 || len(dup) > 0 {
			t.Errorf("%s: lost %v, twice %v", k.name, head(lost), head(dup))
		}
		k.mu.Unlock()
	}
}

func head(ns []int) []int {
	if len(ns) > 20 {
		return ns[:20]
	}
	return ns
}

// members is what k sees of the room: the others' ids.
func (k *talker) members() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var ids []string
	for id := range k.peers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// agree checks that everyone's list of the room is everyone else.
func agree(t *testing.T, ks ...*talker) {
	t.Helper()
	for _, k := range ks {
		var want []string
		for _, o := range ks {
			if o != k {
				want = append(want, o.id)
			}
		}
		sort.Strings(want)
		if got := k.members(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s sees %v, want %v", k.name, got, want)
		}
	}
}

var numberedArgs = []string{"--events-per-second", "1000", "--event-burst", "1000"}

// kill -9 of the node holding Bob's and Cy's sockets (not the home) while
// they exchange numbered messages with Ada and Dee on other nodes. Bob
// reconnects at once, before the home knows his node died; Cy after 7 s,
// when the home has found it dead and keeps what she misses: what the
// dead node never gave them comes to their new connections.
func TestClusterNumberedThroughEdgeKill(t *testing.T) {
	redisURL := startRedis(t)
	key := "cluster-test-resume-key-0123456789"
	nodes := startClusterNodes(t, redisURL, 2, numberedArgs...)
	n3, kill := startNodeProcess(t, append([]string{"--redis-url", redisURL, "--node-id", "n3", "--resume-key", key}, numberedArgs...)...)
	url := startHAProxyFor(t, []string{nodes[0].Addr().String(), nodes[1].Addr().String(), n3})
	ada, bob := newTalker(t, "Ada", "numbered-edge", url), newTalker(t, "Bob", "numbered-edge", url)
	cy, dee := newTalker(t, "Cy", "numbered-edge", url), newTalker(t, "Dee", "numbered-edge", url)
	ada.peerName, bob.peerName, cy.peerName, dee.peerName = "Bob", "Ada", "Dee", "Cy"
	cy.delay = 7 * time.Second
	if !ada.join(nodes[0].url()) {
		t.Fatal("Ada could not join")
	}
	home := homeOf(t, nodes, "numbered-edge")
	if !bob.join("http://"+n3) || !cy.join("http://"+n3) || !dee.join(nodes[1-home].url()) {
		t.Fatal("Bob, Cy or Dee could not join")
	}
	eventually(t, "all see each other", func() bool {
		for _, k := range []*talker{ada, bob, cy, dee} {
			k.mu.Lock()
			ok := k.peerID != "" && len(k.peers) == 3
			k.mu.Unlock()
			if !ok {
				return false
			}
		}
		return true
	})
	t.Logf("home n%d, Ada on n1, Dee on n%d, Bob and Cy on n3", home+1, 2-home)
	stop := make(chan struct{})
	done := talk(stop, ada, bob, cy, dee)
	time.Sleep(time.Second)
	kill()
	within(t, 25*time.Second, "Bob and Cy resumed", func() bool {
		bob.mu.Lock()
		cy.mu.Lock()
		defer bob.mu.Unlock()
		defer cy.mu.Unlock()
		return bob.resumes > 0 && cy.resumes > 0
	})
	time.Sleep(time.Second)
	close(stop)
	<-done
	checkNumbered(t, map[string]*talker{"Ada": ada, "Bob": bob, "Cy": cy, "Dee": dee}, false)
	agree(t, ada, bob, cy, dee)
	var redelivered int64
	for _, n := range nodes {
		redelivered += n.link.Stats().Redelivered
	}
	t.Logf("events the dead node never delivered, given to the new connections: %d", redelivered)
}

// kill -9 of the meeting's home while Ada and Bob, each on another node,
// exchange numbered messages; Hal, on the home, is in the meeting too.
func TestClusterNumberedThroughHomeKill(t *testing.T) {
	redisURL := startRedis(t)
	key := "cluster-test-resume-key-0123456789"
	n3, kill := startNodeProcess(t, append([]string{"--redis-url", redisURL, "--node-id", "n3", "--resume-key", key}, numberedArgs...)...)
	hal := newTalker(t, "Hal", "numbered-home", "")
	if !hal.join("http://" + n3) {
		t.Fatal("Hal could not join")
	}
	var nodes []*realServer
	for i := range 2 {
		nodes = append(nodes, startReal(t, testConfig(t, append([]string{"--redis-url", redisURL, "--node-id", fmt.Sprintf("n%d", i+1), "--resume-key", key}, numberedArgs...)...)))
	}
	url := startHAProxyFor(t, []string{nodes[0].Addr().String(), nodes[1].Addr().String(), n3})
	hal.url = url
	ada, bob := newTalker(t, "Ada", "numbered-home", url), newTalker(t, "Bob", "numbered-home", url)
	ada.peerName, bob.peerName = "Bob", "Ada"
	if !ada.join(nodes[0].url()) || !bob.join(nodes[1].url()) {
		t.Fatal("Ada or Bob could not join")
	}
	eventually(t, "Ada sees Bob", func() bool { ada.mu.Lock(); defer ada.mu.Unlock(); return ada.peerID != "" })
	stop := make(chan struct{})
	done := talk(stop, ada, bob)
	time.Sleep(time.Second)
	kill()
	within(t, 20*time.Second, "all resumed", func() bool {
		for _, k := range []*talker{ada, bob, hal} {
			k.mu.Lock()
			r := k.resumes
			k.mu.Unlock()
			if r == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("the meeting is on n%d now", homeOf(t, nodes, "numbered-home")+1)
	time.Sleep(time.Second)
	close(stop)
	<-done
	checkNumbered(t, map[string]*talker{"Ada": ada, "Bob": bob}, true)
	agree(t, ada, bob, hal)
}
