package clusterlink

import (
	"context"
	"errors"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/engineio"
	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/socketio"
)

// Taking a room over when its home dies.
//
// The home mirrors each of its rooms into Redis (cluster.RoomState, fenced
// by its lease): the link is the rooms' Store, told of every change to a
// room's shared state (rooms.Shared), and one goroutine per room writes
// what changed since its last write in one round trip, so that a burst of
// changes costs one write. Relayed events never touch this: only joins,
// leaves, resumes, chat, settings and the waiting room do.
//
// A node that claims a room whose epoch says it had an owner before
// (Epoch > 1) reads that state and hands it to signaling (Restorer), which
// makes the room again with everyone away for the grace period: they
// reconnect and resume with their tokens, under their ids, nobody told of
// a leave or a join.

// Restorer is what the link needs of this node's signaling to take a room
// over (signaling.Service implements it).
type Restorer interface {
	Restore(rooms.Shared) (*rooms.Room, error)
}

// SetRestorer gives the link this node's signaling; call it before the
// first join is served. Without one, a room whose home died starts afresh.
func (l *Link) SetRestorer(r Restorer) {
	l.stMu.Lock()
	l.restorer = r
	l.stMu.Unlock()
}

// tokenTTL is how long a mirrored resume token is good for (rooms'
// default TokenTTL).
const tokenTTL = 24 * time.Hour

// mirrorRetry is how long a failed write waits before the next try.
const mirrorRetry = 250 * time.Millisecond

// Changed is rooms.Store.Changed: it wakes the room's mirror. Called with
// the room locked, so it only notes and signals.
func (l *Link) Changed(r *rooms.Room) {
	l.stMu.Lock()
	l.rooms[r.ID()] = r
	m := l.mirrors[r.ID()]
	l.stMu.Unlock()
	if m != nil {
		m.kick()
	}
}

// room returns the room of this node's registry with this id, as Changed
// last saw it.
func (l *Link) room(id string) *rooms.Room {
	l.stMu.Lock()
	defer l.stMu.Unlock()
	return l.rooms[id]
}

// mirror writes one room's shared state under its lease. No goroutine
// waits for its changes (one per room was about 4 KiB of stack per
// meeting): a change starts a writer if none runs, which writes until
// nothing is left, then ends.
type mirror struct {
	l     *Link
	lease *cluster.Lease

	mu      sync.Mutex
	dirty   bool            // a change not written yet
	running bool            // a writer runs (drain)
	rewrite bool            // Redis lost its data: the next write is whole
	stopped bool            // the lease is lost: nothing more to write
	waiters []chan struct{} // Flush's: closed once a write that began after them ends

	// What Redis holds, as last written, used by the writer alone; synced
	// false: unknown, the next write is a full one.
	// Participants, people waiting and resume tokens are kept by
	// fingerprint, in one sorted slice: 40 bytes a participant (a map per
	// kind was about 2 KiB per meeting of ten, one map 0.8 KiB).
	synced   bool
	meta     cluster.Meta
	written  writtenList
	chatLast string
}

// written is what Redis holds of one participant, as fingerprints.
type written struct {
	part    uint64 // the participant, in the members or the waiting room
	resume  uint64 // its resume token's hashes
	waiting bool
}

// writtenList is written by participant id, sorted by id.
type writtenList []writtenEntry

type writtenEntry struct {
	id string
	written
}

func (wl writtenList) get(id string) (written, bool) {
	i, ok := slices.BinarySearchFunc(wl, id, func(e writtenEntry, id string) int { return strings.Compare(e.id, id) })
	if !ok {
		return written{}, false
	}
	return wl[i].written, true
}

// listOf is m as a writtenList.
func listOf(m map[string]written) writtenList {
	wl := make(writtenList, 0, len(m))
	for id, w := range m {
		wl = append(wl, writtenEntry{id, w})
	}
	slices.SortFunc(wl, func(a, b writtenEntry) int { return strings.Compare(a.id, b.id) })
	return wl
}

// kick notes a change, and starts a writer unless one runs.
func (m *mirror) kick() { m.wake(nil) }

// flushed is kick that also closes done once the change is written (or the
// lease lost).
func (m *mirror) flushed(done chan struct{}) { m.wake(done) }

