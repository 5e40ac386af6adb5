package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// Node is a live node as its last heartbeat described it.
type Node struct {
	ID  string `json:"id"`
	URL string `json:"url,omitempty"`
	Load
	// Beat is when the node wrote this, by its own clock.
	Beat time.Time `json:"beat"`
}

// Beat writes this node's presence and load now. The heartbeat loop calls
// it every HeartbeatInterval; call it after a change that other nodes
// should see at once (draining, for one).
func (c *Cluster) Beat(ctx context.Context) error {
	n := Node{ID: c.cfg.NodeID, URL: c.cfg.NodeURL, Beat: time.Now()}
	if c.cfg.Load != nil {
		n.Load = c.cfg.Load()
	}
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	ctx, cancel := c.op(ctx)
	defer cancel()
	_, err = c.rdb.TxPipelined(ctx, func(p redisPipe) error {
		p.Set(ctx, c.nodeKey(n.ID), b, c.cfg.NodeTTL)
		p.SAdd(ctx, c.key("nodes"), n.ID)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	return nil
}

func (c *Cluster) heartbeatLoop() {
	t := time.NewTicker(c.cfg.HeartbeatInterval)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		err := c.Beat(c.ctx)
		if err != nil {
			c.stats.redisErrors.Add(1)
		} else {
			c.stats.beatLatency.Store(int64(time.Since(start)))
		}
		switch {
		case err != nil && !failing && c.ctx.Err() == nil:
			// Logged once per outage, not every second.
			c.log.Warn("cluster: heartbeat failing", "err", err)
			failing = true
		case err == nil && failing:
			c.log.Info("cluster: heartbeat back")
			failing = false
		}
	}
}

// Nodes lists the live nodes (those whose heartbeat key has not expired),
// sorted by ID. IDs whose key is gone are pruned from the set.
func (c *Cluster) Nodes(ctx context.Context) ([]Node, error) {
	ctx, cancel := c.op(ctx)
	defer cancel()
	ids, err := c.rdb.SMembers(ctx, c.key("nodes")).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = c.nodeKey(id)
	}
	vals, err := c.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: nodes: %w", err)
	}
	var nodes []Node
	var gone []any
	for i, v := range vals {
		s, ok := v.(string)
		if !ok {
			gone = append(gone, ids[i])
			continue
		}
		var n Node
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			c.log.Warn("cluster: bad node record", "id", ids[i], "err", err)
			continue
		}
		nodes = append(nodes, n)
	}
	if len(gone) > 0 {
		// A node that beats again re-adds itself, so a race here only
		// hides it until its next heartbeat.
		_ = c.rdb.SRem(ctx, c.key("nodes"), gone...).Err()
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	return nodes, nil
}

// PlaceRoom chooses the home node of a new room: of two live, non-draining
// nodes picked at random, the one with fewer participants (then rooms).
// Two random choices rather than the least loaded of all keeps nodes that
// place rooms at the same moment from all picking the same one. With one
// candidate it is chosen; with none, ErrNoNodes (the caller then keeps the
// room itself).
func (c *Cluster) PlaceRoom(ctx context.Context) (string, error) {
	nodes, err := c.Nodes(ctx)
	if err != nil {
		return "", err
	}
	return placeAmong(nodes, rand.IntN)
}

func placeAmong(nodes []Node, intn func(int) int) (string, error) {
	var live []Node
	for _, n := range nodes {
		if !n.Draining {
			live = append(live, n)
		}
	}
	switch len(live) {
	case 0:
		return "", ErrNoNodes
	case 1:
		return live[0].ID, nil
	}
	i := intn(len(live))
	j := intn(len(live) - 1)
	if j >= i {
		j++ // two distinct nodes
	}
	a, b := live[i], live[j]
	if less(b.Load, a.Load) {
		return b.ID, nil
	}
	return a.ID, nil
}

func less(a, b Load) bool {
	if a.Participants != b.Participants {
		return a.Participants < b.Participants
	}
	return a.Rooms < b.Rooms
}

// sortParticipants orders by join time, then ID (stable for ties).
func sortParticipants(ps []Participant) {
	sort.Slice(ps, func(i, j int) bool {
		if !ps[i].JoinedAt.Equal(ps[j].JoinedAt) {
			return ps[i].JoinedAt.Before(ps[j].JoinedAt)
		}
		return ps[i].ID < ps[j].ID
	})
}
