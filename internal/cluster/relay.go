package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Event is a message relayed from one node to another: a participant's
// signaling event on its way to the room's home node, or the home's answer
// on its way to the node holding the participant's socket. This package
// does not look into Type and Data.
type Event struct {
	// From is the sending node; set by Publish.
	From string
	// Seq numbers the events from From to this node, from 1, without gaps
	// unless the stream was trimmed past unread events; set by Publish.
	Seq uint64
	// Run tells From's processes apart (random, per process): a node
	// restarted under the same id numbers its events from 1 again, and its
	// peers must not take them for copies of the old process's. Set by
	// Publish.
	Run  uint64
	Room string
	Type string
	Data []byte
}

// ErrBacklog is returned by Publish when the events waiting for one node
// already fill Config.RelayBacklog (Redis has been unreachable for long):
// the event is not queued.
var ErrBacklog = errors.New("cluster: relay backlog full")

// group is the consumer group each node reads its own stream with: the
// pending-entries list keeps what was read but not acknowledged.
const group = "huddle"

// relayState is the relay's part of a Cluster.
type relayState struct {
	subMu   sync.Mutex // serializes Subscribe
	mu      sync.Mutex
	out     map[string]*outbox // by destination node
	seen    map[string]seen    // highest Seq delivered, by sender
	sub     context.CancelFunc // the running subscription's
	subDone chan struct{}      // closed when it ended
}

func (r *relayState) init() {
	r.out = map[string]*outbox{}
	r.seen = map[string]seen{}
}

// newRun is a process's Event.Run: random, never 0 (which stands for a
// sender that does not tell its runs apart).
func newRun() uint64 { return rand.Uint64() | 1 }

// seen is how far the events of one sender were delivered: up to seq of
// its process run; prev is the run before (a restart under the same id).
type seen struct{ run, seq, prev uint64 }

// outbox holds the events for one node in order until Redis took them.
type outbox struct {
	node  string
	mu    sync.Mutex
	seq   uint64
	queue []Event
	wake  chan struct{} // 1-buffered
	// expired is when send last set the stream's TTL (send's goroutine
	// only).
	expired time.Time
}

func (c *Cluster) streamKey(node string) string { return c.key("node", node, "events") }

// Publish queues ev for node and returns: a goroutine per destination adds
// queued events to the node's stream in order, retrying while Redis is
// unreachable, so an event once queued is delivered exactly once (see
// Subscribe) unless this process ends first. ev.From and ev.Seq are set
// here. The queue is bounded by RelayBacklog (ErrBacklog).
func (c *Cluster) Publish(ctx context.Context, node string, ev Event) error {
	if err := CheckNodeID(node); err != nil {
		return err
	}
	if c.ctx.Err() != nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	o := c.outbox(node)
	o.mu.Lock()
	if len(o.queue) >= c.cfg.RelayBacklog {
		o.mu.Unlock()
		return ErrBacklog
	}
	o.seq++
	ev.From, ev.Seq, ev.Run = c.cfg.NodeID, o.seq, c.run
	o.queue = append(o.queue, ev)
	o.mu.Unlock()
	c.stats.queued.Add(1)
	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

// Flush waits until every event queued for node so far is in its stream.
func (c *Cluster) Flush(ctx context.Context, node string) error {
	o := c.outbox(node)
	for {
		o.mu.Lock()
		n := len(o.queue)
		o.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.ctx.Done():
			return ErrClosed
		case <-time.After(5 * time.Millisecond):
		}
	}
}

func (c *Cluster) outbox(node string) *outbox {
	c.relay.mu.Lock()
	defer c.relay.mu.Unlock()
	o := c.relay.out[node]
	if o == nil {
		o = &outbox{node: node, wake: make(chan struct{}, 1)}
		c.relay.out[node] = o
		c.background(func() { c.send(o) }) // closed: events stay queued, unsent
	}
	return o
}

// relayRetryMax bounds the wait between tries of the relay's sender and
// reader while Redis is away: once it is back, go-redis itself may take up
// to a second to dial again (its pool's dial probe after repeated
// failures), and events across nodes are to flow within 2 s of Redis
// returning, with both a sender and a reader to get going. A failing try
// costs little: the pool answers at once while it probes.
const relayRetryMax = 150 * time.Millisecond

// sendBatch is how many queued events go in one transaction.
const sendBatch = 128

