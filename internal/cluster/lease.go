package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// claimScript takes a room's lease unless another node holds it.
// KEYS: owner hash, lease, generation. ARGV: node, token, lease TTL ms,
// state TTL ms, a fresh generation, and "1" to refuse a lease the node
// itself holds too (Reserve). Returns {1, node, epoch, generation}
// when taken, {0, owner node, epoch, ""} when not. The epoch lives in the
// owner hash, which outlives the lease, so it grows on every change of
// owner; a node re-claiming its own lapsed lease gets a new epoch and token
// too (its old Lease object is dead).
var claimScript = redis.NewScript(`
local lease = redis.call('GET', KEYS[2])
if lease then
  local o = redis.call('HMGET', KEYS[1], 'node', 'epoch')
  if o[1] and (o[1] ~= ARGV[1] or ARGV[6] == '1') then
    return {0, o[1], tonumber(o[2] or '0'), ''}
  end
end
local g = redis.call('GET', KEYS[3])
if not g then
  g = ARGV[5]
  redis.call('SET', KEYS[3], g)
end
local e = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'node', ARGV[1], 'token', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return {1, ARGV[1], e, g}
`)

// renewScript extends a lease whose token is still the owner's.
// KEYS: owner hash, lease, generation, then the room's state keys (their
// StateTTL is refreshed too). ARGV: token, lease TTL ms, state TTL ms,
// the lease's generation, node, epoch, a fresh generation. Returns
// {1, generation, restored} or {0} when fenced.
//
// A lapsed lease nobody took is taken back (same epoch: no other owner came
// between). An owner hash that is gone means one of two things: the room
// ended (another owner ended it after taking it over: fenced), or Redis lost
// its data (a restart without persistence, a failover to an empty replica).
// The generation key tells them apart: it is written once per Redis data
// set, so if it is not the one the lease was taken under, the data is new
// and the owner restores its ownership from memory, same epoch and token.
var renewScript = redis.NewScript(`
local tok = redis.call('HGET', KEYS[1], 'token')
local g = redis.call('GET', KEYS[3])
local restored = 0
if not tok then
  if g == ARGV[4] then return {0} end
  if not g then
    g = ARGV[7]
    redis.call('SET', KEYS[3], g)
  end
  if redis.call('EXISTS', KEYS[2]) == 1 then return {0} end
  redis.call('HSET', KEYS[1], 'node', ARGV[5], 'epoch', ARGV[6], 'token', ARGV[1])
  restored = 1
elseif tok ~= ARGV[1] then
  return {0}
else
  local l = redis.call('GET', KEYS[2])
  if l and l ~= ARGV[1] then return {0} end
end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
for i = 1, #KEYS do
  if i ~= 2 and i ~= 3 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return {1, g or '', restored}
`)

