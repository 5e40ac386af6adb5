package engineio

import (
	"sync"
	"sync/atomic"
	"time"
)

// goroutines counts the engine's goroutines for Shutdown to wait for. A
// sync.WaitGroup does not fit: it must not be added to from zero while a
// Wait runs, and sessions end (and start their close goroutine) at any
// time, during a shutdown too; that once crashed a server with "WaitGroup
// is reused before previous Wait has returned". Here start may come at
// any time; wait returns once the count has been zero.
//
// start and done are an atomic add each (done also loads the waiter
// count): read steps of the event-driven reader start one per burst.
type goroutines struct {
	n       atomic.Int64
	waiters atomic.Int32

	mu   sync.Mutex
	idle chan struct{} // closed when n reaches zero; nil while none waits
}

func (g *goroutines) start() { g.n.Add(1) }

func (g *goroutines) done() {
	// With sequentially consistent atomics, either this sees the waiter or
	// the waiter sees the count at zero (it stores waiters, then loads n).
	if g.n.Add(-1) == 0 && g.waiters.Load() > 0 {
		g.mu.Lock()
		if g.idle != nil {
			close(g.idle)
			g.idle = nil
		}
		g.mu.Unlock()
	}
}

// wait waits until no goroutine is counted, for d at most; false means d
// passed first.
func (g *goroutines) wait(d time.Duration) bool {
	g.mu.Lock()
	g.waiters.Add(1)
	defer g.waiters.Add(-1)
	if g.n.Load() == 0 {
		g.mu.Unlock()
		return true
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle := g.idle
	g.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		return true
	case <-t.C:
		return false
	}
}
