package rawsock

import (
	"syscall"
	"testing"
	"unsafe"
)

func socketPair(t *testing.T, typ int) (a, b uintptr) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fds[0]); syscall.Close(fds[1]) })
	return uintptr(fds[0]), uintptr(fds[1])
}

// TestSendRead sends and reads on a stream pair, sees EAGAIN on an empty
// socket and on a full one, the end of the stream, and EPIPE (not a
// SIGPIPE, which would end the test binary) once the peer stopped reading.
func TestSendRead(t *testing.T) {
	a, b := socketPair(t, syscall.SOCK_STREAM)
	buf := make([]byte, 64)
	if _, errno := Read(b, buf); errno != syscall.EAGAIN {
		t.Fatalf("read of an empty socket: %v, want EAGAIN", errno)
	}
	if n, errno := Send(a, []byte("hello")); n != 5 || errno != 0 {
		t.Fatalf("send: %d, %v", n, errno)
	}
	if n, errno := Read(b, buf); errno != 0 || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], errno)
	}
	big := make([]byte, 1<<20)
	var errno syscall.Errno
	for range 64 {
		if _, errno = Send(a, big); errno != 0 {
			break
		}
	}
	if errno != syscall.EAGAIN {
		t.Fatalf("send to a full socket: %v, want EAGAIN", errno)
	}
	e, f := socketPair(t, syscall.SOCK_STREAM)
	if err := syscall.Shutdown(int(f), syscall.SHUT_RD); err != nil {
		t.Fatal(err)
	}
	if _, errno := Send(e, []byte("x")); errno != syscall.EPIPE {
		t.Fatalf("send after the peer closed: %v, want EPIPE", errno)
	}

	c, d := socketPair(t, syscall.SOCK_STREAM)
	if err := syscall.Shutdown(int(c), syscall.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	if n, errno := Read(d, buf); n != 0 || errno != 0 {
		t.Fatalf("read at the end of the stream: %d, %v, want 0 and no error", n, errno)
	}
}

// TestSendToAddress sends a datagram to an address on an unconnected
// socket.
func TestSendToAddress(t *testing.T) {
	rx, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(rx)
	if err := syscall.Bind(rx, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, _ := syscall.Getsockname(rx)
	port := sa.(*syscall.SockaddrInet4).Port
	tx, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(tx)
	to := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: [4]byte{127, 0, 0, 1}}
	p := (*[2]byte)(unsafe.Pointer(&to.Port))
	p[0], p[1] = byte(port>>8), byte(port)
	if n, errno := SendTo(uintptr(tx), []byte("datagram"), unsafe.Pointer(&to), syscall.SizeofSockaddrInet4); n != 8 || errno != 0 {
		t.Fatalf("sendto: %d, %v", n, errno)
	}
	buf := make([]byte, 64)
	if n, errno := Read(uintptr(rx), buf); errno != 0 || string(buf[:n]) != "datagram" {
		t.Fatalf("read %q, %v", buf[:n], errno)
	}
}
