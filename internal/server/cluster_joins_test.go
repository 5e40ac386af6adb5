package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// 1,000 participants join 100 new meetings at once, each meeting's ten
// spread over three nodes: every join succeeds, and every meeting has
// exactly one home: the node holding its lease is the only one whose
// signaling has the meeting, with all ten in it; the other nodes relay.
func TestClusterConcurrentJoinsOneHomePerRoom(t *testing.T) {
	const rooms, per = 100, 10
	nodes := startClusterNodes(t, startRedis(t), 3, "--max-conns-per-ip", "0", "--max-tcp-per-ip", "0", "--max-sessions-per-ip", "0",
		"--max-participants-per-ip", "0", "--rooms-per-ip-per-minute", "0", "--max-participants", "10", "--mesh-max-participants", "10", "--log-level", "info")
	clients := make([]*sioclient.Client, rooms*per)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var dialErr, dropped atomic.Value
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dial(t, nodes[i%3].url(), sioclient.Options{Transport: sioclient.WebSocket,
				OnDisconnect: func(_ *sioclient.Client, err error) { dropped.CompareAndSwap(nil, fmt.Sprint(err)) }})
			if err != nil {
				dialErr.Store(err)
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	if err := dialErr.Load(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	go1 := make(chan struct{})
	var failed atomic.Int64
	var firstErr atomic.Value
	for i, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-go1
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": fmt.Sprintf("jam-%02d", i%rooms), "name": fmt.Sprint("p", i)})
			if err == nil && (len(res) == 0 || !strings.Contains(string(res[0]), `"ok":true`)) {
				err = fmt.Errorf("join refused: %s", res)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	close(go1)
	wg.Wait()
	t.Logf("%d joins to %d new meetings over 3 nodes in %v", len(clients), rooms, time.Since(start).Round(time.Millisecond))
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d joins failed, first: %v; a client dropped: %v", n, firstErr.Load(), dropped.Load())
	}
	homes := map[string]int{}
	for r := range rooms {
		id := fmt.Sprintf("jam-%02d", r)
		owner := nodes[homeOf(t, nodes, id)].cluster.NodeID()
		homes[owner]++
		var holders []string
		for _, n := range nodes {
			info, err := n.clusterSig.Load().GetRoom(id)
			if err != nil {
				continue
			}
			holders = append(holders, n.cluster.NodeID())
			if len(info.Members) != per {
				t.Errorf("%s on %s has %d members, want %d", id, n.cluster.NodeID(), len(info.Members), per)
			}
		}
		if len(holders) != 1 || holders[0] != owner {
			t.Errorf("%s: lease held by %s, meeting served by %v", id, owner, holders)
		}
	}
	leased := 0
	for _, n := range nodes {
		leased += n.link.Stats().Rooms
	}
	t.Logf("homes per node: %v", homes)
	if leased != rooms {
		t.Errorf("leases held: %d, want %d", leased, rooms)
	}
}
