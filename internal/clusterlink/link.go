package clusterlink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/engineio"
	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/socketio"
)

// Config configures a Link.
type Config struct {
	// Cluster is this node's cluster membership; required.
	Cluster *cluster.Cluster
	// Engine is this node's Socket.IO server, where relayed sockets of
	// rooms homed here are made; required.
	Engine *socketio.Server
	// OpTimeout bounds the Redis look-ups of one join: 2s.
	OpTimeout time.Duration
	// NodeCheck is how often the link looks for nodes that died (their
	// registry entry lapsed, or their heartbeat stopped) while it relays
	// sockets to or from them: 250ms. A node is gone when it has not
	// beaten for two heartbeat intervals as these checks see it, or when
	// it is missing from three checks in a row spanning that long. Checks
	// a quarter of a heartbeat apart see a killed home within 2-2.25 s of
	// its last beat (with 1 s checks, 2-3 s): the sockets relayed to it
	// reconnect and wait for its lease that much sooner.
	NodeCheck time.Duration
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// ErrElsewhere is Relay's answer for a relayed socket joining a room
// that another node is home to: it cannot be relayed twice.
var ErrElsewhere = errors.New("clusterlink: room homed on another node")

// ErrDraining is the link's answer, on a node shutting down, to a join or
// a relayed socket for a room this node is not home to: it takes no new
// room (see Drain).
var ErrDraining = errors.New("clusterlink: node shutting down takes no room")

// maxHops is how many times a relayed socket follows moved before it gives
// up (rooms changing hands faster than that are not worth chasing).
const maxHops = 3

// Link is this node's side of the cluster for signaling. It implements
// signaling.RoomHome.
type Link struct {
	c    *cluster.Cluster
	io   *socketio.Server
	log  *slog.Logger
	self string
	opTO time.Duration
	tick time.Duration // NodeCheck
	beat time.Duration // the cluster's heartbeat interval

	mu      sync.Mutex
	leases  map[string]*cluster.Lease // rooms this node is home to
	alive   map[string]bool           // rooms homed here that have not ended (leased or not)
	proxies map[string]*proxy         // sockets held here, served elsewhere, by conn id
	homed   map[connKey]*homed        // sockets held elsewhere, served here
	missing map[string]*miss          // nodes not live at the last checks (watchNodes only)
	beats   map[string]beatSeen       // each listed node's last beat, and since when (watchNodes only)
	// edgeOf is the node holding each socket served here for another
	// node, and the events it asked acks for last, kept for a while after
	// it ended (Undelivered asks then).
	edgeOf map[string]*edge

	// stMu guards the rooms' mirroring and takeover (mirror.go), apart
	// from mu: Changed is called with a room locked.
	stMu     sync.Mutex
	restorer Restorer
	rooms    map[string]*rooms.Room // this node's rooms, as Changed saw them
	mirrors  map[string]*mirror     // rooms homed here, by id
	claiming map[string]*roomLock

	// draining is set by Drain: this node takes no room any more.
	draining atomic.Bool

	stats counters
}

type connKey struct{ node, conn string }

// homed is a socket held by another node and served here. It is also
// what its virtual session calls back (out, closed): one allocation per
// relayed socket, where closures would be several.
type homed struct {
	l    *Link
	key  connKey // the edge and the socket's id
	room string
	sess *engineio.Session // set once opened (under l.mu)
}

// out relays what the virtual session sends to the edge. Called under the
// session's lock: Publish only queues.
func (h *homed) out(ps []engineio.Packet) {
	l := h.l
	l.stats.relayedOut.Add(int64(len(ps)))
	if l.publish(h.key.node, h.room, typeOut, encodePackets(h.key.conn, ps)) != nil {
		go l.dropHomed(h.key, "relay backlog full")
	}
}

// closed tells the edge that the home ended the virtual session, unless
// the edge ended it (onClose forgot it first).
func (h *homed) closed(reason string) {
	l := h.l
	time.AfterFunc(edgeMemory, func() { l.forgetEdge(h.key.conn, h.key.node) })
	l.mu.Lock()
	mine := l.homed[h.key] == h
	if mine {
		delete(l.homed, h.key)
	}
	l.mu.Unlock()
	if mine {
		_ = l.publishJSON(h.key.node, h.room, typeClosed, connMsg{Conn: h.key.conn, Reason: reason})
	}
}

type counters struct {
	relayedIn, relayedOut, moved, dropped, takenOver, redelivered atomic.Int64
}

// Stats are the link's counts for /metrics.
type Stats struct {
	// Proxied is the sockets held here whose room is homed elsewhere;
	// Homed those held elsewhere and served here; Rooms the rooms this
	// node is home to.
	Proxied, Homed, Rooms int
	// PacketsIn and PacketsOut count client packets relayed to a home and
	// packets relayed back to clients (both directions seen from here).
	PacketsIn, PacketsOut int64
	// Moved counts opens answered with moved; Dropped relayed messages
	// for connections unknown here (ended meanwhile) or malformed.
	Moved, Dropped int64
	// TakenOver counts rooms made again here from the state a dead home
	// left in Redis.
	TakenOver int64
	// Redelivered counts events read back from a node's stream that it
	// never gave its client, given to the client's next connection.
	Redelivered int64
}

// New returns a link; Run makes it receive.
func New(cfg Config) *Link {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OpTimeout <= 0 {
		cfg.OpTimeout = 2 * time.Second
	}
	if cfg.NodeCheck <= 0 {
		cfg.NodeCheck = 250 * time.Millisecond
	}
	return &Link{
		c: cfg.Cluster, io: cfg.Engine, log: cfg.Logger, self: cfg.Cluster.NodeID(), opTO: cfg.OpTimeout, tick: cfg.NodeCheck, beat: cfg.Cluster.HeartbeatInterval(), missing: map[string]*miss{}, beats: map[string]beatSeen{},
		leases: map[string]*cluster.Lease{}, alive: map[string]bool{}, proxies: map[string]*proxy{}, homed: map[connKey]*homed{},
		edgeOf: map[string]*edge{},
		rooms:  map[string]*rooms.Room{}, mirrors: map[string]*mirror{}, claiming: map[string]*roomLock{},
	}
}

// Drain tells the link that this node is shutting down, about to send its
// clients away: from now on it claims no room (the rooms it is home to it
// keeps until Release), so that a socket relayed here after it gave its
// rooms up is sent back, to reconnect and find the room's new home,
// instead of claiming the room again for a node about to stop (which held
// it until its lease lapsed).
func (l *Link) Drain() { l.draining.Store(true) }

// Draining reports whether Drain was called (for the node's record:
// cluster.Load.Leaving).
func (l *Link) Draining() bool { return l.draining.Load() }

// Stats returns the link's counts now.
func (l *Link) Stats() Stats {
	l.mu.Lock()
	s := Stats{Proxied: len(l.proxies), Homed: len(l.homed), Rooms: len(l.leases)}
	l.mu.Unlock()
	s.PacketsIn, s.PacketsOut = l.stats.relayedIn.Load(), l.stats.relayedOut.Load()
	s.Moved, s.Dropped = l.stats.moved.Load(), l.stats.dropped.Load()
	s.TakenOver, s.Redelivered = l.stats.takenOver.Load(), l.stats.redelivered.Load()
	return s
}

// Run receives what other nodes relay to this one, and watches for nodes
// that die, until ctx ends.
func (l *Link) Run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.watchNodes(ctx)
	}()
	for ev := range l.c.Subscribe(ctx) {
		l.handle(ev)
	}
	<-done
}

