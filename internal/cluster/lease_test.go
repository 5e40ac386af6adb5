package cluster

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// Both nodes claim the same rooms at once: each room gets exactly one
// owner, at epoch 1, and the loser is told who won.
func TestClaimConcurrentExactlyOneWins(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	for i := range 20 {
		room := fmt.Sprintf("room-%d", i)
		var wg sync.WaitGroup
		leases := make([]*Lease, 2)
		errs := make([]error, 2)
		start := make(chan struct{})
		for j, c := range []*Cluster{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				leases[j], errs[j] = c.Claim(ctx, room)
			}()
		}
		close(start)
		wg.Wait()
		won := 0
		for j := range 2 {
			if errs[j] == nil {
				won++
				if leases[j].Epoch != 1 {
					t.Errorf("%s: epoch %d, want 1", room, leases[j].Epoch)
				}
				continue
			}
			var oe *OwnedError
			if !errors.As(errs[j], &oe) || !errors.Is(errs[j], ErrOwned) {
				t.Fatalf("%s: loser's error %v, want an OwnedError", room, errs[j])
			}
			winner := []string{"a", "b"}[1-j]
			if oe.Node != winner || oe.Epoch != 1 {
				t.Errorf("%s: OwnedError %+v, want node %s epoch 1", room, oe, winner)
			}
		}
		if won != 1 {
			t.Fatalf("%s: %d winners, want exactly 1 (errs %v)", room, won, errs)
		}
	}
}

// A claim of a room this node holds returns the same lease; the lease
// renews itself so the other node cannot take the room.
func TestLeaseRenewsItself(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	l, err := a.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := a.Claim(ctx, "r"); err != nil || again != l {
		t.Fatalf("second claim by the owner: %v, %v; want the same lease", again, err)
	}
	time.Sleep(3 * a.cfg.LeaseTTL)
	if _, err := b.Claim(ctx, "r"); !errors.Is(err, ErrOwned) {
		t.Fatalf("claim of a renewed room: %v, want ErrOwned", err)
	}
	if node, epoch, err := b.Owner(ctx, "r"); err != nil || node != "a" || epoch != 1 {
		t.Fatalf("Owner = %q %d %v, want a 1", node, epoch, err)
	}
	select {
	case <-l.Lost():
		t.Fatalf("lease lost: %v", l.Err())
	default:
	}
}

