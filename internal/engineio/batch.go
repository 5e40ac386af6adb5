package engineio

import "sync"

// writeBatch holds back the writes that the frames of one read cause
// until the handler of the last has returned, so that what they send one
// session leaves in one write: a burst of ICE candidates read together goes
// out together. On loopback a write costs about as much as handling the
// message that caused it.
//
// A session joins the step's batch with its first write (Session.corked);
// from then on every write to it, from the step or from anyone, waits in
// its queue, so its messages keep the order they were sent in. flush
// writes the queues. Only the read step that owns the batch calls start
// and flush; any goroutine may join.
type writeBatch struct {
	mu       sync.Mutex
	open     bool
	sessions []*Session
	queues   [][]Packet // empty queues for the sessions that join

	spare []*Session // the owner's: the slice flush last emptied
	freed [][]Packet // the owner's: the queues flush emptied
}

// maxKeptQueue is the capacity past which a queue is not reused.
const maxKeptQueue = 64

// start opens the batch for a step.
func (b *writeBatch) start() {
	b.mu.Lock()
	b.open = true
	b.mu.Unlock()
}

// join adds s, whose lock the caller holds, and gives it a queue if it
// has none. False means the step has ended: write now.
func (b *writeBatch) join(s *Session) bool {
	b.mu.Lock()
	ok := b.open
	if ok {
		b.sessions = append(b.sessions, s)
		if s.queue == nil && len(b.queues) > 0 {
			s.queue = b.queues[len(b.queues)-1]
			b.queues = b.queues[:len(b.queues)-1]
		}
	}
	b.mu.Unlock()
	return ok
}

// flush closes the batch, so later writes go straight out, and writes
// what the sessions that joined hold.
func (b *writeBatch) flush() {
	b.mu.Lock()
	b.open = false
	joined := b.sessions
	if len(joined) == 0 {
		b.mu.Unlock()
		return
	}
	b.sessions, b.spare = b.spare, nil
	b.mu.Unlock()
	for _, s := range joined {
		if q := s.uncork(); q != nil && cap(q) <= maxKeptQueue {
			clear(q)
			b.freed = append(b.freed, q[:0])
		}
	}
	clear(joined)
	b.spare = joined[:0]
	if len(b.freed) > 0 {
		b.mu.Lock()
		b.queues = append(b.queues, b.freed...)
		b.mu.Unlock()
		clear(b.freed)
		b.freed = b.freed[:0]
	}
}

// uncork writes what s held for a batch, and returns the queue it held it
// in when nothing keeps that any more.
func (s *Session) uncork() []Packet {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.corked {
		return nil
	}
	s.corked = false
	if s.writing || len(s.queue) == 0 {
		return nil
	}
	q := s.queue
	s.queue = nil
	s.writeLocked(q) // keeps nothing of q
	return q
}