// miss is how long a node has been missing from the registry.
type miss struct {
	checks int
	since  time.Time
}

// missLimit is how many node checks in a row a node must be missing from
// the registry to be taken for dead, over at least two heartbeat
// intervals (missedFor): a Redis that restarted empty has the registry
// back within a heartbeat, which must not end anyone's call.
const missLimit = 3

// watchNodes ends the relayed sockets of nodes that died (kill -9, a
// crash, a partition): on the home, the virtual sockets of a dead edge
// lose their connection as a local socket would (the participant keeps its
// place for the grace period and may resume through another node); on the
// edge, sockets whose home died are closed, so that their clients
// reconnect.
func (l *Link) watchNodes(ctx context.Context) {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		l.mu.Lock()
		idle := len(l.homed) == 0 && len(l.proxies) == 0
		l.mu.Unlock()
		if idle {
			clear(l.missing)
			clear(l.beats)
			continue
		}
		octx, cancel := context.WithTimeout(ctx, l.opTO)
		nodes, err := l.c.Nodes(octx)
		cancel()
		if err != nil {
			clear(l.beats) // beats not seen meanwhile prove nothing
			continue       // Redis away: nobody is known dead
		}
		live := map[string]bool{}
		for _, n := range nodes {
			live[n.ID] = true
		}
		l.dropDead(live, l.silent(nodes, time.Now()))
	}
}

