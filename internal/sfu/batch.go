package sfu

import (
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchConn is a UDP socket shared by many connections (pion's UDP mux)
// whose writes, while a fan-out is under way, are gathered and sent with
// one sendmmsg each maxBatch datagrams instead of one sendto each: a
// forwarded packet goes to every subscriber through the same socket,
// and one system call per packet per subscriber was a quarter of the
// server's CPU. Outside a fan-out (begin/end), a write goes at once.
//
// Every end flushes what is queued, its own fan-out's packets and any
// other writer's that came meanwhile, so a datagram waits at most for the
// fan-out under way to finish.
type batchConn struct {
	*net.UDPConn
	// raw sends and reads with raw system calls (batch_linux.go); nil
	// elsewhere, where w sends the batches.
	raw *rawBatch
	w   interface {
		WriteBatch([]ipv4.Message, int) (int, error)
	}

	mu    sync.Mutex
	open  int // fan-outs under way
	n     int // datagrams queued
	msgs  []ipv4.Message
	bufs  [][]byte
	addrs []net.UDPAddr
	ips   [][16]byte
	err   error // the last failed flush's, for the next write

	flushes, sent uint64 // for tests and figures
}

// maxBatch is the datagrams one sendmmsg carries at most.
const maxBatch = 64

func newBatchConn(c *net.UDPConn) *batchConn {
	b := &batchConn{UDPConn: c, msgs: make([]ipv4.Message, maxBatch), bufs: make([][]byte, maxBatch),
		addrs: make([]net.UDPAddr, maxBatch), ips: make([][16]byte, maxBatch)}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && a.IP != nil {
		b.w = ipv6.NewPacketConn(c)
	} else {
		b.w = ipv4.NewPacketConn(c)
	}
	for i := range b.msgs {
		b.bufs[i] = make([]byte, 0, receiveMTU+64)
		b.msgs[i].Buffers = [][]byte{nil}
	}
	b.raw = newRawBatch(c, maxBatch)
	return b
}

// begin and end mark a fan-out.
func (b *batchConn) begin() {
	b.mu.Lock()
	b.open++
	b.mu.Unlock()
}

func (b *batchConn) end() {
	b.mu.Lock()
	b.open--
	b.flushLocked()
	b.mu.Unlock()
}

// WriteTo queues the datagram during a fan-out, else sends it.
func (b *batchConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return b.UDPConn.WriteTo(p, addr)
	}
	return b.WriteToAddrPort(p, ua.AddrPort())
}

// WriteToAddrPort is WriteTo without a net.Addr (pion's mux prefers it).
func (b *batchConn) WriteToAddrPort(p []byte, addr netip.AddrPort) (int, error) {
	b.mu.Lock()
	if b.open == 0 || len(p) > cap(b.bufs[0]) {
		if b.raw != nil && b.n == 0 && b.raw.set(0, p, addr) {
			// At once, as one datagram of a batch: slot 0 is free
			// outside a fan-out.
			_, err := b.raw.send(0, 1)
			b.mu.Unlock()
			if err != nil {
				return 0, err
			}
			return len(p), nil
		}
		b.mu.Unlock()
		return b.UDPConn.WriteToUDPAddrPort(p, addr)
	}
	if err := b.err; err != nil {
		b.err = nil
		b.mu.Unlock()
		return 0, err
	}
	i := b.n
	b.bufs[i] = append(b.bufs[i][:0], p...)
	if b.raw != nil {
		if !b.raw.set(i, b.bufs[i], addr) {
			b.mu.Unlock()
			return b.UDPConn.WriteToUDPAddrPort(p, addr)
		}
		b.n++
		if b.n == maxBatch {
			b.flushLocked()
		}
		b.mu.Unlock()
		return len(p), nil
	}
	b.msgs[i].Buffers[0] = b.bufs[i]
	b.ips[i] = addr.Addr().As16()
	ip := net.IP(b.ips[i][:])
	if addr.Addr().Is4() || addr.Addr().Is4In6() {
		ip = ip[12:16]
	}
	b.addrs[i] = net.UDPAddr{IP: ip, Port: int(addr.Port())}
	b.msgs[i].Addr = &b.addrs[i]
	b.n++
	if b.n == maxBatch {
		b.flushLocked()
	}
	b.mu.Unlock()
	return len(p), nil
}

// flushLocked sends what is queued; b.mu is held. A datagram the kernel
// refuses is dropped, as a lost packet would be.
func (b *batchConn) flushLocked() {
	for done := 0; done < b.n; {
		var n int
		var err error
		if b.raw != nil {
			n, err = b.raw.send(done, b.n)
		} else {
			n, err = b.w.WriteBatch(b.msgs[done:b.n], 0)
		}
		b.flushes++
		if err != nil {
			b.err = err
			n = max(n, 1) // skip the one that failed
		}
		done += n
		b.sent += uint64(n)
	}
	b.n = 0
}

// ReadFromAddrPort keeps pion's mux on its allocation-free read path.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	if b.raw != nil {
		return b.raw.readFrom(p)
	}
	return b.UDPConn.ReadFromUDPAddrPort(p)
}

// batchSet is the SFU's batching sockets: a fan-out begins and ends a
// batch on each.
type batchSet struct {
	mu    sync.RWMutex
	conns []*batchConn
}

func (s *batchSet) add(b *batchConn) {
	s.mu.Lock()
	s.conns = append(s.conns, b)
	s.mu.Unlock()
}

func (s *batchSet) begin() {
	s.mu.RLock()
	for _, c := range s.conns {
		c.begin()
	}
	s.mu.RUnlock()
}

func (s *batchSet) end() {
	s.mu.RLock()
	for _, c := range s.conns {
		c.end()
	}
	s.mu.RUnlock()
}
