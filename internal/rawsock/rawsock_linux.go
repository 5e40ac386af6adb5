// Package rawsock makes the system calls of non-blocking sockets without
// telling Go's scheduler (syscall.RawSyscall).
//
// A plain syscall.Syscall marks its thread as in a system call, and the
// first one after an idle moment wakes the runtime's monitor thread
// (sysmon), which then polls every 20 µs for a while; on one core that
// thread and the one running the program take turns. A process that is
// busy but not saturated, like a meeting server or a load generator, paid
// this at every wake-up. A call on a non-blocking socket never waits, so
// the scheduler has nothing to do for it. Waiting for a socket stays with
// the runtime's poller (syscall.RawConn's Read and Write).
package rawsock

import (
	"syscall"
	"unsafe"
)

// Read reads what the socket holds now into p: n bytes (0 at the end of
// the stream), or an error, EAGAIN when there is nothing to read.
func Read(fd uintptr, p []byte) (n int, err syscall.Errno) {
	for {
		r, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		if errno != syscall.EINTR {
			return int(r), errno
		}
	}
}

// Send writes what the socket takes now of p, without SIGPIPE (a peer
// that hung up makes it fail with EPIPE) and without waiting (EAGAIN when
// the buffer is full).
func Send(fd uintptr, p []byte) (n int, err syscall.Errno) {
	return SendTo(fd, p, nil, 0)
}

// SendTo is Send to the address sa of length salen (a datagram socket's
// destination; nil for a connected socket).
func SendTo(fd uintptr, p []byte, sa unsafe.Pointer, salen uintptr) (n int, err syscall.Errno) {
	for {
		r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)),
			syscall.MSG_NOSIGNAL|syscall.MSG_DONTWAIT, uintptr(sa), salen)
		if errno != syscall.EINTR {
			return int(r), errno
		}
	}
}