// The owner stops renewing (a stalled process): the other node gets the
// room within the lease TTL plus a margin, at epoch 2, and the stale
// owner's next write fails with ErrFenced, which also loses its lease.
func TestFrozenOwnerIsFenced(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	la, err := a.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := la.State().PutParticipant(ctx, Participant{ID: "p1", Name: "Ann", Node: "a"}); err != nil {
		t.Fatal(err)
	}
	la.freeze(true)
	frozeAt := time.Now()
	var lb *Lease
	for {
		lb, err = b.Claim(ctx, "r")
		if err == nil {
			break
		}
		if !errors.Is(err, ErrOwned) {
			t.Fatal(err)
		}
		if time.Since(frozeAt) > a.cfg.LeaseTTL+500*time.Millisecond {
			t.Fatalf("room not taken %v after the owner froze (lease TTL %v)", time.Since(frozeAt), a.cfg.LeaseTTL)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lb.Epoch != 2 {
		t.Fatalf("new owner's epoch %d, want 2", lb.Epoch)
	}
	// The stale owner wakes up and writes as if it still owned the room.
	err = la.State().PutParticipant(ctx, Participant{ID: "p2", Name: "Stale", Node: "a"})
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("stale owner's write: %v, want ErrFenced", err)
	}
	select {
	case <-la.Lost():
	case <-time.After(time.Second):
		t.Fatal("stale lease not lost after a fenced write")
	}
	if !errors.Is(la.Err(), ErrFenced) {
		t.Fatalf("stale lease Err %v, want ErrFenced", la.Err())
	}
	if s := a.Stats(); s.Fenced != 1 || s.Leases != 0 {
		t.Fatalf("stale node's stats %+v, want 1 fenced, no lease", s)
	}
	if err := la.Renew(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale Renew: %v, want ErrFenced", err)
	}
	if err := la.State().End(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale End: %v, want ErrFenced", err)
	}
	// The new owner writes; the stale write left no trace.
	if err := lb.State().PutParticipant(ctx, Participant{ID: "p3", Name: "Bob", Node: "b"}); err != nil {
		t.Fatal(err)
	}
	room, err := a.LoadRoom(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(room.Participants); got != "p1,p3" {
		t.Fatalf("participants %s, want p1,p3", got)
	}
}

// A stale owner whose renewal was in flight with an old token cannot
// renew over the new owner either (renewScript checks the token).
func TestStaleRenewDoesNotStealLease(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	la, _ := a.Claim(ctx, "r")
	la.freeze(true)
	time.Sleep(a.cfg.LeaseTTL + 100*time.Millisecond)
	lb, err := b.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := la.Renew(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale renew: %v, want ErrFenced", err)
	}
	if node, epoch, _ := a.Owner(ctx, "r"); node != "b" || epoch != lb.Epoch {
		t.Fatalf("owner %s/%d after stale renew, want b/%d", node, epoch, lb.Epoch)
	}
}

// Release hands the room over: the next claim is at once, with the next
// epoch, and the released lease writes no more.
func TestReleaseHandsOver(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	la, _ := a.Claim(ctx, "r")
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(la.Err(), ErrReleased) {
		t.Fatalf("Err after Release: %v", la.Err())
	}
	// Lost's channel is made when first asked for: asked after the loss,
	// it is closed already.
	select {
	case <-la.Lost():
	default:
		t.Fatal("Lost, first asked for after Release, is not closed")
	}
	lb, err := b.Claim(ctx, "r")
	if err != nil || lb.Epoch != 2 {
		t.Fatalf("claim after release: %v, %v; want epoch 2", lb, err)
	}
	// A released lease refuses before asking Redis; a forged copy with its
	// token is fenced by Redis.
	if err := la.State().SetMeta(ctx, Meta{Host: "x"}); err == nil {
		t.Fatal("released lease wrote")
	}
	forged := &Lease{c: a, Room: "r", Epoch: 1, token: la.token, lost: make(chan struct{})}
	if err := forged.State().SetMeta(ctx, Meta{Host: "x"}); !errors.Is(err, ErrFenced) {
		t.Fatalf("write with the released token: %v, want ErrFenced", err)
	}
}

// With Redis frozen the owner cannot confirm its lease: it loses it (Lost
// closed, ErrLeaseExpired) no later than the TTL plus one operation
// timeout, so it stops acting as owner before another node could claim.
func TestLeaseLostWhenRedisUnreachable(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a")
	ctx := bg(t)
	l, err := a.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	r.signal(syscall.SIGSTOP)
	defer r.signal(syscall.SIGCONT)
	start := time.Now()
	select {
	case <-l.Lost():
	case <-time.After(a.cfg.LeaseTTL + a.cfg.OpTimeout + time.Second):
		t.Fatal("lease not lost with Redis frozen")
	}
	if !errors.Is(l.Err(), ErrLeaseExpired) {
		t.Fatalf("Err %v, want ErrLeaseExpired", l.Err())
	}
	if el := time.Since(start); el > a.cfg.LeaseTTL+200*time.Millisecond {
		t.Fatalf("lease lost only after %v, later than its TTL %v", el, a.cfg.LeaseTTL)
	}
}

// kill -9 of Redis while a claim waits for its answer: the claim returns
// an error within the operation timeout, never hangs; later calls fail
// fast too.
func TestRedisKilledDuringClaim(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a")
	r.signal(syscall.SIGSTOP) // the claim is sent but not answered
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := a.Claim(context.Background(), "r")
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	r.kill()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("claim succeeded against a killed Redis")
		}
		t.Logf("claim error after %v: %v", time.Since(start), err)
	case <-time.After(a.cfg.OpTimeout + 2*time.Second):
		t.Fatal("claim hangs after Redis was killed")
	}
	start = time.Now()
	if _, err := a.Claim(context.Background(), "r2"); err == nil {
		t.Fatal("claim succeeded with Redis dead")
	}
	if _, err := a.Nodes(context.Background()); err == nil {
		t.Fatal("Nodes succeeded with Redis dead")
	}
	if el := time.Since(start); el > 2*a.cfg.OpTimeout+time.Second {
		t.Fatalf("calls with Redis dead took %v", el)
	}
}

func TestBadRoomName(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a")
	for _, room := range []string{"", "a{b", "c}"} {
		if _, err := a.Claim(bg(t), room); !errors.Is(err, ErrBadRoom) {
			t.Errorf("Claim(%q): %v, want ErrBadRoom", room, err)
		}
	}
}

