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
}

// start opens the batch for a step.
func (b *writeBatch) start() {
	b.mu.Lock()
	b.open = true
	b.mu.Unlock()
}

// join adds s, whose lock the caller holds. False means the step has
// ended: write now.
func (b *writeBatch) join(s *Session) bool {
	b.mu.Lock()
	ok := b.open
	if ok {
		b.sessions = append(b.sessions, s)
	}
	b.mu.Unlock()
	return ok
}

// flush closes the batch, so later writes go straight out, and writes
// what the sessions that joined hold. Closed, the batch takes no one new
// while they are written.
func (b *writeBatch) flush() {
	b.mu.Lock()
	b.open = false
	joined := b.sessions
	b.mu.Unlock()
	for _, s := range joined {
		s.uncork()
	}
	clear(joined)
	b.mu.Lock()
	b.sessions = joined[:0]
	b.mu.Unlock()
}

// uncork writes what s held for a batch.
func (s *Session) uncork() {
	s.mu.Lock()
	if s.corked {
		s.corked = false
		s.flushLocked()
	}
	s.mu.Unlock()
}