// releaseScript gives a lease up: the lease key goes and the token is
// voided, so the releasing Lease can write no more. The epoch stays.
// KEYS: owner hash, lease. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'token', '')
redis.call('DEL', KEYS[2])
return 1
`)

// ErrBadRoom is returned for a room name that cannot be a key part.
var ErrBadRoom = errors.New("cluster: room name must be non-empty, without braces")

func checkRoom(room string) error {
	if room == "" || strings.ContainsAny(room, "{}") {
		return ErrBadRoom
	}
	return nil
}

// Lease is this node's ownership of one room. It renews itself every
// RenewInterval until Release, End (on its RoomState), Cluster.Close, or
// until it is lost.
//
// A node holds a lease per room it is home to, so a lease keeps no
// goroutine of its own between renewals: a timer runs each renewal (see
// renewTick), and AfterLost callbacks stand for goroutines waiting on Lost.
type Lease struct {
	c     *Cluster
	Room  string
	Epoch uint64 // grows on every change of the room's owner
	token string

	mu        sync.Mutex
	err       error         // why it was lost; nil while held
	lost      chan struct{} // Lost's, made when first asked for (the node itself uses AfterLost)
	deadline  time.Time     // by when Redis surely expires it unless renewed
	frozen    bool          // tests: renew loop does nothing (a stalled process)
	gen       string        // Redis data generation the lease lives in
	timer     *time.Timer   // the next renewal; nil once lost
	lostFns   []func()      // AfterLost's, until lost
	onRewrite func()        // OnRewrite's
}

// Lost is closed when the lease is lost (Err says why), released or the
// cluster closed: this node must stop acting as the room's owner.
func (l *Lease) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost == nil {
		l.lost = make(chan struct{})
		if l.err != nil {
			close(l.lost)
		}
	}
	return l.lost
}

// Err is nil while the lease is held, then why it is not: ErrFenced
// (another node took the room, or it ended elsewhere), ErrLeaseExpired (not
// renewed in time), ErrReleased (Release or End) or ErrClosed.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// AfterLost arranges for f to run in its own goroutine once the lease is
// lost (as Lost is closed), or at once if it is lost already: what a
// goroutine waiting on Lost does, without keeping one per lease.
func (l *Lease) AfterLost(f func()) {
	l.mu.Lock()
	if l.err == nil {
		l.lostFns = append(l.lostFns, f)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	go f()
}

// OnRewrite arranges for f to run, in a goroutine of its own, when Redis
// lost its data (it restarted empty) and the lease restored the room's
// ownership from this node's memory: the owner must write the room's
// state again (SetMeta, PutParticipant, ...), which is gone from Redis. A
// callback rather than a channel to wait on: no goroutine kept per lease.
func (l *Lease) OnRewrite(f func()) {
	l.mu.Lock()
	l.onRewrite = f
	l.mu.Unlock()
}

// ErrReleased is a lease's Err after Release or End.
var ErrReleased = errors.New("cluster: lease released")

// Claim makes this node the owner of room, or returns an *OwnedError
// (errors.Is ErrOwned) naming the node that holds it. A room this node
// already holds returns the same Lease. The lease renews itself.
func (c *Cluster) Claim(ctx context.Context, room string) (*Lease, error) {
	if err := checkRoom(room); err != nil {
		return nil, err
	}
	if c.ctx.Err() != nil {
		return nil, ErrClosed
	}
	// One claim per room at a time on this node: a second one waits and
	// gets the lease the first took, instead of taking it anew (a new epoch
	// that would fence the first).
	unlock := c.lockRoom(room)
	defer unlock()
	c.mu.Lock()
	if l := c.leases[room]; l != nil && l.Err() == nil {
		c.mu.Unlock()
		return l, nil
	}
	c.mu.Unlock()

	token := randomHex(16)
	start := time.Now()
	octx, cancel := c.op(ctx)
	defer cancel()
	res, err := claimScript.Run(octx, c.rdb,
		[]string{c.roomKey(room, "owner"), c.roomKey(room, "lease"), c.key("gen")},
		c.cfg.NodeID, token, c.cfg.LeaseTTL.Milliseconds(), c.cfg.StateTTL.Milliseconds(), randomHex(8), "0").Slice()
	if err != nil {
		return nil, fmt.Errorf("cluster: claim %q: %w", room, err)
	}
	won, node, epoch, gen, err := claimReply(res)
	if err != nil {
		return nil, fmt.Errorf("cluster: claim %q: %w", room, err)
	}
	if !won {
		return nil, &OwnedError{Room: room, Node: node, Epoch: epoch}
	}
	return c.hold(room, epoch, token, gen, start)
}

// hold makes the Lease of a lease this node took, keeps it and starts its
// renewals. Called with the room's claim lock held.
func (c *Cluster) hold(room string, epoch uint64, token, gen string, start time.Time) (*Lease, error) {
	l := &Lease{c: c, Room: room, Epoch: epoch, token: token, gen: gen, deadline: start.Add(c.cfg.LeaseTTL)}
	c.mu.Lock()
	old := c.leases[room]
	c.leases[room] = l
	c.mu.Unlock()
	if old != nil {
		old.lose(ErrFenced) // its token was replaced (lose takes c.mu)
	}
	if !l.startRenewals() {
		l.lose(ErrClosed)
		return nil, ErrClosed
	}
	return l, nil
}

// roomClaim serializes the claims of one room on this node.
type roomClaim struct {
	mu sync.Mutex
	n  int // claims holding or waiting for mu
}

// lockRoom locks room's claim lock and returns its unlock.
func (c *Cluster) lockRoom(room string) func() {
	c.mu.Lock()
	rc := c.claiming[room]
	if rc == nil {
		rc = &roomClaim{}
		c.claiming[room] = rc
	}
	rc.n++
	c.mu.Unlock()
	rc.mu.Lock()
	return func() {
		rc.mu.Unlock()
		c.mu.Lock()
		if rc.n--; rc.n == 0 {
			delete(c.claiming, room)
		}
		c.mu.Unlock()
	}
}

func claimReply(res []any) (bool, string, uint64, string, error) {
	if len(res) != 4 {
		return false, "", 0, "", fmt.Errorf("unexpected reply %v", res)
	}
	won, _ := res[0].(int64)
	node, _ := res[1].(string)
	epoch, _ := res[2].(int64)
	gen, _ := res[3].(string)
	return won == 1, node, uint64(epoch), gen, nil
}

// Owner returns the node holding room's lease and its epoch, or "" when no
// node holds it (it may then be claimed).
func (c *Cluster) Owner(ctx context.Context, room string) (string, uint64, error) {
	if err := checkRoom(room); err != nil {
		return "", 0, err
	}
	ctx, cancel := c.op(ctx)
	defer cancel()
	var lease *redis.StringCmd
	var owner *redis.SliceCmd
	_, err := c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		lease = p.Get(ctx, c.roomKey(room, "lease"))
		owner = p.HMGet(ctx, c.roomKey(room, "owner"), "node", "epoch", "token")
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, fmt.Errorf("cluster: owner of %q: %w", room, err)
	}
	v := owner.Val()
	node, _ := v[0].(string)
	es, _ := v[1].(string)
	tok, _ := v[2].(string)
	if tok != lease.Val() {
		return "", 0, nil
	}
	var epoch uint64
	fmt.Sscan(es, &epoch)
	return node, epoch, nil
}

// Renew extends the lease by LeaseTTL now. The lease does this itself;
// calling it is only needed to check ownership at once. It returns
// ErrFenced, after which the lease is lost, if another node took the room.
func (l *Lease) Renew(ctx context.Context) error {
	if err := l.Err(); err != nil {
		return err
	}
	start := time.Now()
	c := l.c
	ctx, cancel := c.op(ctx)
	defer cancel()
	keys := []string{c.roomKey(l.Room, "owner"), c.roomKey(l.Room, "lease"), c.key("gen")}
	keys = append(keys, c.stateKeys(l.Room)...)
	l.mu.Lock()
	gen := l.gen
	l.mu.Unlock()
	res, err := renewScript.Run(ctx, c.rdb, keys, l.token, c.cfg.LeaseTTL.Milliseconds(), c.cfg.StateTTL.Milliseconds(),
		gen, c.cfg.NodeID, l.Epoch, randomHex(8)).Slice()
	if err != nil {
		return fmt.Errorf("cluster: renew %q: %w", l.Room, err)
	}
	if len(res) != 3 || res[0] != int64(1) {
		l.lose(ErrFenced)
		return ErrFenced
	}
	if g, _ := res[1].(string); g != "" {
		l.mu.Lock()
		l.gen = g
		l.mu.Unlock()
	}
	if restored, _ := res[2].(int64); restored == 1 {
		c.log.Warn("cluster: Redis lost its data; room ownership restored from memory", "room", l.Room, "epoch", l.Epoch)
		l.mu.Lock()
		f := l.onRewrite
		l.mu.Unlock()
		if f != nil {
			go f()
		}
	}
	l.mu.Lock()
	l.deadline = start.Add(c.cfg.LeaseTTL)
	l.mu.Unlock()
	return nil
}

// startRenewals sets the timer of the first renewal, unless the cluster
// is closed.
func (l *Lease) startRenewals() bool {
	l.c.mu.Lock()
	closed := l.c.closed
	l.c.mu.Unlock()
	if closed {
		return false
	}
	l.mu.Lock()
	if l.err == nil {
		l.timer = time.AfterFunc(l.c.cfg.RenewInterval, l.renewTick)
	}
	l.mu.Unlock()
	return true
}

// renewTick renews the lease and sets the timer for the next renewal,
// RenewInterval after this one started (a ticker's period). The local
// deadline is counted from when a successful renewal was sent, before
// Redis set the TTL, so the node gives the room up no later than Redis
// frees it: never are two owners acting at once, even when Redis is
// unreachable. Close waits for a renewal under way.
func (l *Lease) renewTick() {
	if !l.c.enter() {
		l.lose(ErrClosed)
		return
	}
	defer l.c.wg.Done()
	start := time.Now()
	l.mu.Lock()
	frozen, deadline, lost := l.frozen, l.deadline, l.err != nil
	l.mu.Unlock()
	if lost {
		return
	}
	if !frozen {
		ctx, cancel := context.WithDeadline(l.c.ctx, deadline)
		err := l.Renew(ctx)
		cancel()
		if err != nil && !errors.Is(err, ErrFenced) {
			if l.c.ctx.Err() != nil {
				l.lose(ErrClosed)
				return
			}
			l.c.stats.redisErrors.Add(1)
			if !time.Now().Before(deadline) {
				l.c.log.Warn("cluster: lease expired unrenewed", "room", l.Room, "err", err)
				l.lose(ErrLeaseExpired)
				return
			}
			l.c.log.Debug("cluster: lease renewal failed, retrying", "room", l.Room, "err", err)
		}
	}
	l.mu.Lock()
	if l.err == nil && l.timer != nil {
		l.timer.Reset(max(l.c.cfg.RenewInterval-time.Since(start), 0))
	}
	l.mu.Unlock()
}

// lose marks the lease lost with err (first reason wins) and forgets it.
func (l *Lease) lose(err error) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	l.err = err
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	fns := l.lostFns
	l.lostFns = nil
	if l.lost != nil {
		close(l.lost)
	}
	l.mu.Unlock()
	if errors.Is(err, ErrFenced) {
		l.c.stats.fenced.Add(1)
	}
	for _, f := range fns {
		go f()
	}
	l.c.mu.Lock()
	if l.c.leases[l.Room] == l {
		delete(l.c.leases, l.Room)
	}
	l.c.mu.Unlock()
	if !errors.Is(err, ErrClosed) && !errors.Is(err, ErrReleased) {
		l.c.log.Info("cluster: room lease lost", "room", l.Room, "epoch", l.Epoch, "err", err)
	}
}

// Release gives the room up (a handover: another node may claim it at
// once, with the next epoch). The lease can write no more.
func (l *Lease) Release(ctx context.Context) error {
	if err := l.Err(); err != nil {
		return err
	}
	c := l.c
	octx, cancel := c.op(ctx)
	defer cancel()
	n, err := releaseScript.Run(octx, c.rdb, []string{c.roomKey(l.Room, "owner"), c.roomKey(l.Room, "lease")}, l.token).Int()
	if err != nil {
		return fmt.Errorf("cluster: release %q: %w", l.Room, err)
	}
	if n != 1 {
		l.lose(ErrFenced)
		return ErrFenced
	}
	l.lose(ErrReleased)
	return nil
}

// freeze stops (or resumes) renewals without the lease noticing: what a
// stalled process (long GC pause, SIGSTOP, VM migration) looks like to the
// others. For tests.
func (l *Lease) freeze(on bool) {
	l.mu.Lock()
	l.frozen = on
	l.mu.Unlock()
}

// Reserve takes a new room's lease for node, another node chosen to be
// its home (PlaceRoom), which makes it its own with Adopt when the first
// participant arrives. It fails with an *OwnedError if any node holds the
// room already, this one and node included: of several nodes placing the
// same new room at once, one wins, and the others send their participants
// to the node it chose. A reservation nobody adopts lapses after LeaseTTL.
// It returns the room's new epoch.
func (c *Cluster) Reserve(ctx context.Context, room, node string) (uint64, error) {
	if err := checkRoom(room); err != nil {
		return 0, err
	}
	if err := CheckNodeID(node); err != nil {
		return 0, err
	}
	octx, cancel := c.op(ctx)
	defer cancel()
	res, err := claimScript.Run(octx, c.rdb,
		[]string{c.roomKey(room, "owner"), c.roomKey(room, "lease"), c.key("gen")},
		node, randomHex(16), c.cfg.LeaseTTL.Milliseconds(), c.cfg.StateTTL.Milliseconds(), randomHex(8), "1").Slice()
	if err != nil {
		return 0, fmt.Errorf("cluster: reserve %q: %w", room, err)
	}
	won, owner, epoch, _, err := claimReply(res)
	if err != nil {
		return 0, fmt.Errorf("cluster: reserve %q: %w", room, err)
	}
	if !won {
		return 0, &OwnedError{Room: room, Node: owner, Epoch: epoch}
	}
	return epoch, nil
}

// ErrNotReserved is Adopt's answer when the room's lease is not held for
// this node.
var ErrNotReserved = errors.New("cluster: room not reserved for this node")

// Adopt makes a lease that another node reserved for this one (Reserve)
// this node's Lease, renewed from now on; a lease this node holds already
// is returned as it is. It fails with ErrNotReserved, or an *OwnedError
// naming the node that holds the room, when the lease is not this node's.
func (c *Cluster) Adopt(ctx context.Context, room string) (*Lease, error) {
	if err := checkRoom(room); err != nil {
		return nil, err
	}
	if c.ctx.Err() != nil {
		return nil, ErrClosed
	}
	unlock := c.lockRoom(room)
	defer unlock()
	c.mu.Lock()
	if l := c.leases[room]; l != nil && l.Err() == nil {
		c.mu.Unlock()
		return l, nil
	}
	c.mu.Unlock()
	start := time.Now()
	octx, cancel := c.op(ctx)
	defer cancel()
	var lease, gen *redis.StringCmd
	var owner *redis.SliceCmd
	_, err := c.rdb.TxPipelined(octx, func(p redis.Pipeliner) error {
		lease = p.Get(octx, c.roomKey(room, "lease"))
		owner = p.HMGet(octx, c.roomKey(room, "owner"), "node", "epoch", "token")
		gen = p.Get(octx, c.key("gen"))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("cluster: adopt %q: %w", room, err)
	}
	v := owner.Val()
	node, _ := v[0].(string)
	es, _ := v[1].(string)
	tok, _ := v[2].(string)
	var epoch uint64
	fmt.Sscan(es, &epoch)
	switch {
	case tok == "" || tok != lease.Val():
		return nil, ErrNotReserved // lapsed, released, or never reserved
	case node != c.cfg.NodeID:
		return nil, &OwnedError{Room: room, Node: node, Epoch: epoch}
	}
	l, err := c.hold(room, epoch, tok, gen.Val(), start)
	if err != nil {
		return nil, err
	}
	// The reservation was made up to a LeaseTTL ago: renew at once, which
	// also checks that it is still this node's.
	if err := l.Renew(ctx); err != nil {
		l.lose(ErrLeaseExpired) // a no-op when Renew found it fenced
		return nil, err
	}
	return l, nil
}
