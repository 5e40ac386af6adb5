package server

import (
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// The same meeting started on two nodes while Redis is down: each node
// serves its own copy, alone, as an outage asks. When Redis returns, one
// node claims the meeting and the other, finding it owned, sends its
// members away; they come back through either node into the one meeting
// (as newcomers: the winner never knew them), see the winner's members,
// and chat reaches everyone once.
func TestClusterSameMeetingStartedTwiceDuringOutage(t *testing.T) {
	rp := startRedisKept(t)
	nodes := startClusterNodes(t, rp.url, 2)
	rp.kill()

	gone := make([]chan struct{}, 2)
	people := make([]*member, 2)
	ids := make([]joined, 2)
	for i, name := range []string{"Gus", "Ivy"} {
		gone[i] = make(chan struct{}, 1)
		ch := gone[i]
		people[i] = connectMember(t, nodes[i].url(), sioclient.WebSocket, func(o *sioclient.Options) {
			o.OnDisconnect = func(*sioclient.Client, error) { ch <- struct{}{} }
		})
		people[i].ask(&ids[i], "join-room", map[string]string{"room": "split", "name": name})
		if len(ids[i].Peers) != 0 {
			t.Fatalf("%s's peers during the outage %+v: each node serves its own copy", name, ids[i].Peers)
		}
	}

	rp.start()
	back := time.Now()
	// One of them is sent away; the other stays.
	var lost int
	select {
	case <-gone[0]:
		lost = 0
	case <-gone[1]:
		lost = 1
	case <-time.After(10 * time.Second):
		t.Fatal("both copies of the meeting still live 10 s after Redis returned")
	}
	kept := 1 - lost
	t.Logf("Redis back; %s's copy gave way to the one on n%d after %v", []string{"Gus", "Ivy"}[lost], kept+1, time.Since(back).Round(time.Millisecond))
	if home := homeOf(t, nodes, "split"); home != kept {
		t.Fatalf("the meeting's home is n%d, but n%d kept its members", home+1, kept+1)
	}
	select {
	case <-gone[kept]:
		t.Fatal("the winner's member was sent away too")
	case <-time.After(500 * time.Millisecond):
	}

	// Back through the node that lost the meeting: relayed to the winner.
	name := []string{"Gus", "Ivy"}[lost]
	again, ack := rejoin(t, nodes[lost].url(), "split", name, ids[lost].ResumeToken)
	if len(ack.Peers) != 1 || ack.Peers[0].ID != ids[kept].ID {
		t.Fatalf("%s is back with peers %+v, want %s alone", name, ack.Peers, ids[kept].ID)
	}
	people[kept].await("user-joined", ack.ID)
	people[kept].ask(nil, "chat-message", map[string]string{"text": "one meeting again"})
	again.await("chat-message", "one meeting again")
	again.ask(nil, "chat-message", map[string]string{"text": "and back"})
	people[kept].await("chat-message", "and back")
	time.Sleep(300 * time.Millisecond) // a copy would arrive by now
	if n := countWith(people[kept], "chat-message", "and back") + countWith(again, "chat-message", "one meeting again"); n != 2 {
		t.Errorf("the two messages arrived %d times in all, want once each", n)
	}
}
