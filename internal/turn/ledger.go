package turn

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
)

// ledger knows the relay's allocations: how many each participant (the
// user part of the username, so re-minted credentials do not reset it)
// and each client address hold, which relay socket each has, and which
// participants were revoked.
//
// pion asks the quota before it creates an allocation and reports the
// creation afterwards; a creation can still fail in between (no free
// port). A granted request is therefore held as a reservation of its
// client address until its creation is reported, or for pendingTTL at
// most.
type ledger struct {
	perUser int
	ips     *iplimit.Counter // allocations and reservations per client IP
	ttl     time.Duration    // credential lifetime: how long a revocation lasts
	now     func() time.Time

	mu       sync.Mutex
	users    map[string]int           // allocations and reservations per participant
	pending  map[string][]reservation // by client transport address, oldest first
	live     map[string]*allocEntry   // by 5-tuple
	byUser   map[string]map[*allocEntry]struct{}
	relays   map[string]*relayConn // by relayed address, from AllocatePacketConn
	revoked  map[string]time.Time  // participant → end of its revocation
	sweptRev time.Time
}

type reservation struct {
	user string
	ip   netip.Addr
	at   time.Time
}

// allocEntry is one live allocation.
type allocEntry struct {
	user, username string
	client         string // clientKey of its transport address
	ip             netip.Addr
	ipHeld         bool // a slot of ips is held for it
	relay          *relayConn
}

const pendingTTL = 5 * time.Second

// Why a reservation was refused.
const (
	reserved = iota
	overUser
	overIP
)

func newLedger(perUser, perIP int, ttl time.Duration) *ledger {
	return &ledger{
		perUser: perUser, ips: iplimit.NewCounter(perIP), ttl: ttl, now: time.Now,
		users: map[string]int{}, pending: map[string][]reservation{}, live: map[string]*allocEntry{},
		byUser: map[string]map[*allocEntry]struct{}{}, relays: map[string]*relayConn{},
		revoked: map[string]time.Time{},
	}
}

// clientKey names a client's transport address; UDP and TCP clients may
// share an IP and port.
func clientKey(a net.Addr) string { return a.Network() + " " + a.String() }

func fiveTupleKey(src, dst net.Addr) string { return clientKey(src) + " " + dst.String() }

// addrIP is the IP of a UDP or TCP address (the zero Addr otherwise: all
// such clients share one key).
func addrIP(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return iplimit.ClientIP(a.String(), nil, false)
}

// reserve holds an allocation for user from client, or reports which
// limit it reached.
func (l *ledger) reserve(user string, client net.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.expirePending()
	if l.users[user] >= l.perUser {
		return overUser
	}
	ip := addrIP(client)
	if !l.ips.Acquire(ip) {
		return overIP
	}
	l.users[user]++
	k := clientKey(client)
	l.pending[k] = append(l.pending[k], reservation{user: user, ip: ip, at: l.now()})
	return reserved
}

// expirePending gives back reservations whose allocation never came.
func (l *ledger) expirePending() {
	now := l.now()
	for k, p := range l.pending {
		for len(p) > 0 && now.Sub(p[0].at) > pendingTTL {
			l.unreserve(p[0].user, p[0].ip, true)
			p = p[1:]
		}
		l.setPending(k, p)
	}
}

func (l *ledger) unreserve(user string, ip netip.Addr, ipHeld bool) {
	if l.users[user] <= 1 {
		delete(l.users, user)
	} else {
		l.users[user]--
	}
	if ipHeld {
		l.ips.Release(ip)
	}
}

func (l *ledger) setPending(k string, p []reservation) {
	if len(p) == 0 {
		delete(l.pending, k)
		return
	}
	l.pending[k] = p
}

// addRelay and dropRelay track the relay sockets, so that an allocation
// (which pion reports by its relayed address) can be ended by closing its
// socket: pion then deletes the allocation.
func (l *ledger) addRelay(addr net.Addr, c *relayConn) {
	l.mu.Lock()
	l.relays[addr.String()] = c
	l.mu.Unlock()
}

func (l *ledger) dropRelay(addr net.Addr) {
	l.mu.Lock()
	delete(l.relays, addr.String())
	l.mu.Unlock()
}

// created turns the client's reservation into a live allocation. It
// returns the relay socket to close when the participant was revoked
// meanwhile (the request was authenticated before the revocation).
func (l *ledger) created(src, dst net.Addr, username string, relayed net.Addr) *relayConn {
	_, user, _ := ParseUsername(username)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &allocEntry{user: user, username: username, client: clientKey(src), ip: addrIP(src),
		relay: l.relays[relayed.String()]}
	if p := l.pending[e.client]; len(p) > 0 {
		// pion creates what it reserved from this address, in order.
		e.ipHeld = true
		if p[0].user != user { // another participant's credentials on the same address
			l.unreserve(p[0].user, p[0].ip, false)
			l.users[user]++
		}
		l.setPending(e.client, p[1:])
	} else { // the reservation expired: count it again
		e.ipHeld = l.ips.Acquire(e.ip)
		l.users[user]++
	}
	l.live[fiveTupleKey(src, dst)] = e
	if l.byUser[user] == nil {
		l.byUser[user] = map[*allocEntry]struct{}{}
	}
	l.byUser[user][e] = struct{}{}
	if l.isRevoked(user) {
		return e.relay
	}
	return nil
}

// deleted forgets an allocation pion deleted.
func (l *ledger) deleted(src, dst net.Addr) {
	k := fiveTupleKey(src, dst)
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.live[k]
	if e == nil {
		return
	}
	delete(l.live, k)
	if set := l.byUser[e.user]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(l.byUser, e.user)
		}
	}
	l.unreserve(e.user, e.ip, e.ipHeld)
}

// holds reports whether client has a live allocation made with username.
func (l *ledger) holds(client net.Addr, username string) bool {
	_, user, err := ParseUsername(username)
	if err != nil {
		return false
	}
	k := clientKey(client)
	l.mu.Lock()
	defer l.mu.Unlock()
	for e := range l.byUser[user] {
		if e.client == k && e.username == username {
			return true
		}
	}
	return false
}

// revoke refuses user's credentials for the credential TTL and returns
// the relay sockets of its allocations, to close. Every credential minted
// for user so far expires within the TTL (the relay and the credentials
// handed to clients share the Config), and a participant that left does
// not come back under its id, so refusing the id outright for that long
// needs no knowledge of when each credential was minted.
func (l *ledger) revoke(user string) []*relayConn {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweptRev) >= time.Minute {
		l.sweptRev = now
		for u, until := range l.revoked {
			if !now.Before(until) {
				delete(l.revoked, u)
			}
		}
	}
	l.revoked[user] = now.Add(l.ttl)
	var out []*relayConn
	for e := range l.byUser[user] {
		if e.relay != nil {
			out = append(out, e.relay)
		}
	}
	return out
}

// revokedUser reports whether user's credentials are refused.
func (l *ledger) revokedUser(user string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.isRevoked(user)
}

func (l *ledger) isRevoked(user string) bool {
	until, ok := l.revoked[user]
	return ok && l.now().Before(until)
}
