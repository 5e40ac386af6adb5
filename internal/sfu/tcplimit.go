package sfu

import (
	"net"
	"net/netip"
	"sync"

	"github.com/huddlehq/huddle/internal/iplimit"
)

// maxTCPPerIP bounds the ICE-TCP connections one client address (IPv6:
// its /64) holds at once. A participant holds two (one per peer
// connection); 64 lets a few dozen people behind one NAT use ICE-TCP,
// and keeps one host from holding the port's file descriptors.
const maxTCPPerIP = 64

// tcpLimiter is the ICE-TCP listener, closing at accept a connection
// from an address over maxTCPPerIP (counted as DropTCPLimit).
type tcpLimiter struct {
	net.Listener
	per   *iplimit.Counter
	drops *dropCounter
}

func (l *tcpLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.per.Acquire(ip) {
			return &limitedConn{Conn: c, release: func() { l.per.Release(ip) }}, nil
		}
		l.drops.add(DropTCPLimit)
		_ = c.Close()
	}
}

func remoteIP(c net.Conn) netip.Addr {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its slot back once, when closed.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
