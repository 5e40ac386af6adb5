package cluster

import (
	"context"
	"fmt"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// expectEvents reads n events from ch and checks they are from's seqs
// first..first+n-1 in order, with matching payloads.
func expectEvents(t *testing.T, ch <-chan Event, from string, first, n int) {
	t.Helper()
	for i := range n {
		want := uint64(first + i)
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("channel closed before event %d", want)
			}
			if ev.From != from || ev.Seq != want || string(ev.Data) != fmt.Sprint(want) || ev.Room != "r" || ev.Type != "chat" {
				t.Fatalf("event %+v (data %q), want %s #%d", ev, ev.Data, from, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("event %d did not arrive", want)
		}
	}
}

func expectNone(t *testing.T, ch <-chan Event, d time.Duration) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %+v (duplicate?)", ev)
	case <-time.After(d):
	}
}

func publishN(t *testing.T, c *Cluster, to string, first, n int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := c.Publish(context.Background(), to, Event{Room: "r", Type: "chat", Data: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
}

// Events arrive once each, in order, across a reconnect of the reader:
// what it had read but not handed over comes again, what it had handed
// over does not, and copies of an entry (a sender's retry) are dropped.
func TestRelayExactlyOnceAcrossReconnect(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	publishN(t, a, "b", 1, 100)
	sctx, stop := context.WithCancel(ctx)
	ch := b.Subscribe(sctx)
	expectEvents(t, ch, "a", 1, 40)
	// The reader goes away with events read from Redis (a batch of up to
	// 256) but not taken from the channel.
	stop()
	next := uint64(41)
	for ev := range ch {
		// The channel may still hand over one or two before it closes;
		// those count as delivered. What it held back is not acknowledged.
		if ev.Seq != next {
			t.Fatalf("drained event %d, want %d", ev.Seq, next)
		}
		next++
	}
	publishN(t, a, "b", 101, 50)
	if err := a.Flush(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	// A sender's retry after a lost reply: the same (From, Seq) again.
	err := r.client().XAdd(ctx, &redis.XAddArgs{Stream: "huddle:node:b:events",
		Values: []any{"f", "a", "s", "7", "r", "r", "t", "chat", "d", "7"}}).Err()
	if err != nil {
		t.Fatal(err)
	}
	ch = b.Subscribe(ctx)
	expectEvents(t, ch, "a", int(next), 150-int(next)+1)
	expectNone(t, ch, 300*time.Millisecond)
	if s := b.Stats(); s.EventsDelivered != 150 || s.Duplicates < 1 || s.Missing != 0 {
		t.Fatalf("receiver stats %+v, want 150 delivered, a duplicate, none missing", s)
	}
	if s := a.Stats(); s.EventsQueued != 150 || s.EventsSent != 150 || s.Backlog != 0 {
		t.Fatalf("sender stats %+v, want 150 queued and sent, no backlog", s)
	}
	// Everything is acknowledged: nothing pending in the group.
	waitFor(t, time.Second, func() bool {
		p, err := r.client().XPending(ctx, "huddle:node:b:events", group).Result()
		return err == nil && p.Count == 0
	})
}

// Events published while Redis is frozen wait in the sender's buffer and
// flow once it answers again; a Redis that restarts without its data
// (stream and group gone) is caught up with too.
func TestRelaySurvivesRedisOutageAndRestart(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	ch := b.Subscribe(ctx)
	publishN(t, a, "b", 1, 10)
	expectEvents(t, ch, "a", 1, 10)

	r.signal(syscall.SIGSTOP)
	publishN(t, a, "b", 11, 20) // queued, not sent
	time.Sleep(300 * time.Millisecond)
	r.signal(syscall.SIGCONT)
	back := time.Now()
	expectEvents(t, ch, "a", 11, 20)
	if d := time.Since(back); d > 2*time.Second {
		t.Fatalf("events flowed %v after Redis came back, want within 2s", d)
	}

	r.kill()
	publishN(t, a, "b", 31, 20) // Redis down: queued
	time.Sleep(300 * time.Millisecond)
	r.start() // same port, empty
	back = time.Now()
	expectEvents(t, ch, "a", 31, 20)
	if d := time.Since(back); d > 2*time.Second {
		t.Fatalf("events flowed %v after Redis restarted, want within 2s", d)
	}
	expectNone(t, ch, 300*time.Millisecond)
}

// Events go only to the node named: a third node's stream stays empty.
func TestRelayIsNotBroadcast(t *testing.T) {
	r := startRedis(t)
	a, b, c := newNode(t, r, "a"), newNode(t, r, "b"), newNode(t, r, "c")
	ctx := bg(t)
	chC := c.Subscribe(ctx)
	publishN(t, a, "b", 1, 5)
	expectEvents(t, b.Subscribe(ctx), "a", 1, 5)
	expectNone(t, chC, 200*time.Millisecond)
	if n, _ := r.client().XLen(ctx, "huddle:node:c:events").Result(); n != 0 {
		t.Fatalf("c's stream has %d entries", n)
	}
	if ttl, _ := r.client().PTTL(ctx, "huddle:node:b:events").Result(); ttl <= 0 {
		t.Fatalf("b's stream TTL %v, want one (a dead node's stream must go)", ttl)
	}
	b.Close()
	if n, _ := r.client().Exists(ctx, "huddle:node:b:events").Result(); n != 0 {
		t.Fatal("b's stream left after Close")
	}
}

// The buffer for an unreachable Redis is bounded.
func TestRelayBacklogBounded(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a", func(c *Config) { c.RelayBacklog = 5 })
	r.signal(syscall.SIGSTOP)
	defer r.signal(syscall.SIGCONT)
	var err error
	for i := 0; i < 10 && err == nil; i++ {
		err = a.Publish(context.Background(), "b", Event{Type: "x"})
	}
	if err != ErrBacklog {
		t.Fatalf("Publish with a full backlog: %v, want ErrBacklog", err)
	}
}

// After Close nothing starts: Claim and Publish say ErrClosed, Subscribe's
// channel is closed; Close returns within the op timeout with Redis dead.
func TestCloseWithRedisDead(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a")
	ch := a.Subscribe(context.Background())
	if _, err := a.Claim(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	r.kill()
	start := time.Now()
	if err := a.Close(); err != nil {
		t.Logf("Close: %v", err)
	}
	if d := time.Since(start); d > a.cfg.OpTimeout+time.Second {
		t.Fatalf("Close took %v with Redis dead", d)
	}
	if _, ok := <-ch; ok {
		t.Fatal("subscription channel open after Close")
	}
	if _, err := a.Claim(context.Background(), "r2"); err != ErrClosed {
		t.Fatalf("Claim after Close: %v", err)
	}
	if err := a.Publish(context.Background(), "b", Event{}); err != ErrClosed {
		t.Fatalf("Publish after Close: %v", err)
	}
	if _, ok := <-a.Subscribe(context.Background()); ok {
		t.Fatal("Subscribe after Close gave an open channel")
	}
}

// Close ends a subscription blocked in a stream read at once, not after
// StreamBlock (a node's shutdown waited for it).
func TestCloseEndsBlockedRead(t *testing.T) {
	r := startRedis(t)
	c := newNode(t, r, "blocked", func(cfg *Config) { cfg.StreamBlock = 4 * time.Second })
	ch := c.Subscribe(context.Background())
	time.Sleep(300 * time.Millisecond) // in XREADGROUP BLOCK by now
	start := time.Now()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	if _, ok := <-ch; ok {
		t.Fatal("subscription still open")
	}
}

// Undelivered is what the receiver never handed over: entries it never
// read and entries it read without acknowledging, from this sender only,
// in order; what it handed over is not in it.
func TestUndelivered(t *testing.T) {
	r := startRedis(t)
	a, b, c := newNode(t, r, "a"), newNode(t, r, "b"), newNode(t, r, "c")
	ctx := bg(t)
	if evs, err := a.Undelivered(ctx, "b", nil); err != nil || len(evs) != 0 {
		t.Fatalf("before any event: %v %v", evs, err)
	}
	sctx, stop := context.WithCancel(ctx)
	ch := b.Subscribe(sctx)
	publishN(t, a, "b", 1, 10)
	expectEvents(t, ch, "a", 1, 10)
	stop()
	for range ch {
	}
	// b is gone (as if killed): 11-15 read but not acknowledged, 16-20
	// never read; c's events are not a's business.
	publishN(t, a, "b", 11, 10)
	publishN(t, c, "b", 1, 3)
	if err := a.Flush(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := c.Flush(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := r.client().XReadGroup(ctx, &redis.XReadGroupArgs{Group: group, Consumer: "b", Streams: []string{"huddle:node:b:events", ">"}, Count: 5}).Err(); err != nil {
		t.Fatal(err)
	}
	evs, err := a.Undelivered(ctx, "b", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, string(ev.Data))
	}
	if fmt.Sprint(got) != "[11 12 13 14 15 16 17 18 19 20]" {
		t.Fatalf("undelivered %v, want 11-20", got)
	}
	odd, _ := a.Undelivered(ctx, "b", func(ev Event) bool { n, _ := strconv.Atoi(string(ev.Data)); return n%2 == 1 })
	if len(odd) != 5 || string(odd[0].Data) != "11" {
		t.Fatalf("filtered: %v", odd)
	}
}

// A node restarted under the same id (a fixed --node-id) numbers its
// events from 1 again: its peers take them as a new process's, not as
// copies of what the old one sent (which dropped every event of the
// restarted node until its numbers passed the old ones).
func TestRelayNodeRestartedUnderSameID(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	ch := b.Subscribe(ctx)
	publishN(t, a, "b", 1, 5)
	expectEvents(t, ch, "a", 1, 5)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	again := newNode(t, r, "a")
	publishN(t, again, "b", 1, 3)
	expectEvents(t, ch, "a", 1, 3)
	// The old process's numbering does not come back: a late copy of its
	// last event is dropped.
	err := r.client().XAdd(ctx, &redis.XAddArgs{Stream: "huddle:node:b:events",
		Values: []any{"f", "a", "s", "5", "p", strconv.FormatUint(a.run, 10), "r", "r", "t", "chat", "d", "5"}}).Err()
	if err != nil {
		t.Fatal(err)
	}
	publishN(t, again, "b", 4, 1)
	expectEvents(t, ch, "a", 4, 1)
	expectNone(t, ch, 300*time.Millisecond)
}
