package turn

import (
	"sync"
	"time"
)

// quota counts allocations per user (the participant part of the
// username, so re-minted credentials do not reset it).
//
// pion asks the quota before it creates an allocation and reports the
// creation afterwards; a creation can still fail in between (no free
// port). A granted request is therefore held as pending until its
// creation is reported, or for pendingTTL at most.
type quota struct {
	perUser int
	now     func() time.Time

	mu      sync.Mutex
	active  map[string]int
	pending map[string][]time.Time
}

const pendingTTL = 5 * time.Second

func newQuota(perUser int) *quota {
	return &quota{perUser: perUser, now: time.Now, active: map[string]int{}, pending: map[string][]time.Time{}}
}

// take reserves an allocation for user, or reports that the user has
// reached the limit.
func (q *quota) take(user string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	p := q.pending[user]
	for len(p) > 0 && now.Sub(p[0]) > pendingTTL {
		p = p[1:]
	}
	if q.active[user]+len(p) >= q.perUser {
		q.setPending(user, p)
		return false
	}
	q.setPending(user, append(p, now))
	return true
}

// created turns a reservation into an active allocation.
func (q *quota) created(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if p := q.pending[user]; len(p) > 0 {
		q.setPending(user, p[1:])
	}
	q.active[user]++
}

// deleted frees an active allocation.
func (q *quota) deleted(user string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.active[user] <= 1 {
		delete(q.active, user)
		return
	}
	q.active[user]--
}

func (q *quota) setPending(user string, p []time.Time) {
	if len(p) == 0 {
		delete(q.pending, user)
		return
	}
	q.pending[user] = p
}