// beatSeen is a node's beat as a check saw it, and when it first did.
type beatSeen struct {
	beat, at time.Time
}

// silent returns the listed nodes whose beat has not changed through this
// node's checks for two heartbeat intervals: killed a moment ago, they
// stay listed until their entry lapses (NodeTTL), and the sockets relayed
// to them (joins among them) would wait for that, seconds more. Only this
// node's clock measures the silence, so a node whose clock is off is not
// taken for dead; a failed check clears what was seen (watchNodes), so
// Redis coming back after an outage does not make every node look silent.
func (l *Link) silent(nodes []cluster.Node, now time.Time) map[string]bool {
	out := map[string]bool{}
	listed := map[string]bool{}
	for _, n := range nodes {
		listed[n.ID] = true
		b, ok := l.beats[n.ID]
		if !ok || !b.beat.Equal(n.Beat) {
			l.beats[n.ID] = beatSeen{beat: n.Beat, at: now}
			continue
		}
		if now.Sub(b.at) > 2*l.c.HeartbeatInterval() {
			out[n.ID] = true
		}
	}
	for id := range l.beats {
		if !listed[id] {
			delete(l.beats, id)
		}
	}
	return out
}

// missedFor is how long a node must be missing from the registry, as well
// as missLimit checks, to be taken for dead: two heartbeat intervals, or
// (missLimit-1) checks when these are further apart.
func (l *Link) missedFor() time.Duration {
	return max((missLimit-1)*l.tick, 2*l.beat)
}

// dropDead counts the misses of the nodes this one relays with and ends
// the sockets of those missing missLimit times in a row, over at least
// missedFor, and of those silent (listed, not beating).
func (l *Link) dropDead(live, silent map[string]bool) {
	now := time.Now()
	var homedGone []*homed
	var proxiesGone []*proxy
	l.mu.Lock()
	peers := map[string]bool{}
	for k := range l.homed {
		peers[k.node] = true
	}
	for _, p := range l.proxies {
		p.mu.Lock()
		peers[p.home] = true
		p.mu.Unlock()
	}
	dead := map[string]bool{}
	for n := range peers {
		if silent[n] {
			dead[n] = true
			continue
		}
		if live[n] {
			delete(l.missing, n)
			continue
		}
		m := l.missing[n]
		if m == nil {
			m = &miss{since: now}
			l.missing[n] = m
		}
		m.checks++
		// Checks in a row, and as long apart as the ticker spaces them:
		// checks held up by a slow Redis fire back to back when it answers
		// again, before a node restarted with it has beaten again.
		if m.checks >= missLimit && now.Sub(m.since) >= l.missedFor() {
			dead[n] = true
		}
	}
	for n := range l.missing {
		if !peers[n] {
			delete(l.missing, n)
		}
	}
	for k, h := range l.homed {
		if dead[k.node] {
			homedGone = append(homedGone, h)
			delete(l.homed, k)
		}
	}
	for c, p := range l.proxies {
		p.mu.Lock()
		if dead[p.home] {
			p.done = true
			proxiesGone = append(proxiesGone, p)
			delete(l.proxies, c)
		}
		p.mu.Unlock()
	}
	l.mu.Unlock()
	for n := range dead {
		l.log.Warn("cluster: node gone, ending the sockets relayed with it", "node", n)
	}
	for _, h := range homedGone {
		h.sess.Abort("transport close") // as a dropped connection: the grace period
	}
	for _, p := range proxiesGone {
		p.sock.Close("room home gone")
	}
}

func (l *Link) handle(ev cluster.Event) {
	switch ev.Type {
	case typeOpen:
		l.onOpen(ev)
	case typeIn:
		l.onIn(ev)
	case typeClose:
		l.onClose(ev)
	case typeOut, typeOpened, typeMoved, typeClosed:
		l.toProxy(ev)
	default:
		l.stats.dropped.Add(1)
		l.log.Warn("cluster: unknown relayed message", "type", ev.Type, "from", ev.From)
	}
}

