package cluster

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// loadOf is a Config.Load set from a test.
type loadOf struct{ rooms, parts, draining atomic.Int64 }

func (l *loadOf) fn() func() Load {
	return func() Load {
		return Load{Rooms: int(l.rooms.Load()), Participants: int(l.parts.Load()), Draining: l.draining.Load() == 1}
	}
}

// Nodes lists live nodes with the load of their last heartbeat; a closed
// node is gone at once, one that stops beating after NodeTTL.
func TestNodesAndLoad(t *testing.T) {
	r := startRedis(t)
	var la, lb loadOf
	la.rooms.Store(2)
	la.parts.Store(7)
	a := newNode(t, r, "a", func(c *Config) { c.Load = la.fn() })
	b := newNode(t, r, "b", func(c *Config) { c.Load = lb.fn() })
	ctx := bg(t)
	nodes, err := a.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 2 || nodes[0].ID != "a" || nodes[1].ID != "b" {
		t.Fatalf("nodes %+v, want a and b", nodes)
	}
	if nodes[0].URL != "http://a.test" || nodes[0].Rooms != 2 || nodes[0].Participants != 7 {
		t.Fatalf("node a %+v", nodes[0])
	}
	// Load changes show with the next heartbeat.
	lb.parts.Store(3)
	waitFor(t, time.Second, func() bool {
		ns, _ := a.Nodes(ctx)
		return len(ns) == 2 && ns[1].Participants == 3
	})
	waitFor(t, time.Second, func() bool { return a.Stats().RedisLatency > 0 })
	// A node that stops beating (its process froze) leaves the list after
	// NodeTTL without anyone removing it.
	b.cancel()
	b.wg.Wait()
	waitFor(t, b.cfg.NodeTTL+500*time.Millisecond, func() bool {
		ns, _ := a.Nodes(ctx)
		return len(ns) == 1 && ns[0].ID == "a"
	})
	// Close removes a node at once.
	c := newNode(t, r, "c")
	if ns, _ := a.Nodes(ctx); len(ns) != 2 {
		t.Fatalf("nodes after c joined: %+v", ns)
	}
	c.Close()
	if ns, _ := a.Nodes(ctx); len(ns) != 1 {
		t.Fatalf("nodes after c closed: %+v", ns)
	}
}

// PlaceRoom gives a new room to the less loaded of two nodes, never to a
// draining one.
func TestPlaceRoomPicksLessLoaded(t *testing.T) {
	r := startRedis(t)
	var la, lb loadOf
	la.parts.Store(10)
	lb.parts.Store(2)
	a := newNode(t, r, "a", func(c *Config) { c.Load = la.fn() })
	newNode(t, r, "b", func(c *Config) { c.Load = lb.fn() })
	ctx := bg(t)
	for range 20 {
		if id, err := a.PlaceRoom(ctx); err != nil || id != "b" {
			t.Fatalf("PlaceRoom = %q %v, want b (2 participants against 10)", id, err)
		}
	}
	lb.draining.Store(1)
	if err := a.Beat(ctx); err != nil { // a's own beat; b's loop beats soon
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool {
		id, _ := a.PlaceRoom(ctx)
		return id == "a"
	})
	for range 20 {
		if id, _ := a.PlaceRoom(ctx); id != "a" {
			t.Fatalf("PlaceRoom chose draining node %q", id)
		}
	}
}

// The two-choices rule on its own: of any pair drawn, the lighter wins
// (participants first, then rooms); the heaviest of three is never picked.
func TestPlaceAmong(t *testing.T) {
	nodes := []Node{
		{ID: "heavy", Load: Load{Participants: 50}},
		{ID: "light", Load: Load{Participants: 1, Rooms: 5}},
		{ID: "lighter", Load: Load{Participants: 1, Rooms: 1}},
		{ID: "off", Load: Load{Draining: true}},
	}
	seen := map[string]int{}
	for i := range 3 {
		for j := range 2 {
			draws := []int{i, j}
			id, err := placeAmong(nodes, func(int) int { d := draws[0]; draws = draws[1:]; return d })
			if err != nil {
				t.Fatal(err)
			}
			seen[id]++
		}
	}
	if seen["heavy"] != 0 || seen["off"] != 0 {
		t.Fatalf("choices %v: heaviest or draining node picked", seen)
	}
	if seen["lighter"] != 4 || seen["light"] != 2 {
		t.Fatalf("choices %v, want lighter 4 (every pair with it), light 2", seen)
	}
	if _, err := placeAmong([]Node{{ID: "x", Load: Load{Draining: true}}}, nil); !errors.Is(err, ErrNoNodes) {
		t.Fatalf("no live node: %v", err)
	}
}

func waitFor(t *testing.T, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