func (m *mirror) wake(done chan struct{}) {
	m.mu.Lock()
	if m.stopped {
		m.mu.Unlock()
		if done != nil {
			close(done)
		}
		return
	}
	m.dirty = true
	if done != nil {
		m.waiters = append(m.waiters, done)
	}
	start := !m.running
	m.running = true
	m.mu.Unlock()
	if start {
		go m.drain()
	}
}

// drain writes until nothing changed since its last write.
func (m *mirror) drain() {
	for {
		m.mu.Lock()
		if m.stopped || !m.dirty {
			m.running = false
			m.mu.Unlock()
			return
		}
		m.dirty = false
		if m.rewrite {
			m.rewrite = false
			m.synced = false // Redis lost its data: everything again
		}
		waiters := m.waiters
		m.waiters = nil
		m.mu.Unlock()
		ok := m.write()
		for _, w := range waiters {
			close(w)
		}
		if !ok {
			m.stop()
			return
		}
	}
}

// stop ends the mirror: its lease is lost.
func (m *mirror) stop() {
	m.mu.Lock()
	m.stopped = true
	waiters := m.waiters
	m.waiters = nil
	m.mu.Unlock()
	for _, w := range waiters {
		close(w)
	}
	l := m.l
	l.stMu.Lock()
	if l.mirrors[m.lease.Room] == m {
		delete(l.mirrors, m.lease.Room)
	}
	l.stMu.Unlock()
}

// startMirror mirrors a room this node just became home to.
func (l *Link) startMirror(lease *cluster.Lease) {
	m := &mirror{l: l, lease: lease}
	l.stMu.Lock()
	l.mirrors[lease.Room] = m
	l.stMu.Unlock()
	lease.AfterLost(m.stop)
	lease.OnRewrite(func() {
		m.mu.Lock()
		m.rewrite = true
		m.mu.Unlock()
		m.kick()
	})
	m.kick() // a room already here (taken over, or claimed again) is written whole
}

// write brings the room's state in Redis up to date; false when the
// lease is lost.
func (m *mirror) write() bool {
	l := m.l
	r := l.room(m.lease.Room)
	if r == nil {
		return true // claimed before the first join is in
	}
	ch, next := m.diff(r.Shared())
	ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
	err := m.lease.State().Apply(ctx, ch)
	cancel()
	switch {
	case err == nil:
		m.meta, m.written, m.chatLast, m.synced = next.meta, next.written, next.chatLast, true
	case m.lease.Err() != nil || errors.Is(err, cluster.ErrFenced):
		return false
	default:
		// Redis away: whether the write landed is unknown, so the next
		// one is whole; it comes after a pause.
		l.log.Debug("cluster: mirroring room state failed, retrying", "room", m.lease.Room, "err", err)
		m.synced = false
		time.AfterFunc(mirrorRetry, m.kick)
	}
	return true
}

// Release gives up every room homed here, their state written first, so
// that the first participant back through another node has the meeting
// taken over at once instead of after its lease lapsed: for a node
// shutting down, after its connections closed.
func (l *Link) Release(ctx context.Context) {
	l.mu.Lock()
	leases := make([]*cluster.Lease, 0, len(l.leases))
	for room, lease := range l.leases {
		leases = append(leases, lease)
		delete(l.alive, room) // not to be claimed again when lost
	}
	l.mu.Unlock()
	for _, lease := range leases {
		l.stMu.Lock()
		m := l.mirrors[lease.Room]
		l.stMu.Unlock()
		if m != nil {
			done := make(chan struct{})
			m.flushed(done)
			select {
			case <-done:
			case <-ctx.Done():
			}
		}
		if err := lease.Release(ctx); err != nil {
			l.log.Warn("cluster: giving a room up", "room", lease.Room, "err", err)
		}
	}
	if len(leases) > 0 {
		l.log.Info("cluster: rooms given up for another node to take over", "rooms", len(leases))
	}
}

