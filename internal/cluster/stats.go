package cluster

import (
	"sync/atomic"
	"time"
)

// counters are the cluster's running counts (see Stats).
type counters struct {
	redisErrors, queued, sent, delivered, duplicates, missing, fenced atomic.Int64
	beatLatency                                                       atomic.Int64 // ns
}

// Stats are counts since New, for /metrics.
type Stats struct {
	// RedisErrors counts failed Redis round trips of the background work
	// (heartbeats, renewals, relay).
	RedisErrors int64
	// EventsQueued, EventsSent and EventsDelivered count relayed events
	// given to Publish, added to a stream, and handed to Subscribe's reader.
	EventsQueued, EventsSent, EventsDelivered int64
	// Duplicates are relayed events dropped as already delivered; Missing
	// are sequence numbers never seen (a stream trimmed past them).
	Duplicates, Missing int64
	// Fenced counts writes and renewals refused because another node owns
	// the room.
	Fenced int64
	// RedisLatency is the round trip of the last successful heartbeat.
	RedisLatency time.Duration
	// Backlog is how many events wait to be sent now; Leases how many rooms
	// this node owns now.
	Backlog, Leases int
}

// Stats returns the counts so far.
func (c *Cluster) Stats() Stats {
	s := Stats{
		RedisErrors: c.stats.redisErrors.Load(), EventsQueued: c.stats.queued.Load(),
		EventsSent: c.stats.sent.Load(), EventsDelivered: c.stats.delivered.Load(),
		Duplicates: c.stats.duplicates.Load(), Missing: c.stats.missing.Load(), Fenced: c.stats.fenced.Load(),
		RedisLatency: time.Duration(c.stats.beatLatency.Load()),
	}
	c.mu.Lock()
	s.Leases = len(c.leases)
	c.mu.Unlock()
	c.relay.mu.Lock()
	outs := make([]*outbox, 0, len(c.relay.out))
	for _, o := range c.relay.out {
		outs = append(outs, o)
	}
	c.relay.mu.Unlock()
	for _, o := range outs {
		o.mu.Lock()
		s.Backlog += len(o.queue)
		o.mu.Unlock()
	}
	return s
}
