package server

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
)

// ErrTooManyConnections refuses a Socket.IO CONNECT from an address that
// already holds --max-conns-per-ip sessions. Its text is what the client
// sees in CONNECT_ERROR.
var ErrTooManyConnections = errors.New("too many connections")

// connLimiter counts the sessions of each client address. An IPv6 client
// is counted by its /64, the block one subscriber usually gets, or a single
// host could open a limit's worth of sessions per address it picks.
type connLimiter struct {
	max int // 0: no limit

	mu sync.Mutex
	n  map[netip.Prefix]int
}

func newConnLimiter(max int) *connLimiter {
	return &connLimiter{max: max, n: map[netip.Prefix]int{}}
}

// acquire takes one session for ip; false means the address is at its limit.
func (l *connLimiter) acquire(ip netip.Addr) bool {
	key := limitKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.n[key] >= l.max {
		return false
	}
	l.n[key]++
	return true
}

// release gives back a session taken by acquire.
func (l *connLimiter) release(ip netip.Addr) {
	key := limitKey(ip)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n[key] <= 1 {
		delete(l.n, key) // keep the map as small as the set of live clients
		return
	}
	l.n[key]--
}

// count returns the sessions held by ip's address block.
func (l *connLimiter) count(ip netip.Addr) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n[limitKey(ip)]
}

func limitKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// clientIP returns the address of the client of a request from remoteAddr
// with these X-Forwarded-For values. With trustProxy it is the last
// X-Forwarded-For entry: the one the trusted reverse proxy appended.
// Earlier entries are whatever the client wrote and prove nothing.
func clientIP(remoteAddr string, xff []string, trustProxy bool) netip.Addr {
	if trustProxy {
		if len(xff) > 0 {
			last := xff[len(xff)-1]
			last = strings.TrimSpace(last[strings.LastIndexByte(last, ',')+1:])
			if ip, err := netip.ParseAddr(last); err == nil {
				return ip.Unmap()
			}
		}
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{} // unknown peers (tests, pipes) share one zero key
	}
	return ip.Unmap()
}
