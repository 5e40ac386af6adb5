package turn

import (
	"context"
	"crypto/tls"
	"encoding/binary"
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

// cappedPacketConn is the relay's UDP socket as pion sees it: Allocate and
// Refresh requests come out of ReadFrom with their lifetime capped. On
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

func newCappedPacketConn(c net.PacketConn, s *Server) *cappedPacketConn {
	cc := &cappedPacketConn{PacketConn: c, s: s, batch: newBatchReader(c, readBatch, 2048)}
	if uc, ok := c.(*net.UDPConn); ok && cc.batch != nil {
		cc.send = newSender(uc)
	}
	return cc
}

func (c *cappedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.read(p)
	if err == nil && n >= stunHeaderLen && p[0] == 0 && (p[1] == typeAllocateRequest || p[1] == typeRefreshRequest) {
		out := capLifetime(p[:n], c.s.maxLifetimeSeconds(), c.s.longTermKey)
		if len(out) <= len(p) {
			n = copy(p, out)
		}
	}
	return n, addr, err
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
// padded to 4 bytes) so it can cap lifetimes like cappedPacketConn, and it
// closes connections that stay idle or never finish the TLS handshake.
type framedConn struct {
	net.Conn
	s *Server
	l *trackedListener

	handshaken bool
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
		c.Conn.SetReadDeadline(time.Now().Add(idleTimeout))
		n, err := c.Conn.Read(c.buf[:])
		if n > 0 {
			c.raw = append(c.raw, c.buf[:n]...)
			c.cut()
		}
		if err != nil && len(c.ready) == 0 {
			return 0, err
		}
	}
	n := copy(p, c.ready)
	c.ready = c.ready[n:]
	return n, nil
}

// cut moves every whole frame from raw to ready, capping lifetimes on the
// way. Bytes that are no frame at all are passed on as they are: pion then
// rejects them and drops the connection.
func (c *framedConn) cut() {
	for {
		size, ok := frameSize(c.raw)
		if !ok {
			c.ready = append(c.ready, c.raw...)
			c.raw = c.raw[:0]
			return
		}
		if size < 0 || size > len(c.raw) {
			return // partial frame: wait for more
		}
		frame := c.raw[:size]
		if frame[0] == 0 && (frame[1] == typeAllocateRequest || frame[1] == typeRefreshRequest) {
			frame = capLifetime(frame, c.s.maxLifetimeSeconds(), c.s.longTermKey)
		}
		c.ready = append(c.ready, frame...)
		c.raw = append(c.raw[:0], c.raw[size:]...)
	}
}

// frameSize returns the size of the frame at the head of b, -1 when b is
// too short to tell, and false when b does not start with a frame.
func frameSize(b []byte) (int, bool) {
	if len(b) < 4 {
		return -1, len(b) == 0 || b[0] < 0x80
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	switch {
	case b[0]&0xC0 == 0: // STUN
		return stunHeaderLen + n, true
	case b[0] >= 0x40 && b[0] < 0x80: // ChannelData, padded over streams
		return 4 + (n+3)&^3, true
	}
	return 0, false
}

func (c *framedConn) Close() error {
	c.l.forget(c)
	return c.Conn.Close()
}