// diff is what to write to bring Redis from the mirror's last write to sh,
// and the mirror's state after it.
func (m *mirror) diff(sh rooms.Shared) (cluster.Change, *mirror) {
	l := m.l
	next := &mirror{}
	now := make(map[string]written, len(sh.Members)+len(sh.Waiting))
	next.meta = cluster.Meta{Locked: sh.Locked, PasswordHash: sh.PasswordHash, WaitingRoom: sh.WaitingRoom}
	if len(sh.Members) > 0 {
		next.meta.Host = sh.Members[0].ID
	}
	edges := l.edges()
	conv := func(sp rooms.SharedParticipant) cluster.Participant {
		p := cluster.Participant{ID: sp.ID, Name: sp.Name, Role: sp.Role, JoinedAt: sp.JoinedAt, Dialect: int(sp.Dialect), SFU: sp.SFU}
		switch {
		case sp.Socket == nil: // away: no node holds it
		case sp.Socket.Remote():
			p.Node = edges[sp.Socket.ID()]
		default:
			p.Node = l.self
		}
		return p
	}
	if n := len(sh.Chat); n > 0 {
		next.chatLast = sh.Chat[n-1].ID
	}
	ch := cluster.Change{Full: !m.synced}
	if !m.synced || next.meta != m.meta {
		meta := next.meta
		ch.Meta = &meta
	}
	ch.Put, ch.Gone = diffParts(m.written, now, sh.Members, conv, !m.synced, false)
	ch.PutWaiting, ch.GoneWaiting = diffParts(m.written, now, sh.Waiting, conv, !m.synced, true)
	expires := time.Now().Add(tokenTTL)
	for _, list := range [][]rooms.SharedParticipant{sh.Members, sh.Waiting} {
		for _, sp := range list {
			f := fingerprint(sp.TokenHash, sp.PrevHash)
			w := now[sp.ID]
			w.resume = f
			now[sp.ID] = w
			if old, ok := m.written.get(sp.ID); (!m.synced || !ok || old.resume != f) && sp.TokenHash != "" {
				ch.Resume = append(ch.Resume, cluster.Resume{Participant: sp.ID, TokenHash: sp.TokenHash, PrevHash: sp.PrevHash, Expires: expires})
			}
		}
	}
	for _, e := range m.written {
		if _, ok := now[e.id]; !ok && m.synced {
			ch.ResumeGone = append(ch.ResumeGone, e.id)
		}
	}
	next.written = listOf(now)
	ch.Chat = newChat(sh.Chat, m.chatLast, !m.synced)
	if m.synced && m.chatLast != "" && len(ch.Chat) == len(sh.Chat) {
		ch.ChatReplace = true // the last message written is no longer held: write the history whole
	}
	return ch, next
}

// diffParts is what changed in the members (or, with waiting, the waiting
// room) from old, the fingerprints of what was written, to list
// (everything with all); it notes list's fingerprints in now. Someone who
// went from one list to the other is put in the new one and gone from the
// old one: the members are diffed first, so now holds no one waiting yet
// when they are, and everyone when the waiting room is.
func diffParts(old writtenList, now map[string]written, list []rooms.SharedParticipant, conv func(rooms.SharedParticipant) cluster.Participant,
	all, waiting bool) (put []cluster.Participant, gone []string) {
	for _, sp := range list {
		p := conv(sp)
		f := fingerprint(p.ID, p.Name, p.Role, p.Node, strconv.FormatInt(p.JoinedAt.UnixNano(), 10),
			strconv.Itoa(p.Dialect), strconv.FormatBool(p.SFU))
		now[p.ID] = written{part: f, waiting: waiting}
		if o, ok := old.get(p.ID); all || !ok || o.waiting != waiting || o.part != f {
			put = append(put, p)
		}
	}
	if !all {
		for _, o := range old {
			if n, ok := now[o.id]; o.waiting == waiting && (!ok || n.waiting != waiting) {
				gone = append(gone, o.id)
			}
		}
	}
	return put, gone
}

// fingerprint identifies strings as a whole (FNV-1a, 64 bits).
func fingerprint(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// newChat is the messages after the one with id last (all of them when
// all, when last is "", or when it is no longer in the history).
func newChat(chat []rooms.ChatMessage, last string, all bool) []cluster.ChatMessage {
	start := 0
	if !all && last != "" {
		for i := len(chat) - 1; i >= 0; i-- {
			if chat[i].ID == last {
				start = i + 1
				break
			}
		}
	}
	out := make([]cluster.ChatMessage, 0, len(chat)-start)
	for _, c := range chat[start:] {
		out = append(out, cluster.ChatMessage{ID: c.ID, From: c.From, Name: c.Name, Text: c.Text, TS: c.TS})
	}
	return out
}

// edges maps the socket ids of the relayed sockets served here to the
// nodes holding them.
func (l *Link) edges() map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]string, len(l.homed))
	for k := range l.homed {
		m[k.conn] = k.node
	}
	return m
}