// Redis restarts without its data: the owner restores its ownership from
// memory (same epoch), is told to rewrite the room's state, and the other
// node still cannot take the room; the registry is rebuilt by heartbeats.
func TestOwnershipRestoredAfterRedisLosesData(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	l, err := a.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.State().PutParticipant(ctx, Participant{ID: "p1", Node: "a"}); err != nil {
		t.Fatal(err)
	}
	called := make(chan struct{}, 1)
	l.OnRewrite(func() { called <- struct{}{} })
	r.kill()
	r.start() // same port, empty
	select {
	case <-called:
	case <-l.Lost():
		t.Fatalf("lease lost: %v", l.Err())
	case <-time.After(3 * a.cfg.LeaseTTL):
		t.Fatal("ownership not restored after Redis lost its data")
	}
	if node, epoch, err := b.Owner(ctx, "r"); err != nil || node != "a" || epoch != l.Epoch {
		t.Fatalf("owner after restore %q %d %v, want a %d", node, epoch, err, l.Epoch)
	}
	if _, err := b.Claim(ctx, "r"); !errors.Is(err, ErrOwned) {
		t.Fatalf("b's claim after restore: %v, want ErrOwned", err)
	}
	if err := l.State().PutParticipant(ctx, Participant{ID: "p1", Node: "a"}); err != nil {
		t.Fatalf("owner's write after restore: %v", err)
	}
	waitFor(t, time.Second, func() bool {
		ns, _ := b.Nodes(ctx)
		return len(ns) == 2
	})
}

// A write that finds the owner hash gone right after Redis lost its data
// (before the next renewal) restores ownership and succeeds.
func TestWriteRightAfterDataLoss(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a", func(c *Config) { c.RenewInterval = time.Hour; c.LeaseTTL = time.Hour })
	ctx := bg(t)
	l, _ := a.Claim(ctx, "r")
	r.kill()
	r.start()
	var err error
	waitFor(t, 3*time.Second, func() bool { // until the client reconnects
		err = l.State().SetMeta(ctx, Meta{Host: "p1"})
		return err == nil || errors.Is(err, ErrFenced)
	})
	if err != nil {
		t.Fatalf("write after data loss: %v", err)
	}
	if room, _ := a.LoadRoom(ctx, "r"); room.Meta.Host != "p1" {
		t.Fatalf("meta after write: %+v", room.Meta)
	}
}

// A room that ended (its new owner ended it) is not brought back by the
// stale owner's renewal: the generation is the same, so it is fenced.
func TestEndedRoomNotResurrectedByStaleOwner(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	la, _ := a.Claim(ctx, "r")
	la.freeze(true)
	time.Sleep(a.cfg.LeaseTTL + 100*time.Millisecond)
	lb, err := b.Claim(ctx, "r")
	if err != nil {
		t.Fatal(err)
	}
	if err := lb.State().End(ctx); err != nil {
		t.Fatal(err)
	}
	if err := la.Renew(ctx); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale renew of an ended room: %v, want ErrFenced", err)
	}
	if node, _, _ := b.Owner(ctx, "r"); node != "" {
		t.Fatalf("ended room owned by %q", node)
	}
}