// send adds o's events to the node's stream, a batch per MULTI/EXEC, and
// drops them from the queue only once Redis has them. A batch that failed
// is sent again whole: entries that did land are then in the stream
// twice, with the same (From, Seq), and the receiver drops the copies.
func (c *Cluster) send(o *outbox) {
	backoff := 10 * time.Millisecond
	failing := false
	for {
		o.mu.Lock()
		batch := append([]Event(nil), o.queue[:min(len(o.queue), sendBatch)]...)
		o.mu.Unlock()
		if len(batch) == 0 {
			select {
			case <-c.ctx.Done():
				return
			case <-o.wake:
				continue
			}
		}
		err := c.xadd(o, batch)
		if err != nil {
			c.stats.redisErrors.Add(1)
			if c.ctx.Err() != nil {
				o.mu.Lock()
				if n := len(o.queue); n > 0 {
					c.log.Warn("cluster: relay closed with events unsent", "to", o.node, "events", n)
				}
				o.mu.Unlock()
				return
			}
			if !failing {
				c.log.Warn("cluster: relay to node failing, events wait", "to", o.node, "err", err)
				failing = true
			}
			select {
			case <-c.ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, relayRetryMax)
			continue
		}
		if failing {
			c.log.Info("cluster: relay to node back", "to", o.node)
			failing = false
		}
		backoff = 10 * time.Millisecond
		c.stats.sent.Add(int64(len(batch)))
		o.mu.Lock()
		// The sent events' slots are cleared: the queue's array lives on
		// until it is grown again, and would keep their data (a burst of
		// joins' answers) alive with it.
		clear(o.queue[:len(batch)])
		o.queue = o.queue[len(batch):]
		if len(o.queue) == 0 {
			o.queue = nil
		}
		o.mu.Unlock()
	}
}

// expireEvery is how often a sender renews the TTL of a stream it writes
// to: far less often than StateTTL, and not once per batch, which would
// double the Redis commands of a relayed event.
const expireEvery = time.Minute

// xadd writes a batch to o's stream in one round trip: one XADD per event,
// no transaction (a batch that fails is sent again whole and the receiver
// drops the copies), and now and then the stream's TTL.
func (c *Cluster) xadd(o *outbox, batch []Event) error {
	ctx, cancel := c.op(c.ctx)
	defer cancel()
	key := c.streamKey(o.node)
	expire := time.Since(o.expired) > expireEvery
	_, err := c.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, ev := range batch {
			p.XAdd(ctx, &redis.XAddArgs{
				Stream: key, MaxLen: c.cfg.StreamMaxLen, Approx: true,
				Values: []any{"f", ev.From, "s", strconv.FormatUint(ev.Seq, 10), "p", strconv.FormatUint(ev.Run, 10), "r", ev.Room, "t", ev.Type, "d", ev.Data},
			})
		}
		if expire {
			// The stream of a node that died without Close goes in time.
			p.PExpire(ctx, key, c.cfg.StateTTL)
		}
		return nil
	})
	if err == nil && expire {
		o.expired = time.Now()
	}
	return err
}

// Subscribe delivers the events sent to this node, each exactly once and,
// per sender, in order: it reads the node's stream through a consumer
// group, acknowledges (XACK) an entry only after handing it over, reads
// what was handed out but not acknowledged again after a reconnect, and
// drops entries whose (From, Seq) was delivered before. The channel is
// closed when ctx ends or the cluster closes. One subscription at a time:
// a new one ends the previous first.
func (c *Cluster) Subscribe(ctx context.Context) <-chan Event {
	ch := make(chan Event)
	c.relay.subMu.Lock()
	defer c.relay.subMu.Unlock()
	c.relay.mu.Lock()
	prevCancel, prevDone := c.relay.sub, c.relay.subDone
	c.relay.mu.Unlock()
	if prevCancel != nil {
		prevCancel()
		<-prevDone
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	c.relay.mu.Lock()
	c.relay.sub, c.relay.subDone = cancel, done
	c.relay.mu.Unlock()
	started := c.background(func() {
		defer close(done)
		defer close(ch)
		stop := context.AfterFunc(c.ctx, cancel)
		defer stop()
		defer cancel()
		c.receive(sctx, ch)
	})
	if !started {
		cancel()
		close(done)
		close(ch)
	}
	return ch
}

func (c *Cluster) receive(ctx context.Context, ch chan<- Event) {
	key := c.streamKey(c.cfg.NodeID)
	backoff := 10 * time.Millisecond
	pending := true // first what an earlier subscription read but did not ack
	failing := false
	for ctx.Err() == nil {
		id := ">"
		if pending {
			id = "0"
		}
		res, err := c.blk.XReadGroup(ctx, &redis.XReadGroupArgs{
			Group: group, Consumer: c.cfg.NodeID, Streams: []string{key, id},
			Count: 256, Block: c.cfg.StreamBlock,
		}).Result()
		switch {
		case errors.Is(err, redis.Nil):
			continue // nothing within StreamBlock
		case err != nil && strings.HasPrefix(err.Error(), "NOGROUP"):
			// New stream, or Redis restarted without its data.
			err = c.createGroup(ctx, key)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.stats.redisErrors.Add(1)
			if !failing {
				c.log.Warn("cluster: reading relayed events failing", "err", err)
				failing = true
			}
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, relayRetryMax)
			continue
		}
		if res == nil {
			continue // the group was just created
		}
		failing, backoff = false, 10*time.Millisecond
		var msgs []redis.XMessage
		for _, s := range res {
			msgs = append(msgs, s.Messages...)
		}
		if pending && len(msgs) == 0 {
			pending = false
			continue
		}
		acked := c.deliver(ctx, key, msgs, ch)
		if !acked {
			return
		}
	}
}