// takeOver makes a room again from the state its former home left in
// Redis, if it left any: lease is this node's new claim on it.
func (l *Link) takeOver(ctx context.Context, lease *cluster.Lease) {
	l.stMu.Lock()
	restorer := l.restorer
	l.stMu.Unlock()
	if restorer == nil {
		return
	}
	st, err := l.c.LoadRoom(ctx, lease.Room)
	if err != nil {
		l.log.Warn("cluster: reading the state of a room taken over; it starts afresh", "room", lease.Room, "err", err)
		return
	}
	if len(st.Participants)+len(st.Waiting) == 0 {
		return
	}
	r, err := restorer.Restore(sharedOf(st))
	if err != nil {
		if !errors.Is(err, rooms.ErrRoomExists) {
			l.log.Warn("cluster: taking a room over", "room", lease.Room, "err", err)
		}
		return
	}
	l.stMu.Lock()
	l.rooms[lease.Room] = r
	l.stMu.Unlock()
	l.stats.takenOver.Add(1)
	l.log.Info("cluster: room taken over from its former home", "room", lease.Room, "epoch", lease.Epoch,
		"members", len(st.Participants), "waiting", len(st.Waiting), "chat", len(st.Chat))
}

// sharedOf is the rooms package's view of a room's state in Redis: the
// host first in line, the others in join order.
func sharedOf(st cluster.Room) rooms.Shared {
	sh := rooms.Shared{ID: st.Name, Locked: st.Meta.Locked, PasswordHash: st.Meta.PasswordHash, WaitingRoom: st.Meta.WaitingRoom}
	conv := func(p cluster.Participant) rooms.SharedParticipant {
		sp := rooms.SharedParticipant{ID: p.ID, Name: p.Name, Role: p.Role, Dialect: rooms.Dialect(p.Dialect), SFU: p.SFU, JoinedAt: p.JoinedAt}
		if r, ok := st.Resume[p.ID]; ok {
			sp.TokenHash, sp.PrevHash = r.TokenHash, r.PrevHash
		}
		return sp
	}
	for _, p := range st.Participants {
		if p.ID == st.Meta.Host {
			sh.Members = append([]rooms.SharedParticipant{conv(p)}, sh.Members...)
		} else {
			sh.Members = append(sh.Members, conv(p))
		}
	}
	for _, p := range st.Waiting {
		sh.Waiting = append(sh.Waiting, conv(p))
	}
	for _, c := range st.Chat {
		sh.Chat = append(sh.Chat, rooms.ChatMessage{ID: c.ID, From: c.From, Name: c.Name, Text: c.Text, TS: c.TS})
	}
	return sh
}

// roomLock serializes the slow path of finding or claiming one room's
// home on this node, so that a second join waits for the first one's
// claim and takeover instead of racing past an unrestored room.
type roomLock struct {
	mu sync.Mutex
	n  int
}

func (l *Link) lockRoom(room string) func() {
	l.stMu.Lock()
	rl := l.claiming[room]
	if rl == nil {
		rl = &roomLock{}
		l.claiming[room] = rl
	}
	rl.n++
	l.stMu.Unlock()
	rl.mu.Lock()
	return func() {
		rl.mu.Unlock()
		l.stMu.Lock()
		if rl.n--; rl.n == 0 {
			delete(l.claiming, room)
		}
		l.stMu.Unlock()
	}
}

// edgeMemory is how long the node of a socket served here is remembered
// after the socket ended: signaling asks for what it missed (Undelivered)
// when its participant resumes, within the grace period.
const edgeMemory = time.Minute

func (l *Link) forgetEdge(conn, node string) {
	l.mu.Lock()
	if e := l.edgeOf[conn]; e != nil && e.node == node {
		delete(l.edgeOf, conn)
	}
	l.mu.Unlock()
}

// edge is what the home keeps of a socket relayed to it: the node holding
// it, and the last events its client sent asking for an ack, by ack id.
// When that node dies with acks undelivered, the client sends those events
// again on its next connection; signaling then answers them without doing
// them twice (Undelivered's second result).
type edge struct {
	node string

	mu     sync.Mutex
	ids    [8]int64 // ring; 0 unused (ack ids are compared +1)
	hashes [8]uint64
	next   int
}

