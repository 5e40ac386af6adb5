package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// undeliveredScan bounds how many stream entries Undelivered reads.
const undeliveredScan = 10000

// Undelivered returns the events this node sent to node that node has not
// handed over, in order: those still queued here are first written to its
// stream, then the entries that node never read or read without
// acknowledging are the ones it did not deliver. keep filters them.
//
// When node died (kill -9) or a client it held moved to another node, this
// is what the client missed: the caller delivers it there instead. A node
// that is alive may still deliver these entries itself (to a client that
// is gone, usually); the caller decides whether that matters.
func (c *Cluster) Undelivered(ctx context.Context, node string, keep func(Event) bool) ([]Event, error) {
	if err := CheckNodeID(node); err != nil {
		return nil, err
	}
	if err := c.Flush(ctx, node); err != nil {
		return nil, fmt.Errorf("cluster: undelivered: flush to %s: %w", node, err)
	}
	ctx, cancel := c.op(ctx)
	defer cancel()
	key := c.streamKey(node)
	last := "0-0" // no group yet: nothing was read
	groups, err := c.rdb.XInfoGroups(ctx, key).Result()
	switch {
	case err != nil && (errors.Is(err, redis.Nil) || strings.Contains(err.Error(), "no such key")):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("cluster: undelivered: %w", err)
	}
	for _, g := range groups {
		if g.Name == group {
			last = g.LastDeliveredID
		}
	}
	pending := map[string]bool{}
	start := "(" + last
	if p, err := c.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{Stream: key, Group: group, Start: "-", End: "+", Count: undeliveredScan}).Result(); err == nil {
		for i, e := range p {
			pending[e.ID] = true
			if i == 0 {
				start = e.ID
			}
		}
	} else if !errors.Is(err, redis.Nil) && !strings.HasPrefix(err.Error(), "NOGROUP") {
		return nil, fmt.Errorf("cluster: undelivered: %w", err)
	}
	msgs, err := c.rdb.XRangeN(ctx, key, start, "+", undeliveredScan).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster: undelivered: %w", err)
	}
	var out []Event
	for _, m := range msgs {
		if !pending[m.ID] && !idAfter(m.ID, last) {
			continue // read and acknowledged: delivered
		}
		ev, ok := decodeEvent(m.Values)
		if ok && ev.From == c.cfg.NodeID && (keep == nil || keep(ev)) {
			out = append(out, ev)
		}
	}
	return out, nil
}

// idAfter reports whether stream entry id a comes after b.
func idAfter(a, b string) bool {
	var am, as, bm, bs uint64
	fmt.Sscanf(a, "%d-%d", &am, &as)
	fmt.Sscanf(b, "%d-%d", &bm, &bs)
	return am > bm || am == bm && as > bs
}
