package turn

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync/atomic"
)

// Errors of relay allocation.
var (
	ErrCapacity   = errors.New("turn: relay allocation limit reached")
	ErrNoPort     = errors.New("turn: no free relay port in range")
	ErrNoTCPRelay = errors.New("turn: TCP relay allocations are not supported")
)

// counters are the relay's statistics, updated without locks on the hot path.
type counters struct {
	relaySockets     atomic.Int64
	allocations      atomic.Uint64 // created since start
	bytesToPeers     atomic.Uint64
	bytesFromPeers   atomic.Uint64
	packetsToPeers   atomic.Uint64
	packetsFromPeers atomic.Uint64
	refusedPeers     atomic.Uint64
	authFailures     atomic.Uint64
	quotaRefusals    atomic.Uint64
	refusedRequests  atomic.Uint64
	revoked          atomic.Uint64
}

// relayPorts implements pion's RelayAddressGenerator: it opens the relayed
// UDP socket of an allocation inside the port range, advertises the public
// IP, caps the number of sockets and counts what they relay.
type relayPorts struct {
	bindIP     string // the relay sockets' local address
	advertised net.IP // the address put in XOR-RELAYED-ADDRESS
	min, max   int
	limit      int64
	peerOK     func(*net.UDPAddr) bool
	stats      *counters
	ledger     *ledger // tracks relay sockets, for Revoke
}

func (g *relayPorts) Validate() error {
	if g.min < 1 || g.max > 65535 || g.min > g.max || g.advertised == nil {
		return ErrBadPortRange
	}
	return nil
}

// AllocatePacketConn opens a relay socket on a random free port of the range.
func (g *relayPorts) AllocatePacketConn(network string, requestedPort int) (net.PacketConn, net.Addr, error) {
	if g.stats.relaySockets.Add(1) > g.limit {
		g.stats.relaySockets.Add(-1)
		return nil, nil, ErrCapacity
	}
	conn, err := g.listen(network, requestedPort)
	if err != nil {
		g.stats.relaySockets.Add(-1)
		return nil, nil, err
	}
	local := conn.LocalAddr().(*net.UDPAddr)
	relayed := &net.UDPAddr{IP: g.advertised, Port: local.Port}
	rc := &relayConn{UDPConn: conn, g: g, send: newSender(conn), relayed: relayed}
	rc.recv = newBatchReader(conn, relayReadBatch, 2048)
	g.ledger.addRelay(relayed, rc)
	return rc, relayed, nil
}

func (g *relayPorts) listen(network string, requestedPort int) (*net.UDPConn, error) {
	if requestedPort != 0 {
		if requestedPort < g.min || requestedPort > g.max {
			return nil, ErrNoPort
		}
		return net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(g.bindIP), Port: requestedPort})
	}
	span := g.max - g.min + 1
	start := rand.IntN(span)
	tries := min(span, 64)
	for i := range tries {
		port := g.min + (start+i*7919)%span // a stride prime to most spans spreads the tries
		c, err := net.ListenUDP(network, &net.UDPAddr{IP: net.ParseIP(g.bindIP), Port: port})
		if err == nil {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w %d-%d", ErrNoPort, g.min, g.max)
}

// AllocateConn is for RFC 6062 TCP relaying, which Huddle does not offer:
// WebRTC relays UDP (over a UDP, TCP or TLS connection to the relay).
func (g *relayPorts) AllocateConn(string, int) (net.Conn, net.Addr, error) {
	return nil, nil, ErrNoTCPRelay
}

// relayConn is an allocation's relayed socket. It counts what it relays
// and drops datagrams to or from peers the relay must not reach, beneath
// pion's permission check.
type relayConn struct {
	*net.UDPConn
	g       *relayPorts
	send    *sender // nil: WriteToUDP
	closed  atomic.Bool
	relayed net.Addr

	recv *batchReader // nil: ReadFromUDP; read by pion's one goroutine per socket
}

// relayReadBatch is how many datagrams from peers one read of a relay
// socket takes: a few, since every allocation has its buffers.
const relayReadBatch = 4

func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.readUDP(p)
		if err != nil {
			return n, addr, err
		}
		if !c.g.peerOK(addr) {
			c.g.stats.refusedPeers.Add(1)
			continue
		}
		c.g.stats.bytesFromPeers.Add(uint64(n))
		c.g.stats.packetsFromPeers.Add(1)
		return n, addr, nil
	}
}

// readUDP returns the next datagram.
func (c *relayConn) readUDP(p []byte) (int, *net.UDPAddr, error) {
	if c.recv == nil {
		return c.UDPConn.ReadFromUDP(p)
	}
	return c.recv.readFrom(p)
}

func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok || !c.g.peerOK(ua) {
		c.g.stats.refusedPeers.Add(1)
		return 0, fmt.Errorf("%w: %v", ErrPeerRefused, addr)
	}
	var n int
	var err error
	if c.send != nil && ua.IP.To4() != nil {
		n, err = c.send.sendTo(p, ua)
	} else {
		n, err = c.UDPConn.WriteToUDP(p, ua)
	}
	if err == nil {
		c.g.stats.bytesToPeers.Add(uint64(n))
		c.g.stats.packetsToPeers.Add(1)
	}
	return n, err
}

func (c *relayConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.g.stats.relaySockets.Add(-1)
		c.g.ledger.dropRelay(c.relayed)
	}
	return c.UDPConn.Close()
}