// publish sends one message to node. A refusal (the backlog for node is
// full: Redis has been away long) is logged; the caller decides.
func (l *Link) publish(node, room, typ string, data []byte) error {
	err := l.c.Publish(context.Background(), node, cluster.Event{Room: room, Type: typ, Data: data})
	if err != nil {
		l.log.Warn("cluster: relaying failed", "to", node, "type", typ, "err", err)
	}
	return err
}

func (l *Link) publishJSON(node, room, typ string, v any) error {
	b, _ := json.Marshal(v) // plain structs
	return l.publish(node, room, typ, b)
}

// Relay is signaling.RoomHome.Relay: nil when room's home is this node
// (claimed here if new), else a proxy relaying sock to the home. While
// Redis cannot be reached the room stays here.
func (l *Link) Relay(sock *socketio.Socket, room string, auth json.RawMessage) (signaling.Remote, error) {
	if sock.Remote() {
		// Relayed here: this node must stay (or become again) the home.
		home, err := l.home(room, false)
		if errors.Is(err, ErrDraining) {
			return nil, err
		}
		if err != nil {
			l.log.Warn("cluster: room home unknown, serving it here alone", "room", room, "err", err)
			return nil, nil
		}
		if home != l.self {
			return nil, fmt.Errorf("%w: %q is homed on %s", ErrElsewhere, room, home)
		}
		return nil, nil
	}
	home, err := l.home(room, true)
	if err != nil {
		l.log.Warn("cluster: room home unknown, serving it here alone", "room", room, "err", err)
	}
	if home == l.self {
		return nil, nil
	}
	return l.startProxy(sock, room, home, auth)
}

// Home returns the node a client joining room should move to: its home
// when that is another live node (a new room may be placed there, as for
// a relayed join), "" when this node serves it, or on a Redis error.
func (l *Link) Home(room string) string {
	home, err := l.home(room, true)
	if err != nil || home == l.self {
		return ""
	}
	return home
}

