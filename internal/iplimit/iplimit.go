// Package iplimit counts what one client address holds or does, so that a
// single IP (or IPv6 /64) cannot take a server's connections, sessions,
// rooms or relay allocations for itself. It knows nothing of HTTP or
// Socket.IO: callers pass the address they trust (see ClientIP).
package iplimit

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Key is the block an address is counted by: an IPv4 address alone, an
// IPv6 address by its /64, the block one subscriber usually gets (or a
// single host could pick a new address for every connection). An
// IPv4-mapped IPv6 address counts as its IPv4 form.
func Key(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// ClientIP returns the address of the client of a request from remoteAddr
// with these X-Forwarded-For values. With trustProxy it is the last
// X-Forwarded-For entry: the one the trusted reverse proxy appended.
// Earlier entries are whatever the client wrote and prove nothing. An
// address that cannot be parsed is the zero Addr (all such peers share
// one key).
func ClientIP(remoteAddr string, xff []string, trustProxy bool) netip.Addr {
	if trustProxy && len(xff) > 0 {
		last := xff[len(xff)-1]
		last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
		if ip, err := netip.ParseAddr(last); err == nil {
			return ip.Unmap()
		}
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// Counter counts what each address holds at once (connections, sessions,
// allocations) against a maximum. It is safe for concurrent use.
type Counter struct {
	max int // 0: no limit

	mu sync.Mutex
	n  map[netip.Prefix]int
}

// NewCounter returns a Counter that lets each address hold max things at
// once; max 0 means no limit (counting still happens).
func NewCounter(max int) *Counter {
	return &Counter{max: max, n: map[netip.Prefix]int{}}
}

// Acquire takes one slot for ip; false means the address is at its limit
// and nothing was taken.
func (c *Counter) Acquire(ip netip.Addr) bool {
	key := Key(ip)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.max > 0 && c.n[key] >= c.max {
		return false
	}
	c.n[key]++
	return true
}

// Release gives back a slot taken by Acquire.
func (c *Counter) Release(ip netip.Addr) {
	key := Key(ip)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n[key] <= 1 {
		delete(c.n, key) // keep the map as small as the set of live clients
		return
	}
	c.n[key]--
}

// Count returns the slots held by ip's block.
func (c *Counter) Count(ip netip.Addr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[Key(ip)]
}

// Addresses returns how many address blocks hold at least one slot.
func (c *Counter) Addresses() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.n)
}

// Rate lets each address do something at most n times per window (rooms
// created per minute, say), counted in a fixed window per address. It is
// safe for concurrent use; addresses whose window has passed are forgotten.
type Rate struct {
	n      int // 0: no limit
	window time.Duration
	now    func() time.Time

	mu    sync.Mutex
	seen  map[netip.Prefix]*rateWindow
	sweep time.Time
}

type rateWindow struct {
	start time.Time
	count int
}

// NewRate returns a Rate of n per window; n 0 means no limit.
func NewRate(n int, window time.Duration) *Rate {
	return &Rate{n: n, window: window, now: time.Now, seen: map[netip.Prefix]*rateWindow{}}
}

// Allow counts one event for ip and reports whether it is within the rate;
// an event refused is not counted.
func (r *Rate) Allow(ip netip.Addr) bool {
	if r.n <= 0 {
		return true
	}
	key := Key(ip)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	r.forgetOld(now)
	w := r.seen[key]
	if w == nil || now.Sub(w.start) >= r.window {
		w = &rateWindow{start: now}
		r.seen[key] = w
	}
	if w.count >= r.n {
		return false
	}
	w.count++
	return true
}

// Spent reports whether ip has used up its rate in the current window,
// without counting an event: a login checks it before comparing a
// password, so that once the wrong guesses are spent a right one is not
// even tried until the window passes.
func (r *Rate) Spent(ip netip.Addr) bool {
	if r.n <= 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.seen[Key(ip)]
	return w != nil && r.now().Sub(w.start) < r.window && w.count >= r.n
}

// forgetOld drops finished windows, at most once per window, so the map
// stays as small as the set of recently active addresses.
func (r *Rate) forgetOld(now time.Time) {
	if now.Sub(r.sweep) < r.window {
		return
	}
	r.sweep = now
	for k, w := range r.seen {
		if now.Sub(w.start) >= r.window {
			delete(r.seen, k)
		}
	}
}