func (c *Cluster) createGroup(ctx context.Context, key string) error {
	octx, cancel := c.op(ctx)
	defer cancel()
	err := c.rdb.XGroupCreateMkStream(octx, key, group, "0").Err()
	if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
		return fmt.Errorf("cluster: create stream group: %w", err)
	}
	return nil
}

// deliver hands msgs over in order, skipping duplicates, then acknowledges
// those handed over (or skipped). It reports false when ctx ended first;
// what was handed over is acknowledged even then.
func (c *Cluster) deliver(ctx context.Context, key string, msgs []redis.XMessage, ch chan<- Event) bool {
	var done []string
	defer func() {
		if len(done) > 0 {
			// An ack that fails only means the entries come again after a
			// reconnect, to be dropped as duplicates.
			actx, cancel := c.op(context.WithoutCancel(ctx))
			defer cancel()
			if err := c.rdb.XAck(actx, key, group, done...).Err(); err != nil {
				c.log.Debug("cluster: ack relayed events", "err", err)
			}
		}
	}()
	for _, m := range msgs {
		ev, ok := decodeEvent(m.Values)
		if !ok {
			c.log.Warn("cluster: dropping malformed relayed event", "id", m.ID)
			done = append(done, m.ID)
			continue
		}
		c.relay.mu.Lock()
		from := c.relay.seen[ev.From]
		c.relay.mu.Unlock()
		switch {
		case ev.Run == from.run:
		case ev.Run == from.prev && from.prev != from.run:
			// The sender's former process, after its successor spoke: its
			// events came before the successor's in the stream, so this is
			// a late copy.
			done = append(done, m.ID)
			c.stats.duplicates.Add(1)
			continue
		default:
			// Restarted under the same id: numbered from 1 again. (Runs are
			// random, not times, so that a clock set back cannot make a new
			// process look like an old one.)
			from = seen{run: ev.Run, prev: from.run}
		}
		last := from.seq
		if ev.Seq <= last {
			done = append(done, m.ID) // a duplicate of one delivered
			c.stats.duplicates.Add(1)
			continue
		}
		if ev.Seq > last+1 && last > 0 {
			c.stats.missing.Add(int64(ev.Seq - last - 1))
			c.log.Warn("cluster: relayed events missing (stream trimmed?)", "from", ev.From, "after", last, "got", ev.Seq)
		}
		select {
		case ch <- ev:
		case <-ctx.Done():
			return false
		}
		c.relay.mu.Lock()
		c.relay.seen[ev.From] = seen{run: ev.Run, seq: ev.Seq, prev: from.prev}
		c.relay.mu.Unlock()
		c.stats.delivered.Add(1)
		done = append(done, m.ID)
	}
	return true
}

func decodeEvent(v map[string]any) (Event, bool) {
	str := func(k string) string { s, _ := v[k].(string); return s }
	seq, err := strconv.ParseUint(str("s"), 10, 64)
	if err != nil || seq == 0 || str("f") == "" {
		return Event{}, false
	}
	run, _ := strconv.ParseUint(str("p"), 10, 64) // 0 from a node before runs were told apart
	return Event{From: str("f"), Seq: seq, Run: run, Room: str("r"), Type: str("t"), Data: []byte(str("d"))}, true
}