// home is the node that is (or, claimed now, becomes) room's home. With
// place a new room may go to another node (PlaceRoom), which claims it on
// the first open; without, this node claims it. On a Redis error it is
// this node.
//
// Its Redis look-ups get OpTimeout from the moment the room's lock is
// held, not from the join's arrival: a join that waited behind another
// one's takeover (up to a lease's life) must not take the expired
// deadline for Redis being away, and serve alone a meeting that another
// node is taking over.
func (l *Link) home(room string, place bool) (string, error) {
	l.mu.Lock()
	_, mine := l.leases[room]
	l.mu.Unlock()
	if mine {
		return l.self, nil // the common case on the home: no round trip
	}
	// One join at a time finds a room's home here: a second waits for the
	// first one's claim, and the room's takeover, to be done.
	unlock := l.lockRoom(room)
	defer unlock()
	l.mu.Lock()
	_, mine = l.leases[room]
	alive := l.alive[room]
	l.mu.Unlock()
	if mine {
		return l.self, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
	defer cancel()
	owner, _, err := l.c.Owner(ctx, room)
	if err != nil {
		l.servedAlone(room)
		return l.self, err
	}
	if owner != "" && owner != l.self {
		// A home killed a moment ago still holds its lease, and a home
		// shutting down holds it until its connections have closed: wait
		// for the lease to lapse or be given up and take the meeting over
		// here, rather than relay the join to a node that will never
		// answer it, or will send the participant away again in a moment.
		if !l.leaving(ctx, owner) {
			return owner, nil
		}
		lease, now := l.claimWhenLapsed(room, owner)
		if lease == nil {
			return now, nil
		}
		// The wait used up the join's look-up time: the takeover has its own.
		actx, cancel := context.WithTimeout(context.Background(), l.opTO)
		defer cancel()
		l.adopt(actx, lease)
		return l.self, nil
	}
	if owner == "" && place && !alive { // a room still living here stays here
		if node, ok := l.place(ctx, room); ok {
			if node != l.self {
				return node, nil
			}
			owner = node // another node reserved it for this one
		}
	}
	if l.draining.Load() && !alive {
		// This node is shutting down and takes no room, not even one
		// reserved for it or relayed here after it gave its rooms up: the
		// relaying node's client reconnects and the room goes elsewhere.
		return l.self, ErrDraining
	}
	var lease *cluster.Lease
	if owner == l.self {
		// Reserved for this node by the node that placed the room.
		lease, err = l.c.Adopt(ctx, room)
		if errors.Is(err, cluster.ErrNotReserved) {
			lease, err = l.c.Claim(ctx, room) // the reservation lapsed
		}
	} else {
		lease, err = l.c.Claim(ctx, room)
	}
	var owned *cluster.OwnedError
	if errors.As(err, &owned) {
		return owned.Node, nil
	}
	if err != nil {
		l.servedAlone(room)
		return l.self, err
	}
	l.adopt(ctx, lease)
	return l.self, nil
}

// servedAlone notes a room that this node serves without a lease, Redis
// being away: it is claimed once Redis answers (reclaim), so that a
// newcomer through another node finds it here instead of starting a second
// meeting of the same name; if another node has the room by then, its
// members here are sent there.
func (l *Link) servedAlone(room string) {
	if l.draining.Load() {
		return // takes no room
	}
	l.mu.Lock()
	_, held := l.leases[room]
	claiming := l.alive[room] // a lapsed lease: reclaim runs already
	if !held && !claiming {
		l.alive[room] = true
	}
	l.mu.Unlock()
	if !held && !claiming {
		go l.reclaim(room)
	}
}

// adopt makes this node the home of a lease's room: the meeting's state
// is taken over from Redis when it had a home before, and the lease kept.
func (l *Link) adopt(ctx context.Context, lease *cluster.Lease) {
	if lease.Epoch > 1 {
		// The room had a home before: if it died, its state is in Redis.
		l.takeOver(ctx, lease)
	}
	l.keepLease(lease)
	if lease.Epoch > 1 {
		l.endStaleProxies(lease.Room)
	}
}

// endStaleProxies closes the sockets held here that are relayed to
// another node as room's home, now that this node is: that node died (or
// let the room go), and watchNodes would notice only seconds later. Their
// clients reconnect and resume here at once; in SFU mode, where their
// media went through the dead home, it comes back that much sooner.
func (l *Link) endStaleProxies(room string) {
	var stale []*proxy
	var homes []string
	l.mu.Lock()
	for c, p := range l.proxies {
		if p.room != room {
			continue
		}
		p.mu.Lock()
		if p.home != l.self {
			p.done = true // nothing more to tell that home
			stale, homes = append(stale, p), append(homes, p.home)
			delete(l.proxies, c)
		}
		p.mu.Unlock()
	}
	l.mu.Unlock()
	for i, p := range stale {
		l.log.Info("cluster: room came here, closing a socket relayed to its former home", "room", room, "socket", p.conn, "home", homes[i])
		p.sock.Close("room moved here")
	}
}

// leaving reports whether a node is shutting down (its record says
// leaving: it gives its rooms up once its connections closed) or is
// presumed dead: it has not beaten for two heartbeat intervals (or is
// not listed), killed a moment ago, its record and its leases not lapsed
// yet. A node whose clock is behind may be taken for dead; that costs a
// join the wait in claimWhenLapsed, nothing more.
func (l *Link) leaving(ctx context.Context, node string) bool {
	nodes, err := l.c.Nodes(ctx)
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if n.ID == node {
			return n.Leaving || time.Since(n.Beat) > 2*l.c.HeartbeatInterval()
		}
	}
	return true
}

// claimWhenLapsed claims room once the lease of its dead (or shutting
// down) owner lapses or is given up, trying for a lease's life and a
// second. Without a lease it returns the room's owner: another node that
// claimed it first, or the old owner if its lease did not lapse (it lives
// after all, or takes longer than that to shut down) or Redis failed.
func (l *Link) claimWhenLapsed(room, dead string) (*cluster.Lease, string) {
	deadline := time.Now().Add(l.c.LeaseTTL() + time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
		lease, err := l.c.Claim(ctx, room)
		cancel()
		if err == nil {
			return lease, l.self
		}
		var owned *cluster.OwnedError
		if !errors.As(err, &owned) {
			return nil, dead
		}
		if owned.Node != dead {
			return nil, owned.Node // another node took the meeting over first
		}
		time.Sleep(claimRetry)
	}
	return nil, dead
}

// claimRetry is how often a join waiting for a dead home's lease tries.
const claimRetry = 200 * time.Millisecond