// asked notes a client packet that is an event asking for an ack.
func (e *edge) asked(p engineio.Packet) {
	id, body, ok := ackID(p, '2')
	if !ok {
		return
	}
	h := signaling.EventHash(body)
	e.mu.Lock()
	e.ids[e.next], e.hashes[e.next] = id+1, h
	e.next = (e.next + 1) % len(e.ids)
	e.mu.Unlock()
}

// event is the hash of the event that asked for ack id, if kept.
func (e *edge) event(id int64) (uint64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, v := range e.ids {
		if v == id+1 {
			return e.hashes[i], true
		}
	}
	return 0, false
}

// ackID parses a main-namespace packet of type typ ('2' an event, '3' an
// ack) with an ack id: the id, and the packet from its '[' on.
func ackID(p engineio.Packet, typ byte) (int64, []byte, bool) {
	d := p.Data
	if p.Binary || len(d) < 3 || d[0] != typ || d[1] < '0' || d[1] > '9' {
		return 0, nil, false
	}
	var id int64
	i := 1
	for ; i < len(d) && d[i] >= '0' && d[i] <= '9' && i < 19; i++ {
		id = id*10 + int64(d[i]-'0')
	}
	if i >= len(d) || d[i] != '[' {
		return 0, nil, false
	}
	return id, d[i:], true
}

// Undelivered is signaling.RoomHome.Undelivered: the events sent to a
// socket relayed here that its node never handed to the client, read back
// from that node's stream (cluster.Undelivered), and the hashes of the
// client's events whose acks were among them.
func (l *Link) Undelivered(sock *socketio.Socket) ([]*socketio.Packet, []uint64) {
	if !sock.Remote() {
		return nil, nil
	}
	conn := sock.ID()
	l.mu.Lock()
	e := l.edgeOf[conn]
	l.mu.Unlock()
	if e == nil {
		return nil, nil
	}
	node := e.node
	ctx, cancel := context.WithTimeout(context.Background(), l.opTO)
	defer cancel()
	evs, err := l.c.Undelivered(ctx, node, func(ev cluster.Event) bool { return ev.Type == typeOut })
	if err != nil {
		l.log.Warn("cluster: reading what a relayed socket missed", "node", node, "err", err)
		return nil, nil
	}
	var out []*socketio.Packet
	var answered []uint64
	for _, ev := range evs {
		c, ps, err := decodePackets(ev.Data)
		if err != nil || c != conn {
			continue
		}
		for _, p := range ps {
			if pkt, ok := socketio.PacketOf(p); ok {
				out = append(out, pkt)
			} else if id, _, ok := ackID(p, '3'); ok {
				if h, ok := e.event(id); ok {
					answered = append(answered, h)
				}
			}
		}
	}
	l.stats.redelivered.Add(int64(len(out)))
	return out, answered
}

// sendAway closes the connections of a room's members here (those relayed
// from other nodes too), which then reconnect and resume at the room's
// home: this node's copy of the room is stale.
func (l *Link) sendAway(room string) {
	r := l.room(room)
	if r == nil {
		return
	}
	sh := r.Shared()
	n := 0
	for _, list := range [][]rooms.SharedParticipant{sh.Members, sh.Waiting} {
		for _, p := range list {
			if p.Socket != nil {
				p.Socket.Close("room moved")
				n++
			}
		}
	}
	l.log.Info("cluster: connections of a room taken over elsewhere closed", "room", room, "connections", n)
}

// flushWait bounds how long Flush holds a join or a setting up: a Redis
// that answers takes a millisecond, one that does not must not stall
// joins (the write goes on in the background).
const flushWait = 500 * time.Millisecond

// Flush is rooms.Store.Flush: it has the room's mirror write now and waits
// for it, at most flushWait.
func (l *Link) Flush(r *rooms.Room) {
	l.stMu.Lock()
	m := l.mirrors[r.ID()]
	l.stMu.Unlock()
	if m == nil {
		return // not homed here under a lease (Redis away): nothing to write to
	}
	timeout := time.NewTimer(flushWait)
	defer timeout.Stop()
	done := make(chan struct{})
	m.flushed(done)
	select {
	case <-done:
	case <-timeout.C:
	}
}
