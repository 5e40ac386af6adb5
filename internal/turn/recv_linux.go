//go:build linux

package turn

import (
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// batchReader reads an IPv4 UDP socket's datagrams in batches with a raw
// recvmmsg(2): one wake-up of a read loop then serves every datagram
// waiting. Raw, the call skips Go's system-call bookkeeping, which wakes
// the runtime's monitor thread whenever the relay comes out of idle; on
// a busy core that thread and the relay then take turns. It is used by
// one goroutine at a time (pion reads each socket from one).
type batchReader struct {
	raw   syscall.RawConn
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet4
	bufs  [][]byte
	n     int
	err   syscall.Errno
	fn    func(fd uintptr) bool // recv, made once: a closure per read would allocate

	next, count int // readFrom's place in the last batch
}

// mmsghdr is struct mmsghdr: a msghdr and the length received, padded to
// the pointer size.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte
}

// newBatchReader returns a reader of up to size datagrams of bufLen bytes
// at a time, or nil when c is not an IPv4 UDP socket.
func newBatchReader(c net.PacketConn, size, bufLen int) *batchReader {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return nil
	}
	if a, ok := uc.LocalAddr().(*net.UDPAddr); !ok || len(a.IP) != net.IPv4len {
		return nil
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return nil
	}
	b := &batchReader{
		raw:   raw,
		hdrs:  make([]mmsghdr, size),
		iovs:  make([]unix.Iovec, size),
		names: make([]unix.RawSockaddrInet4, size),
		bufs:  make([][]byte, size),
	}
	for i := range b.hdrs {
		b.bufs[i] = make([]byte, bufLen)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(bufLen)
		h := &b.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
	}
	b.fn = b.recv
	return b
}

func (b *batchReader) recv(fd uintptr) bool {
	for i := range b.hdrs {
		b.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4 // the kernel sets it to what it wrote
	}
	for {
		n, _, errno := syscall.RawSyscall6(unix.SYS_RECVMMSG, fd,
			uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(len(b.hdrs)), syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // RawConn.Read waits for the socket, then calls again
		case 0:
			b.n = int(n)
		default:
			b.err = errno
		}
		return true
	}
}

// read waits for datagrams and returns how many came, at least one.
func (b *batchReader) read() (int, error) {
	b.n, b.err = 0, 0
	if err := b.raw.Read(b.fn); err != nil {
		return 0, err
	}
	if b.err != 0 {
		return 0, b.err
	}
	return b.n, nil
}

// readFrom copies the next datagram into p (cut to its length) and
// returns its sender, reading a new batch when the last is used up.
func (b *batchReader) readFrom(p []byte) (int, *net.UDPAddr, error) {
	if b.next >= b.count {
		n, err := b.read()
		if err != nil {
			return 0, nil, err
		}
		b.next, b.count = 0, n
	}
	data, addr := b.datagram(b.next)
	b.next++
	return copy(p, data), addr, nil
}

// datagram returns the i-th datagram of the last read and its sender. The
// bytes are valid until the next read.
func (b *batchReader) datagram(i int) ([]byte, *net.UDPAddr) {
	sa := &b.names[i]
	port := (*[2]byte)(unsafe.Pointer(&sa.Port)) // network byte order
	ip := make(net.IP, net.IPv4len)
	copy(ip, sa.Addr[:])
	return b.bufs[i][:b.hdrs[i].len], &net.UDPAddr{IP: ip, Port: int(port[0])<<8 | int(port[1])}
}