// place chooses a new room's home, the less loaded of two live nodes,
// and reserves the room for it when it is another node (cluster.Reserve):
// of the nodes placing one room at the same moment, one wins and all send
// its participants where it chose. It reports the home, or false when this
// node is to claim the room itself (chosen, or Redis is away).
func (l *Link) place(ctx context.Context, room string) (string, bool) {
	node, err := l.c.PlaceRoom(ctx)
	if err != nil || node == l.self {
		return "", false
	}
	_, err = l.c.Reserve(ctx, room, node)
	var owned *cluster.OwnedError
	switch {
	case err == nil:
		return node, true
	case errors.As(err, &owned):
		return owned.Node, true // placed by another node first
	}
	return "", false
}

// keepLease records a lease and forgets it once lost; a lease that lapsed
// while Redis was away is claimed again (reclaim).
func (l *Link) keepLease(lease *cluster.Lease) {
	l.mu.Lock()
	if old := l.leases[lease.Room]; old == lease {
		l.mu.Unlock()
		return
	}
	l.leases[lease.Room] = lease
	l.alive[lease.Room] = true
	l.mu.Unlock()
	l.startMirror(lease)
	l.log.Info("cluster: room homed here", "room", lease.Room, "epoch", lease.Epoch)
	// A callback, not a goroutine waiting on Lost: one fewer goroutine
	// per room homed here.
	lease.AfterLost(func() {
		l.mu.Lock()
		if l.leases[lease.Room] == lease {
			delete(l.leases, lease.Room)
		}
		alive := l.alive[lease.Room]
		l.mu.Unlock()
		err := lease.Err()
		switch {
		case errors.Is(err, cluster.ErrReleased) || errors.Is(err, cluster.ErrClosed) || !alive:
		case errors.Is(err, cluster.ErrLeaseExpired):
			l.log.Warn("cluster: room lease lapsed (Redis away?), claiming it again", "room", lease.Room)
			l.reclaim(lease.Room)
		default:
			// Another node has the room now: this one was frozen or cut
			// off long enough for it to be taken over. Its members here
			// are in a stale copy: send them to the room's home.
			l.log.Warn("cluster: room taken over by another node, sending its members there", "room", lease.Room, "err", err)
			l.mu.Lock()
			delete(l.alive, lease.Room)
			l.mu.Unlock()
			l.sendAway(lease.Room)
		}
	})
}

// reclaimEvery is how often a lapsed lease is claimed again.
const reclaimEvery = 500 * time.Millisecond

