//go:build linux

package engineio

import (
	"errors"
	"net"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// countingConn is a session's WebSocket whose frames go into one end of a
// socket pair, each write counted, and are read back from the other.
type countingConn struct {
	t      *testing.T
	out    syscall.RawConn
	in     int // the other end, non-blocking
	writes atomic.Int32
}

func newCountingConn(t *testing.T) *countingConn {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "out")
	raw, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.SetNonblock(fds[1], true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); syscall.Close(fds[1]) })
	return &countingConn{t: t, out: raw, in: fds[1]}
}

func (c *countingConn) netConn() net.Conn        { return nil } // no drain: the frames are small
func (c *countingConn) rawConn() syscall.RawConn { return countingRaw{c} }
func (c *countingConn) close()                   {}
func (c *countingConn) closeWith(uint16)         {}

// received parses the text frames written so far into Engine.IO packets.
func (c *countingConn) received() []string {
	c.t.Helper()
	buf := make([]byte, 1<<16)
	n, err := syscall.Read(c.in, buf)
	if err == syscall.EAGAIN {
		return nil
	}
	if err != nil {
		c.t.Fatal(err)
	}
	var got []string
	for b := buf[:n]; len(b) > 0; {
		if len(b) < 2 || b[1] >= 126 {
			c.t.Fatalf("unexpected frame bytes %q", b)
		}
		size := int(b[1])
		got = append(got, string(b[2:2+size]))
		b = b[2+size:]
	}
	return got
}

type countingRaw struct{ c *countingConn }

func (r countingRaw) Control(f func(fd uintptr)) error {
	r.c.writes.Add(1)
	return r.c.out.Control(f)
}
func (countingRaw) Read(func(uintptr) bool) error  { return errors.New("not used") }
func (countingRaw) Write(func(uintptr) bool) error { return errors.New("not used") }

// TestBatchOneWriteInOrder: what a read step's handlers send a session
// waits for the flush and leaves in one write, with a send from elsewhere
// queued behind in order; once the batch is flushed, sends go straight out.
func TestBatchOneWriteInOrder(t *testing.T) {
	srv := NewServer(Config{Logger: quietLogger()}, newRecorder().accept)
	req := httptest.NewRequest("GET", "/?EIO=4&transport=websocket", nil)
	conn := newCountingConn(t)
	dst := srv.newSession(req, "dst", conn, netip.Addr{})
	src := srv.newSession(req, "src", nil, netip.Addr{})

	var b writeBatch
	b.start()
	src.step.Store(&b)
	for _, m := range []string{"one", "two"} {
		if err := dst.SendFrom(src, []byte(m), false); err != nil {
			t.Fatal(err)
		}
	}
	// Another sender, outside the step: behind the batch, not before it.
	if err := dst.SendFrom(nil, []byte("three"), false); err != nil {
		t.Fatal(err)
	}
	if n, got := conn.writes.Load(), conn.received(); n != 0 || got != nil {
		t.Fatalf("before the flush: %d writes, %q received", n, got)
	}
	b.flush()
	if n, got := conn.writes.Load(), strings.Join(conn.received(), ","); n != 1 || got != "4one,4two,4three" {
		t.Fatalf("after the flush: %d writes, %q received; want 1 write of 4one,4two,4three", n, got)
	}
	// The step is over: no more waiting.
	if err := dst.SendFrom(src, []byte("four"), false); err != nil {
		t.Fatal(err)
	}
	if n, got := conn.writes.Load(), strings.Join(conn.received(), ","); n != 2 || got != "4four" {
		t.Fatalf("after the step: %d writes, %q received", n, got)
	}
}

// TestBatchFlushedByClose: closing a session in a batch sends what waits
// first, as Close promises.
func TestBatchFlushedByClose(t *testing.T) {
	srv := NewServer(Config{Logger: quietLogger()}, newRecorder().accept)
	req := httptest.NewRequest("GET", "/?EIO=4&transport=websocket", nil)
	conn := newCountingConn(t)
	dst := srv.newSession(req, "dst", conn, netip.Addr{})

	var b writeBatch
	b.start()
	dst.step.Store(&b)
	if err := dst.Send([]byte("last words"), false); err != nil {
		t.Fatal(err)
	}
	dst.Close("done")
	if got := strings.Join(conn.received(), ","); got != "4last words" {
		t.Fatalf("received %q before the close", got)
	}
	b.flush() // nothing left: no write, no panic
	if n := conn.writes.Load(); n != 1 {
		t.Fatalf("%d writes, want 1", n)
	}
}
