package turn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"time"
)

// Timeouts of client connections over TCP and TLS. A WebRTC client talks
// to its relay every few seconds (consent checks), so a connection idle
// for idleTimeout is dead or abusive.
const (
	tlsHandshakeTimeout = 10 * time.Second
	idleTimeout         = 5 * time.Minute
)

// cappedPacketConn is the relay's UDP socket as pion sees it: requests
// come out of ReadFrom screened (see screenRequest), Allocate and Refresh
// with their lifetime capped. On
// IPv4 sockets it reads datagrams in batches (recvmmsg), so under load one
// wake-up of pion's read loop serves many packets, and it sends with a raw
// sendto (see batchReader and sender for why raw).
type cappedPacketConn struct {
	net.PacketConn
	s *Server

	batch *batchReader // nil: one datagram per read
	send  *sender      // nil: the socket's WriteTo
}

const readBatch = 32

// errBadFrame ends a TCP or TLS connection whose stream is not STUN and
// ChannelData frames.
var errBadFrame = errors.New("turn: stream is not STUN or ChannelData")

func newCappedPacketConn(c net.PacketConn, s *Server) *cappedPacketConn {
	cc := &cappedPacketConn{PacketConn: c, s: s, batch: newBatchReader(c, readBatch, 2048)}
	if uc, ok := c.(*net.UDPConn); ok && cc.batch != nil {
		cc.send = newSender(uc)
	}
	return cc
}

func (c *cappedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.read(p)
		if err != nil || n < stunHeaderLen || n >= len(p) || p[0]&0xC0 == 0x40 {
			// ChannelData (0x40-0x7F: pion takes every such datagram that
			// fits its length for ChannelData), or too short or long for
			// pion to read: the fast path, nothing to screen.
			return n, addr, err
		}
		if p[0] >= 0x80 {
			// Not STUN (RFC 5389: the top bits are zero), but pion drops
			// those bits and would read the rest as a message.
			c.s.stats.refusedRequests.Add(1)
			continue
		}
		if !isRequest(p) {
			return n, addr, nil
		}
		out, ok := screenRequest(p[:n], c.s.maxLifetimeSeconds(), c.s.anyKey)
		if ok && len(out) < len(p) {
			return copy(p, out), addr, nil
		}
		c.s.refuseRequest(addr)
		c.WriteTo(badRequest(p[:n]), addr)
	}
}

// read returns the next datagram. pion reads from one goroutine per
// socket, as the batch needs.
func (c *cappedPacketConn) read(p []byte) (int, net.Addr, error) {
	if c.batch == nil {
		return c.PacketConn.ReadFrom(p)
	}
	// A datagram longer than p fills it: pion drops reads of its full MTU.
	n, addr, err := c.batch.readFrom(p)
	if err != nil {
		return 0, nil, err
	}
	return n, addr, nil
}

func (c *cappedPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	if ua, ok := addr.(*net.UDPAddr); ok && c.send != nil && ua.IP.To4() != nil {
		return c.send.sendTo(p, ua)
	}
	return c.PacketConn.WriteTo(p, addr)
}

func (s *Server) maxLifetimeSeconds() uint32 {
	return uint32(max(s.cfg.MaxLifetime/time.Second, 1))
}

// trackedListener hands pion framedConns and remembers them so that Close
// can end them: pion leaves accepted connections open when it stops.
type trackedListener struct {
	net.Listener
	s *Server

	mu     sync.Mutex
	conns  map[*framedConn]struct{}
	closed bool
}

func newTrackedListener(l net.Listener, s *Server) *trackedListener {
	return &trackedListener{Listener: l, s: s, conns: map[*framedConn]struct{}{}}
}

func (l *trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	fc := &framedConn{Conn: c, s: l.s, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[fc] = struct{}{}
	return fc, nil
}

func (l *trackedListener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[*framedConn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
	}
	return err
}

func (l *trackedListener) forget(c *framedConn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

// framedConn is a client's TCP or TLS connection. It cuts the stream into
// STUN messages and ChannelData frames (RFC 6062 framing: ChannelData
// padded to 4 bytes) so it can screen requests like cappedPacketConn, and it
// closes connections that stay idle or never finish the TLS handshake.
type framedConn struct {
	net.Conn
	s *Server
	l *trackedListener

	handshaken bool
	bad        bool   // raw holds no frame: the connection ends after ready
	raw        []byte // received, not yet a whole frame
	ready      []byte // whole frames not yet read by pion
	buf        [16384]byte
}

func (c *framedConn) Read(p []byte) (int, error) {
	if !c.handshaken {
		c.handshaken = true
		if tc, ok := c.Conn.(*tls.Conn); ok {
			ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
			err := tc.HandshakeContext(ctx)
			cancel()
			if err != nil {
				return 0, err
			}
		}
	}
	for len(c.ready) == 0 {
		if c.bad {
			return 0, errBadFrame
		}
		c.Conn.SetReadDeadline(time.Now().Add(idleTimeout))
		n, err := c.Conn.Read(c.buf[:])
		if n > 0 {
			c.raw = append(c.raw, c.buf[:n]...)
			c.bad = !c.cut()
		}
		if err != nil && len(c.ready) == 0 {
			return 0, err
		}
	}
	n := copy(p, c.ready)
	c.ready = c.ready[n:]
	return n, nil
}

// cut moves every whole frame from raw to ready, screening requests on
// the way (see screenRequest). It reports false when raw does not start
// with a frame that pion would cut the same way: the connection must end.
func (c *framedConn) cut() bool {
	for {
		size, ok := frameSize(c.raw)
		if !ok {
			c.s.refuseRequest(c.RemoteAddr())
			return false
		}
		if size < 0 || size > len(c.raw) {
			return true // partial frame: wait for more
		}
		frame := c.raw[:size]
		if frame[0] < 0x40 && isRequest(frame) {
			out, ok := screenRequest(frame, c.s.maxLifetimeSeconds(), c.s.anyKey)
			if !ok {
				c.s.refuseRequest(c.RemoteAddr())
				c.Conn.Write(badRequest(frame)) // whole-message writes do not interleave with pion's
				out = nil
			}
			frame = out
		}
		c.ready = append(c.ready, frame...)
		c.raw = append(c.raw[:0], c.raw[size:]...)
	}
}

// frameSize returns the size of the frame at the head of b, -1 when b is
// too short to tell, and false when b does not start with a frame that
// pion's STUNConn cuts the same way. pion takes anything with the magic
// cookie at bytes 4-8 for STUN (ignoring the type's top bits), and else a
// valid channel number for ChannelData: a STUN message must therefore
// start with 0b00 and have the cookie, ChannelData start with 0b01 and
// not have it. Deciding on 8 bytes is safe: pion needs 9 to decide.
func frameSize(b []byte) (int, bool) {
	switch {
	case len(b) == 0:
		return -1, true
	case b[0] >= 0x80:
		return 0, false
	case len(b) < 8:
		return -1, true
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	cookie := binary.BigEndian.Uint32(b[4:8]) == stunMagicCookie
	if b[0] < 0x40 {
		return stunHeaderLen + n, cookie
	}
	return 4 + (n+3)&^3, !cookie // ChannelData, padded over streams
}

func (c *framedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}