// reclaim claims a room again whose lease lapsed while Redis was away and
// which still lives here, until it succeeds, another node has it, or the
// room ends: a room nobody took stays here, and other nodes find it by
// its owner again.
func (l *Link) reclaim(room string) {
	for {
		time.Sleep(reclaimEvery)
		l.mu.Lock()
		alive := l.alive[room]
		_, held := l.leases[room]
		l.mu.Unlock()
		if !alive || held {
			return // ended, or claimed again by a join meanwhile
		}
		if l.room(room) == nil {
			// Served alone, but the join that was to start it here did
			// not (refused): nothing to claim.
			l.mu.Lock()
			delete(l.alive, room)
			l.mu.Unlock()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
		lease, err := l.c.Claim(ctx, room)
		cancel()
		switch {
		case err == nil:
			l.keepLease(lease)
			return
		case errors.Is(err, cluster.ErrOwned):
			// This node was frozen or cut off long enough for another to
			// take the room over: send its members there.
			l.log.Warn("cluster: another node took a room that still lives here, sending its members there", "room", room, "err", err)
			l.mu.Lock()
			delete(l.alive, room)
			l.mu.Unlock()
			l.sendAway(room)
			return
		case errors.Is(err, cluster.ErrClosed):
			return
		}
	}
}

// RoomEnded gives up the home of a room that ended here: its keys go.
func (l *Link) RoomEnded(room string) {
	l.mu.Lock()
	lease := l.leases[room]
	delete(l.leases, room)
	delete(l.alive, room)
	l.mu.Unlock()
	l.stMu.Lock()
	delete(l.rooms, room)
	l.stMu.Unlock()
	if lease == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
	defer cancel()
	if err := lease.State().End(ctx); err != nil {
		l.log.Warn("cluster: ending room", "room", room, "err", err)
	}
}

// onOpen makes the virtual socket of a client held by ev.From, if room is
// homed here (or can be claimed); else it answers moved.
func (l *Link) onOpen(ev cluster.Event) {
	var o openMsg
	if err := json.Unmarshal(ev.Data, &o); err != nil || o.Conn == "" {
		l.stats.dropped.Add(1)
		return
	}
	key := connKey{ev.From, o.Conn}
	home, err := l.home(ev.Room, false)
	if errors.Is(err, ErrDraining) {
		_ = l.publishJSON(ev.From, ev.Room, typeClosed, connMsg{Conn: o.Conn, Reason: "server shutting down"})
		return
	}
	if err != nil {
		l.log.Warn("cluster: room home unknown, serving it here", "room", ev.Room, "err", err)
	}
	if home != l.self {
		l.stats.moved.Add(1)
		_ = l.publishJSON(ev.From, ev.Room, typeMoved, connMsg{Conn: o.Conn, Node: home})
		return
	}
	// h lives as long as the session: it keeps these, not the open
	// message (its headers and auth).
	from := ev.From
	h := &homed{l: l, key: key, room: ev.Room}
	r := relayedRequest(o)
	tr := engineio.Polling
	if o.Transport == "websocket" {
		tr = engineio.WebSocket
	}
	l.mu.Lock()
	if old := l.homed[key]; old != nil {
		l.mu.Unlock()
		return // an open sent again after moved: the first stands
	}
	sess, err := l.io.OpenRemote(r, o.Conn, tr, h.out, h.closed) // the client keeps its socket id
	if err != nil {
		l.mu.Unlock()
		_ = l.publishJSON(from, h.room, typeClosed, connMsg{Conn: o.Conn, Reason: "server shutting down"})
		return
	}
	h.sess = sess
	l.homed[key] = h
	l.edgeOf[o.Conn] = &edge{node: from}
	l.mu.Unlock()
	connect := []byte{'0'}
	if len(o.Auth) > 0 {
		connect = append(connect, o.Auth...)
	}
	sess.Deliver(connect, false)
	_ = l.publishJSON(from, h.room, typeOpened, connMsg{Conn: o.Conn})
}

// relayedRequest stands for the client's opening request at the edge.
func relayedRequest(o openMsg) *http.Request {
	h := http.Header{}
	for k, v := range o.Header {
		h[http.CanonicalHeaderKey(k)] = v
	}
	return &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/socket.io/"}, Header: h,
		RemoteAddr: o.Addr, Host: h.Get("Host"), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}

func (l *Link) dropHomed(key connKey, reason string) {
	l.mu.Lock()
	h := l.homed[key]
	l.mu.Unlock()
	if h != nil {
		h.sess.Abort(reason)
	}
}

// onIn delivers a client's packets to its virtual socket.
func (l *Link) onIn(ev cluster.Event) {
	conn, ps, err := decodePackets(ev.Data)
	if err != nil {
		l.stats.dropped.Add(1)
		return
	}
	l.mu.Lock()
	h := l.homed[connKey{ev.From, conn}]
	e := l.edgeOf[conn]
	l.mu.Unlock()
	if h == nil {
		l.stats.dropped.Add(1) // before open (moved) or after close
		return
	}
	if e != nil {
		for _, p := range ps {
			e.asked(p)
		}
	}
	l.stats.relayedIn.Add(int64(len(ps)))
	for _, p := range ps {
		h.sess.Deliver(p.Data, p.Binary)
	}
}

// onClose ends a virtual socket as its client's connection ended: a
// client's own disconnect leaves the room at once, a dropped connection
// keeps the participant's place for the grace period (signaling decides by
// the reason, as for a local socket).
func (l *Link) onClose(ev cluster.Event) {
	var m connMsg
	if json.Unmarshal(ev.Data, &m) != nil {
		l.stats.dropped.Add(1)
		return
	}
	key := connKey{ev.From, m.Conn}
	l.mu.Lock()
	h := l.homed[key]
	delete(l.homed, key) // no closed message back: the edge knows
	l.mu.Unlock()
	if h == nil {
		return
	}
	if m.Reason == "client namespace disconnect" {
		h.sess.Deliver([]byte{'1'}, false) // the client's DISCONNECT
	}
	h.sess.Abort(m.Reason)
}
