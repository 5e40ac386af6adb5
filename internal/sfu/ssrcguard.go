package sfu

import (
	"encoding/binary"
	"net"
	"net/netip"
	"slices"
	"sync"

	"github.com/pion/ice/v4"
)

// A participant that has its connection's keys can send RTP of any SSRC.
// pion makes a stream for every SSRC it has not seen (about 3.7 KB, kept
// until the connection closes) before it finds that no track claims it:
// random SSRCs at a few thousand packets a second would grow the server
// by megabytes a second. So the packets a connection receives are
// checked before pion sees them: past maxSSRCs distinct SSRCs, RTP of a
// new one is dropped (DropTooManySSRCs). A browser sends a handful (each
// track's simulcast layers and their retransmissions), and a few more
// each time it renegotiates a new track.
//
// This guards the shared ports (Config.UDPPort, Config.TCPPort); without
// them pion owns the sockets.

// maxSSRCs is the most distinct RTP SSRCs one connection may send.
const maxSSRCs = 128

// ssrcGuard is what one connection (one ICE username) has sent.
type ssrcGuard struct {
	drops *dropCounter
	mu    sync.Mutex
	seen  []uint32
}

// allow reports whether the packet may go on to pion.
func (g *ssrcGuard) allow(b []byte) bool {
	// RTP and RTCP are version 2 (RFC 7983: first byte 128 to 191);
	// STUN and DTLS are not, and pass. RTCP's packet types, 192 to 223
	// in the second byte (RFC 5761), pass too: pion makes no stream
	// for the SSRCs it names.
	if len(b) < 12 || b[0]&0xc0 != 0x80 || (b[1] >= 192 && b[1] <= 223) {
		return true
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	g.mu.Lock()
	defer g.mu.Unlock()
	if slices.Contains(g.seen, ssrc) {
		return true
	}
	if len(g.seen) < maxSSRCs {
		g.seen = append(g.seen, ssrc)
		return true
	}
	g.drops.add(DropTooManySSRCs)
	return false
}

// guards hands out one ssrcGuard per ICE username, shared by the UDP and
// TCP candidates of a connection.
type guards struct {
	drops *dropCounter
	mu    sync.Mutex
	by    map[string]*ssrcGuard
}

func (gs *guards) get(ufrag string) *ssrcGuard {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	g := gs.by[ufrag]
	if g == nil {
		g = &ssrcGuard{drops: gs.drops}
		gs.by[ufrag] = g
	}
	return g
}

func (gs *guards) forget(ufrag string) {
	gs.mu.Lock()
	delete(gs.by, ufrag)
	gs.mu.Unlock()
}

// wrap returns c with its reads checked by g. The allocation-free
// AddrPort methods pion prefers are kept when c has them.
func wrap(c net.PacketConn, g *ssrcGuard) net.PacketConn {
	gc := guardedConn{PacketConn: c, g: g}
	if ap, ok := c.(ice.AddrPortReaderWriter); ok {
		return &guardedAddrPortConn{guardedConn: gc, ap: ap}
	}
	return &gc
}

type guardedConn struct {
	net.PacketConn
	g *ssrcGuard
}

func (c *guardedConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || c.g.allow(b[:n]) {
			return n, addr, err
		}
	}
}

type guardedAddrPortConn struct {
	guardedConn
	ap ice.AddrPortReaderWriter
}

func (c *guardedAddrPortConn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	for {
		n, addr, err := c.ap.ReadFromAddrPort(b)
		if err != nil || c.g.allow(b[:n]) {
			return n, addr, err
		}
	}
}

func (c *guardedAddrPortConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.ap.WriteToAddrPort(b, addr)
}

// guardedUDPMux is an ice.UDPMux whose connections are guarded.
type guardedUDPMux struct {
	ice.UDPMux
	gs *guards
}

func (m *guardedUDPMux) GetConn(ufrag string, addr net.Addr) (net.PacketConn, error) {
	c, err := m.UDPMux.GetConn(ufrag, addr)
	if err != nil {
		return nil, err
	}
	return wrap(c, m.gs.get(ufrag)), nil
}

func (m *guardedUDPMux) RemoveConnByUfrag(ufrag string) {
	m.UDPMux.RemoveConnByUfrag(ufrag)
	m.gs.forget(ufrag)
}

// guardedTCPMux is an ice.TCPMux whose connections are guarded.
type guardedTCPMux struct {
	*ice.TCPMuxDefault
	gs *guards
}

func (m *guardedTCPMux) GetConnByUfrag(ufrag string, isIPv6 bool, local net.IP) (net.PacketConn, error) {
	c, err := m.TCPMuxDefault.GetConnByUfrag(ufrag, isIPv6, local)
	if err != nil {
		return nil, err
	}
	return wrap(c, m.gs.get(ufrag)), nil
}

func (m *guardedTCPMux) RemoveConnByUfrag(ufrag string) {
	m.TCPMuxDefault.RemoveConnByUfrag(ufrag)
	m.gs.forget(ufrag)
}