// Many claims at once, from three nodes, on many rooms: every room ends up
// with exactly one owner, and every loser is told that owner.
func TestManyConcurrentClaimsOneHomePerRoom(t *testing.T) {
	r := startRedis(t)
	nodes := []*Cluster{newNode(t, r, "a"), newNode(t, r, "b"), newNode(t, r, "c")}
	ctx := bg(t)
	const rooms, perRoom = 100, 10
	type result struct {
		room, owner string
	}
	results := make(chan result, rooms*perRoom)
	var wg sync.WaitGroup
	for i := range rooms * perRoom {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := nodes[i%3]
			room := fmt.Sprintf("r%d", i%rooms)
			_, err := c.Claim(ctx, room)
			var oe *OwnedError
			switch {
			case err == nil:
				results <- result{room, c.NodeID()}
			case errors.As(err, &oe):
				results <- result{room, oe.Node}
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	close(results)
	owner := map[string]string{}
	for res := range results {
		if o, ok := owner[res.room]; ok && o != res.owner {
			t.Fatalf("room %s: owners %s and %s", res.room, o, res.owner)
		}
		owner[res.room] = res.owner
	}
	if len(owner) != rooms {
		t.Fatalf("%d rooms owned, want %d", len(owner), rooms)
	}
	for room, o := range owner {
		if node, epoch, _ := nodes[0].Owner(ctx, room); node != o || epoch != 1 {
			t.Fatalf("room %s: Owner %s/%d, want %s/1", room, node, epoch, o)
		}
	}
}

// A room placed on another node is reserved for it: one reservation wins
// among nodes placing the room at once, the chosen node adopts it as its
// lease (and no other node can), and one never adopted lapses.
func TestReserveAndAdopt(t *testing.T) {
	r := startRedis(t)
	a, b, c := newNode(t, r, "a"), newNode(t, r, "b"), newNode(t, r, "c")
	ctx := bg(t)
	epoch, err := a.Reserve(ctx, "new", "b")
	if err != nil || epoch != 1 {
		t.Fatalf("reserve: %d %v", epoch, err)
	}
	var owned *OwnedError
	if _, err := c.Reserve(ctx, "new", "c"); !errors.As(err, &owned) || owned.Node != "b" {
		t.Fatalf("second reservation: %v, want owned by b", err)
	}
	if _, err := c.Reserve(ctx, "new", "b"); !errors.As(err, &owned) {
		t.Fatalf("second reservation for the same node: %v, want refused", err)
	}
	if _, err := c.Adopt(ctx, "new"); !errors.As(err, &owned) || owned.Node != "b" {
		t.Fatalf("adopt by c: %v, want owned by b", err)
	}
	l, err := b.Adopt(ctx, "new")
	if err != nil || l.Epoch != 1 {
		t.Fatalf("adopt by b: %v %v", l, err)
	}
	if again, _ := b.Adopt(ctx, "new"); again != l {
		t.Fatal("adopting a held lease again made another")
	}
	if claimed, _ := b.Claim(ctx, "new"); claimed != l {
		t.Fatal("claiming an adopted lease made another")
	}
	// The adopted lease renews itself and writes state.
	time.Sleep(a.cfg.LeaseTTL + 200*time.Millisecond)
	if err := l.State().PutParticipant(ctx, Participant{ID: "p"}); err != nil {
		t.Fatalf("write under the adopted lease: %v", err)
	}
	// Never adopted: it lapses and the room is free.
	if _, err := a.Reserve(ctx, "orphan", "c"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	time.Sleep(a.cfg.LeaseTTL + 200*time.Millisecond)
	if owner, _, _ := a.Owner(ctx, "orphan"); owner != "" {
		t.Fatalf("unadopted reservation still owned by %q", owner)
	}
	if _, err := b.Adopt(ctx, "orphan"); !errors.Is(err, ErrNotReserved) {
		t.Fatalf("adopting a lapsed reservation: %v", err)
	}
	if l, err := b.Claim(ctx, "orphan"); err != nil || l.Epoch != 2 {
		t.Fatalf("claim after the lapse: %v %v, want epoch 2", l, err)
	}
}

// A node holds a lease per room it is home to: leases keep no goroutine
// of their own between renewals (which still happen: the rooms stay this
// node's past several lease lives), AfterLost runs its callback when the
// lease is lost, and Close loses every lease with ErrClosed.
func TestLeasesHoldNoGoroutines(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	before := runtime.NumGoroutine()
	const n = 50
	leases := make([]*Lease, n)
	for i := range leases {
		l, err := a.Claim(ctx, fmt.Sprintf("g-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		leases[i] = l
	}
	// The fewest of a few looks: a renewal under way runs in a goroutine
	// of its own for a moment.
	extra := n
	for range 5 {
		time.Sleep(20 * time.Millisecond)
		extra = min(extra, runtime.NumGoroutine()-before)
	}
	if extra > n/5 {
		t.Errorf("%d goroutines more for %d leases, want none per lease", extra, n)
	}
	time.Sleep(2 * a.cfg.LeaseTTL)
	for i := range leases {
		if _, err := b.Claim(ctx, fmt.Sprintf("g-%d", i)); !errors.Is(err, ErrOwned) {
			t.Fatalf("claim of renewed room g-%d: %v, want ErrOwned", i, err)
		}
	}
	lostFirst := make(chan struct{})
	leases[0].AfterLost(func() { close(lostFirst) })
	if err := leases[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lostFirst:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterLost callback not run on Release")
	}
	late := make(chan struct{})
	leases[0].AfterLost(func() { close(late) }) // lost already: runs at once
	select {
	case <-late:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterLost callback of a lost lease not run")
	}
	closed := make(chan struct{})
	leases[1].AfterLost(func() { close(closed) })
	a.Close()
	for i, l := range leases[1:] {
		if err := l.Err(); !errors.Is(err, ErrClosed) {
			t.Fatalf("lease %d after Close: %v, want ErrClosed", i+1, err)
		}
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("AfterLost callback not run on Close")
	}
}
