//go:build linux

package main

import (
	"context"
	"io"
	"net"
	"sync"
	"syscall"

	"github.com/huddlehq/huddle/internal/rawsock"
)

// dialRaw dials a TCP connection whose reads and writes are raw system
// calls on the non-blocking socket (see package rawsock for why), waiting
// in the runtime's poller as usual. The scheduler's turns cost the
// generator, and so delayed its replies to whichever server it measured.
func dialRaw(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	tcp, ok := c.(*net.TCPConn)
	if !ok {
		return c, nil
	}
	rc, err := tcp.SyscallConn()
	if err != nil {
		return c, nil
	}
	rw := &rawConn{TCPConn: tcp, rc: rc}
	rw.r.fn, rw.w.fn = rw.r.read, rw.w.write
	return rw, nil
}

// rawConn is a *net.TCPConn with raw reads and writes; deadlines and
// Close are the TCPConn's.
type rawConn struct {
	*net.TCPConn
	rc syscall.RawConn
	r  rawOp // one reader at a time (gws's read loop)
	wm sync.Mutex
	w  rawOp
}

// rawOp is one read or write: its buffer, result and the function the
// RawConn runs, made once (a closure per call would allocate).
type rawOp struct {
	p   []byte
	n   int
	err syscall.Errno
	fn  func(fd uintptr) bool
}

func (o *rawOp) read(fd uintptr) bool {
	n, errno := rawsock.Read(fd, o.p)
	switch errno {
	case syscall.EAGAIN:
		return false // RawConn.Read waits for the socket, then calls again
	case 0:
		o.n = n
	default:
		o.err = errno
	}
	return true
}

func (o *rawOp) write(fd uintptr) bool {
	for o.n < len(o.p) {
		n, errno := rawsock.Send(fd, o.p[o.n:])
		switch errno {
		case 0:
			o.n += n
		case syscall.EAGAIN:
			return false
		default:
			o.err = errno
			return true
		}
	}
	return true
}

func (c *rawConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.r.p, c.r.n, c.r.err = p, 0, 0
	err := c.rc.Read(c.r.fn)
	c.r.p = nil
	switch {
	case err != nil:
		return 0, err
	case c.r.err != 0:
		return 0, c.r.err
	case c.r.n == 0:
		return 0, io.EOF
	}
	return c.r.n, nil
}

func (c *rawConn) Write(p []byte) (int, error) {
	c.wm.Lock()
	defer c.wm.Unlock()
	c.w.p, c.w.n, c.w.err = p, 0, 0
	err := c.rc.Write(c.w.fn)
	n := c.w.n
	c.w.p = nil
	if err == nil && c.w.err != 0 {
		err = c.w.err
	}
	return n, err
}
