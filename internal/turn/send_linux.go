//go:build linux

package turn

import (
	"net"
	"sync"
	"syscall"
	"unsafe"

	"github.com/huddlehq/huddle/internal/rawsock"
)

// sender sends an IPv4 UDP socket's datagrams (a relay socket's to peers,
// the listener's to clients) with a raw sendto(2), without Go's
// system-call bookkeeping (see package rawsock) or net's address
// conversion. A send on a non-blocking UDP socket never waits: a full
// buffer answers EAGAIN, and RawConn.Write then waits for room the usual
// way. Senders of one socket share it under mu, as net's writes share the
// socket's write lock.
type sender struct {
	raw syscall.RawConn
	mu  sync.Mutex // guards what follows, the arguments and results of fn
	sa  syscall.RawSockaddrInet4
	n   int
	err syscall.Errno
	p   []byte
	fn  func(fd uintptr) bool // send, made once: a closure per packet would allocate
}

// newSender returns the sender of conn, or nil when conn is not an IPv4
// socket (WriteToUDP is used then).
func newSender(conn *net.UDPConn) *sender {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil
	}
	ipv4 := false
	_ = raw.Control(func(fd uintptr) {
		sa, err := syscall.Getsockname(int(fd))
		_, ipv4 = sa.(*syscall.SockaddrInet4)
		ipv4 = ipv4 && err == nil
	})
	if !ipv4 {
		return nil
	}
	s := &sender{raw: raw}
	s.sa.Family = syscall.AF_INET
	s.fn = s.send
	return s
}

func (s *sender) send(fd uintptr) bool {
	n, errno := rawsock.SendTo(fd, s.p, unsafe.Pointer(&s.sa), syscall.SizeofSockaddrInet4)
	if errno == syscall.EAGAIN {
		return false // RawConn.Write waits for room, then calls again
	}
	s.n, s.err = n, errno
	return true
}

// sendTo sends p to addr, an IPv4 address.
func (s *sender) sendTo(p []byte, addr *net.UDPAddr) (int, error) {
	ip4 := addr.IP.To4()
	if ip4 == nil {
		return 0, syscall.EAFNOSUPPORT
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	copy(s.sa.Addr[:], ip4)
	port := (*[2]byte)(unsafe.Pointer(&s.sa.Port)) // network byte order
	port[0], port[1] = byte(addr.Port>>8), byte(addr.Port)
	s.p, s.n, s.err = p, 0, 0
	err := s.raw.Write(s.fn)
	s.p = nil
	if err != nil {
		return 0, err
	}
	if s.err != 0 {
		return 0, s.err
	}
	return s.n, nil
}
