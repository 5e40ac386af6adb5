//go:build linux

package sfu

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawBatch sends a shared media socket's datagrams with a raw
// sendmmsg(2) and reads them with a raw recvfrom(2), without Go's
// system-call bookkeeping (see package rawsock): the first plain call
// after an idle moment wakes the runtime's monitor thread, which then
// polls every 20 µs and hands the goroutine's processor to another
// thread while a long sendmmsg runs. In the fan-out benchmark that
// thread's sleeps and the thread switches were a fifth of the server's
// CPU (perf: finish_task_switch 17 %, sysmon's usleep 6 %), for a server
// at a fifth of a core. The socket is non-blocking: a full buffer answers
// EAGAIN, and RawConn.Write or Read then waits in the runtime's poller.
type rawBatch struct {
	raw  syscall.RawConn
	v6   bool
	hdrs []mmsghdr
	iovs []unix.Iovec
	sa4  []unix.RawSockaddrInet4
	sa6  []unix.RawSockaddrInet6

	// arguments and results of send, under batchConn.mu
	next, n int
	err     syscall.Errno
	sendFn  func(fd uintptr) bool // made once: a closure per call would allocate

	// reading, by the mux's one read loop
	rp     []byte
	rn     int
	rfrom  unix.RawSockaddrAny
	rerr   syscall.Errno
	readFn func(fd uintptr) bool
}

// mmsghdr is struct mmsghdr: a msghdr and the length sent, padded to the
// pointer size.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [unsafe.Sizeof(uintptr(0)) - 4]byte
}

// newRawBatch returns the raw sender of c for up to size datagrams at
// once, or nil when c has no raw access.
func newRawBatch(c *net.UDPConn, size int) *rawBatch {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	r := &rawBatch{raw: raw, hdrs: make([]mmsghdr, size), iovs: make([]unix.Iovec, size)}
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil && a.IP != nil {
		r.v6 = true
		r.sa6 = make([]unix.RawSockaddrInet6, size)
	} else {
		r.sa4 = make([]unix.RawSockaddrInet4, size)
	}
	for i := range r.hdrs {
		h := &r.hdrs[i].hdr
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
		if r.v6 {
			r.sa6[i].Family = unix.AF_INET6
			h.Name = (*byte)(unsafe.Pointer(&r.sa6[i]))
			h.Namelen = unix.SizeofSockaddrInet6
		} else {
			r.sa4[i].Family = unix.AF_INET
			h.Name = (*byte)(unsafe.Pointer(&r.sa4[i]))
			h.Namelen = unix.SizeofSockaddrInet4
		}
	}
	r.sendFn, r.readFn = r.sendmmsg, r.recvfrom
	return r
}

// set makes slot i the datagram p to addr; p must stay as it is until
// send returns. It reports false for an address the socket cannot reach
// (IPv6 on an IPv4 socket).
func (r *rawBatch) set(i int, p []byte, addr netip.AddrPort) bool {
	ip := addr.Addr()
	if r.v6 {
		sa := &r.sa6[i]
		sa.Addr = ip.As16()
		putPort(&sa.Port, addr.Port())
	} else {
		ip = ip.Unmap()
		if !ip.Is4() {
			return false
		}
		sa := &r.sa4[i]
		sa.Addr = ip.As4()
		putPort(&sa.Port, addr.Port())
	}
	if len(p) > 0 {
		r.iovs[i].Base = &p[0]
	} else {
		r.iovs[i].Base = nil
	}
	r.iovs[i].SetLen(len(p))
	return true
}

// putPort stores a port in network byte order.
func putPort(dst *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(dst))
	b[0], b[1] = byte(port>>8), byte(port)
}

// send sends slots from to n-1 and returns how many went; a failed one
// stops it, and the caller skips that one.
func (r *rawBatch) send(from, n int) (int, error) {
	r.next, r.n, r.err = from, n, 0
	if err := r.raw.Write(r.sendFn); err != nil {
		return r.next - from, err
	}
	if r.err != 0 {
		return r.next - from, r.err
	}
	return r.next - from, nil
}

func (r *rawBatch) sendmmsg(fd uintptr) bool {
	for r.next < r.n {
		n, _, errno := syscall.RawSyscall6(unix.SYS_SENDMMSG, fd,
			uintptr(unsafe.Pointer(&r.hdrs[r.next])), uintptr(r.n-r.next), syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			r.next += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false // RawConn.Write waits for room, then calls again
		default:
			r.err = errno
			return true
		}
	}
	return true
}

// readFrom reads one datagram into p.
func (r *rawBatch) readFrom(p []byte) (int, netip.AddrPort, error) {
	r.rp, r.rn, r.rerr = p, 0, 0
	err := r.raw.Read(r.readFn)
	r.rp = nil
	if err != nil {
		return 0, netip.AddrPort{}, err
	}
	if r.rerr != 0 {
		return 0, netip.AddrPort{}, r.rerr
	}
	var from netip.AddrPort
	switch r.rfrom.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&r.rfrom))
		from = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&r.rfrom))
		from = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), port(sa.Port))
	}
	return r.rn, from, nil
}

func port(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

func (r *rawBatch) recvfrom(fd uintptr) bool {
	for {
		alen := uint32(unix.SizeofSockaddrAny)
		var base unsafe.Pointer
		if len(r.rp) > 0 {
			base = unsafe.Pointer(&r.rp[0])
		}
		n, _, errno := syscall.RawSyscall6(unix.SYS_RECVFROM, fd, uintptr(base), uintptr(len(r.rp)),
			syscall.MSG_DONTWAIT, uintptr(unsafe.Pointer(&r.rfrom)), uintptr(unsafe.Pointer(&alen)))
		switch errno {
		case 0:
			r.rn = int(n)
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false // RawConn.Read waits for a datagram, then calls again
		default:
			r.rerr = errno
		}
		return true
	}
}
