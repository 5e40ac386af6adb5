//go:build linux

package engineio

import (
	"encoding/binary"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/huddlehq/huddle/internal/rawsock"
)

// eventDrivenSupported: Linux has the poller.
const eventDrivenSupported = true

// The events a connection waits for, edge-triggered: registered once,
// never re-armed (no epoll_ctl per message). An edge while the
// connection's step runs only marks it (see schedule), so one
// connection's frames are never read by two goroutines at once and its
// messages keep their order.
const epollEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLET&0xFFFFFFFF // EPOLLET is negative in package syscall

// poller is a server's epoll instance with the goroutine waiting on it. It
// runs only while connections are registered.
type poller struct {
	srv  *Server
	epfd atomic.Int32 // -1 or 0 when not running

	mu      sync.Mutex
	running bool
	wake    [2]int       // pipe that stops the wait when the last connection goes
	conns   []*epollConn // by file descriptor
	count   int          // registered connections
	seq     uint32       // tells a reused descriptor's events from its old ones
	ready   []*epollConn // the loop's scratch
	events  []syscall.EpollEvent
	work    chan *epollConn // read steps for idle workers; nil when stopped
	workers atomic.Int32
	idle    atomic.Int32
}

// maxWorkers is how many goroutines run read steps from the poller's
// queue, and wait for more between events. They keep their grown stacks,
// so a step does not pay for growing a fresh goroutine's stack through
// the handlers.
const maxWorkers = 32

// workQueue is how many read steps may wait for a worker.
const workQueue = 4096

// epollConn is a plain TCP WebSocket read by the poller. Idle, it holds no
// goroutine and no buffer.
type epollConn struct {
	conn    *net.TCPConn
	raw     syscall.RawConn
	s       *Session
	poller  *poller
	partial []byte // the bytes of an unfinished frame; nil when idle
	parser  frameParser
	fd      int32
	seq     uint32
	closed  atomic.Bool
	// run is stepIdle, stepRunning or stepAgain: whether a read step is
	// queued or running, and whether an edge came while it ran.
	run atomic.Int32
}

// The states of epollConn.run.
const (
	stepIdle    = iota // waiting for an edge
	stepRunning        // a step is queued or running
	stepAgain          // running, and more bytes arrived meanwhile
)

func (c *epollConn) netConn() net.Conn        { return c.conn }
func (c *epollConn) rawConn() syscall.RawConn { return c.raw }

func (c *epollConn) close() {
	if c.closed.Swap(true) {
		return
	}
	// Forget c before its descriptor is closed: once closed, the number can
	// be reused at once by a new connection, which c's removal must not
	// touch. Closing the descriptor takes it out of the epoll set.
	c.poller.remove(c)
	_ = c.conn.Close()
}

func (c *epollConn) closeWith(code uint16) {
	if c.closed.Load() {
		return
	}
	writeNonBlocking(c.raw, closeFrame(code))
	c.close()
}

// acceptEventDriven takes the connection over from net/http and completes
// the handshake (already checked by checkHandshake), sending first with
// the response.
func (srv *Server) acceptEventDriven(w http.ResponseWriter, r *http.Request, first []byte) (wsConn, error) {
	netConn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	tcp, ok := netConn.(*net.TCPConn)
	if !ok {
		// Not a plain socket after all (a wrapping listener): gws reads
		// it, starting with what net/http has buffered.
		conn, err := srv.upgradeGWSFrom(netConn, brw.Reader, r)
		if err != nil {
			return nil, err
		}
		return acceptedGWS(conn, first)
	}
	raw, err := tcp.SyscallConn()
	if err != nil {
		_ = tcp.Close()
		return nil, err
	}
	c := &epollConn{conn: tcp, raw: raw, poller: &srv.poller}
	// What the client sent after its request (net/http may have read it
	// already) is the start of the frames.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		c.partial = append([]byte(nil), b...)
	}
	_ = tcp.SetDeadline(time.Time{}) // the HTTP server's timeouts end here
	if err := writeWithDeadline(tcp, switchingProtocols(r.Header.Get("Sec-WebSocket-Key"), first)); err != nil {
		_ = tcp.Close()
		return nil, err
	}
	_ = tcp.SetWriteDeadline(time.Time{})
	return c, nil
}

// startEventDriven reads what came with the handshake, then registers conn
// with the poller.
func startEventDriven(conn wsConn, s *Session) {
	c := conn.(*epollConn)
	c.s = s
	if c.closed.Load() {
		return // the session closed during the handshake
	}
	if early := c.partial; early != nil {
		c.partial = nil
		if !c.consume(early, nil) {
			return
		}
	}
	if err := c.poller.add(c); err != nil {
		s.srv.cfg.Logger.Error("engineio: epoll registration failed", "sid", s.id, "err", err)
		c.close()
		s.onWebSocketGone(c, "transport error")
	}
}

// maxReadsPerStep bounds one read step; a connection with more to read
// goes to the back of the queue.
const maxReadsPerStep = 16

// reader is a read step's buffer and the function its reads run in,
// made once: a closure per read would be an allocation per message.
type reader struct {
	buf   []byte
	n     int
	err   error
	read  func(fd uintptr)
	batch writeBatch // the writes the step's handlers cause
}

// readFD reads without telling the scheduler (see package rawsock).
func (r *reader) readFD(fd uintptr) {
	n, errno := rawsock.Read(fd, r.buf)
	r.n, r.err = n, nil
	if errno != 0 {
		r.n, r.err = -1, errno
	}
}

// readers holds the readers of read steps, shared by all connections.
var readers = sync.Pool{New: func() any {
	r := &reader{buf: make([]byte, 16<<10)}
	r.read = r.readFD
	return r
}}

// runLocked queues c's read step for the workers, starting one when
// none is idle. Past maxWorkers busy workers (handlers that wait), or
// with the queue full, a step gets a goroutine of its own, so a waiting
// handler never holds up other connections for long.
func (p *poller) runLocked(c *epollConn) {
	select {
	case p.work <- c:
		if p.idle.Load() == 0 && p.workers.Load() < maxWorkers {
			p.workers.Add(1)
			p.srv.tasks.start()
			go p.worker(p.work)
		}
		return
	default:
	}
	p.srv.tasks.start()
	go func() {
		defer p.srv.tasks.done()
		c.step()
	}()
}

// worker runs read steps until the poller stops.
func (p *poller) worker(work chan *epollConn) {
	defer p.srv.tasks.done()
	defer p.workers.Add(-1)
	for {
		p.idle.Add(1)
		c, ok := <-work
		p.idle.Add(-1)
		if !ok {
			return
		}
		c.step()
	}
}

// schedule queues c's read step for an edge, unless one is queued or
// running already: then that step reads again before it ends. The caller
// holds p.mu.
func (p *poller) scheduleLocked(c *epollConn) {
	for {
		switch c.run.Load() {
		case stepIdle:
			if c.run.CompareAndSwap(stepIdle, stepRunning) {
				p.runLocked(c)
				return
			}
		case stepRunning:
			if c.run.CompareAndSwap(stepRunning, stepAgain) {
				return
			}
		default:
			return
		}
	}
}

// requeue puts c, which has more to read, behind the steps waiting.
func (p *poller) requeue(c *epollConn) {
	p.mu.Lock()
	if p.running && !c.closed.Load() {
		p.runLocked(c)
	}
	p.mu.Unlock()
}

// step reads until the socket is drained and delivers the whole frames.
// Edge-triggered, a drained socket signals again when bytes arrive; those
// that arrive while the step runs make it read once more (stepAgain).
func (c *epollConn) step() {
	r := readers.Get().(*reader)
	defer readers.Put(r)
	buf := r.buf
	for range maxReadsPerStep {
		if c.closed.Load() {
			return
		}
		n, err := c.read(r)
		if n > 0 && !c.consume(buf[:n], &r.batch) {
			return
		}
		switch {
		case err == syscall.EAGAIN || err == nil && n > 0 && n < len(buf):
			// Drained: a stream socket's short read took all there was.
			if c.run.CompareAndSwap(stepRunning, stepIdle) {
				return
			}
			c.run.Store(stepRunning) // an edge came meanwhile
		case err != nil || n == 0: // error or end of stream
			c.close()
			c.s.onWebSocketGone(c, "transport close")
			return
		}
	}
	c.poller.requeue(c)
}

// read reads what the socket has now, without waiting. Control, not
// Read: it only keeps the descriptor from closing meanwhile, without the
// runtime poller's bookkeeping for a wait that never comes; one step at a
// time reads a connection.
func (c *epollConn) read(r *reader) (n int, err error) {
	r.n, r.err = 0, nil
	if err := c.raw.Control(r.read); err != nil {
		return 0, err
	}
	return max(r.n, 0), r.err
}

// consume parses data after what was kept of an unfinished frame and
// delivers the whole frames. It reports whether the connection is still
// open. When more than one frame came in the read, the writes their
// handlers cause wait in b (nil: never) and leave when the last returns.
func (c *epollConn) consume(data []byte, b *writeBatch) bool {
	limit := c.poller.srv.cfg.MaxPayload
	base := c.partial
	if base != nil {
		base = append(base, data...)
		data, c.partial = base, nil
	}
	batching := false
	defer func() {
		if batching {
			c.s.step.CompareAndSwap(b, nil)
			b.flush()
		}
	}()
	for len(data) > 0 {
		ev, n, need, err := c.parser.next(data, limit)
		if err != nil {
			c.fail(err)
			return false
		}
		if n == 0 {
			c.keep(base, data, need)
			return true
		}
		data = data[n:]
		if len(data) > 0 && b != nil && !batching {
			// More follows this frame: batch. A lone frame, the usual case
			// of a steady exchange, pays nothing for it.
			batching = true
			b.start()
			c.s.step.Store(b)
		}
		if !c.dispatch(ev) {
			return false
		}
	}
	return true
}

// keep stores tail, the start of an unfinished frame of need bytes (0 if
// not known yet), reusing base when it is the buffer tail is in.
func (c *epollConn) keep(base, tail []byte, need int) {
	if base != nil && cap(base) <= max(2*need, 64<<10) {
		c.partial = base[:copy(base, tail)]
		return
	}
	c.partial = append(make([]byte, 0, max(len(tail), min(need, 64<<10))), tail...)
}

func (c *epollConn) dispatch(ev frameEvent) bool {
	switch ev.kind {
	case kindText, kindBinary:
		c.s.onWebSocketMessage(c, ev.data, ev.kind == kindBinary)
	case kindPing:
		c.s.onWebSocketPing(c, ev.data)
	case kindClose:
		code := uint16(closeNormal)
		if len(ev.data) >= 2 {
			code = binary.BigEndian.Uint16(ev.data)
		}
		if c.s.mayWriteDirect(c) {
			writeNonBlocking(c.raw, closeFrame(code))
		}
		c.close()
		c.s.onWebSocketGone(c, "transport close")
		return false
	}
	return !c.closed.Load()
}

// fail ends the connection on a protocol error, telling the client why
// when that cannot break a frame being written.
func (c *epollConn) fail(err error) {
	c.s.srv.cfg.Logger.Debug("engineio: websocket protocol error", "sid", c.s.id, "err", err)
	if c.s.mayWriteDirect(c) {
		writeNonBlocking(c.raw, closeFrame(closeCodeOf(err)))
	}
	c.close()
	c.s.onWebSocketGone(c, "transport error")
}

// add registers c, starting the poller if it is not running.
func (p *poller) add(c *epollConn) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.running {
		if err := p.startLocked(); err != nil {
			return err
		}
	}
	p.seq++
	c.seq = p.seq
	var ctlErr error
	err := c.raw.Control(func(fd uintptr) {
		c.fd = int32(fd)
		ev := syscall.EpollEvent{Events: epollEvents, Fd: c.fd, Pad: int32(c.seq)}
		if ctlErr = syscall.EpollCtl(int(p.epfd.Load()), syscall.EPOLL_CTL_ADD, int(fd), &ev); ctlErr != nil {
			return
		}
		for int(fd) >= len(p.conns) {
			p.conns = append(p.conns, nil)
		}
		if p.conns[fd] == nil {
			p.count++
		} // else a connection that closed without removal: replaced, not counted twice
		p.conns[fd] = c
	})
	if err == nil {
		err = ctlErr
	}
	if err != nil && p.count == 0 {
		p.wakeLocked()
	}
	return err
}

// remove forgets c; the last one out stops the poller.
func (p *poller) remove(c *epollConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if int(c.fd) >= len(p.conns) || p.conns[c.fd] != c {
		return // never registered
	}
	p.conns[c.fd] = nil
	p.count--
	if p.count == 0 {
		p.wakeLocked()
	}
}

func (p *poller) wakeLocked() {
	if p.running {
		_, _ = syscall.Write(p.wake[1], []byte{1})
	}
}

func (p *poller) startLocked() error {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	if err := syscall.Pipe2(p.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		_ = syscall.Close(epfd)
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wake[0])}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); err != nil {
		_ = syscall.Close(epfd)
		_ = syscall.Close(p.wake[0])
		_ = syscall.Close(p.wake[1])
		return err
	}
	p.epfd.Store(int32(epfd))
	p.running = true
	p.work = make(chan *epollConn, workQueue)
	if p.events == nil {
		p.events = make([]syscall.EpollEvent, 128)
	}
	p.srv.tasks.start()
	go p.loop(p.wake[0], newEpollWaiter(epfd, p.events))
	return nil
}

// epollWaiter waits for the poller's events. Where it can, it parks on the
// runtime's own poller, which watches the epoll descriptor like any other
// (epoll descriptors nest). A thread blocked in epoll_wait would keep the
// scheduler's only P (GOMAXPROCS=1) until the runtime's monitor takes it
// back, up to 10 ms later when the server was idle: meanwhile no new
// connection is accepted and no timer fires.
type epollWaiter struct {
	epfd   int
	events []syscall.EpollEvent
	rc     syscall.RawConn // nil: block in epoll_wait
	file   *os.File        // owns epfd when rc is set
	n      int
	err    error
	poll   func(fd uintptr) bool
}

func newEpollWaiter(epfd int, events []syscall.EpollEvent) *epollWaiter {
	w := &epollWaiter{epfd: epfd, events: events}
	w.poll = w.pollNow
	if syscall.SetNonblock(epfd, true) != nil {
		return w
	}
	f := os.NewFile(uintptr(epfd), "epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = syscall.SetNonblock(epfd, false)
		return w
	}
	w.rc, w.file = rc, f
	return w
}

// pollNow takes the ready events without waiting; false sends the caller
// to the runtime's poller. It runs first on every wait, even when the last
// one took all there was: RawConn.Read forgets a readiness signalled
// before it was called, so only a look after that is sure to miss none.
// A raw syscall (see package rawsock): with a zero timeout it never waits.
func (w *epollWaiter) pollNow(fd uintptr) bool {
	n, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, fd,
		uintptr(unsafe.Pointer(unsafe.SliceData(w.events))), uintptr(len(w.events)), 0, 0, 0)
	w.n, w.err = int(n), nil
	if errno != 0 {
		w.n, w.err = 0, errno
	}
	return w.n > 0 || w.err != nil
}

// wait returns the number of ready events in w.events.
func (w *epollWaiter) wait() (int, error) {
	if w.rc == nil {
		return syscall.EpollWait(w.epfd, w.events, -1)
	}
	w.n, w.err = 0, nil
	if err := w.rc.Read(w.poll); err != nil {
		// Not pollable after all: from now on, block in the kernel.
		w.rc = nil
		return 0, syscall.EINTR
	}
	return w.n, w.err
}

// close closes the epoll descriptor.
func (w *epollWaiter) close() {
	if w.file != nil {
		_ = w.file.Close()
		return
	}
	_ = syscall.Close(w.epfd)
}

// loop waits for ready connections and runs a read step for each on a
// goroutine of its own (a handler may take its time). It ends when no
// connection is left.
func (p *poller) loop(wake int, w *epollWaiter) {
	defer p.srv.tasks.done()
	events := w.events
	var drain [16]byte
	for {
		n, err := w.wait()
		if err != nil {
			if err != syscall.EINTR {
				p.srv.cfg.Logger.Error("engineio: epoll wait failed", "err", err)
				time.Sleep(10 * time.Millisecond)
			}
			continue
		}
		p.mu.Lock()
		ready := p.ready[:0]
		for _, ev := range events[:n] {
			if int(ev.Fd) == wake {
				_, _ = syscall.Read(wake, drain[:])
				continue
			}
			if int(ev.Fd) < len(p.conns) {
				if c := p.conns[ev.Fd]; c != nil && c.seq == uint32(ev.Pad) {
					ready = append(ready, c)
				}
			}
		}
		if p.count == 0 {
			p.stopLocked(w)
			p.mu.Unlock()
			return
		}
		for _, c := range ready {
			p.scheduleLocked(c)
		}
		clear(ready)
		p.ready = ready
		p.mu.Unlock()
		if n > 0 {
			// Let the steps just queued run before looking again: the
			// next look then finds the edges that came meanwhile in one
			// call.
			runtime.Gosched()
		}
	}
}

func (p *poller) stopLocked(w *epollWaiter) {
	p.running = false
	close(p.work)
	p.work = nil
	p.epfd.Store(-1)
	p.conns, p.ready = nil, nil
	w.close()
	_ = syscall.Close(p.wake[0])
	_ = syscall.Close(p.wake[1])
}

// writeNonBlocking writes what the socket takes now, without waiting, and
// returns how much that was. Like read, it uses Control: the session's
// lock already orders the writes (see Session.writeLocked), and a write
// that does not wait needs nothing of the runtime poller.
func writeNonBlocking(raw syscall.RawConn, b []byte) int {
	w := writers.Get().(*writer)
	w.b, w.n = b, 0
	_ = raw.Control(w.write)
	n := w.n
	w.b = nil
	writers.Put(w)
	return n
}

// writer is the function a non-blocking write runs in, with its
// arguments, made once: a closure per write would be an allocation per
// message.
type writer struct {
	b     []byte
	n     int
	write func(fd uintptr)
}

// writeFD sends without SIGPIPE (see rawsock.Send): a peer that hung up
// makes it fail with EPIPE and no signal for the runtime to field. That is
// the usual end of a session: the reply to the client's close frame finds
// the client gone.
func (w *writer) writeFD(fd uintptr) {
	for w.n < len(w.b) {
		m, errno := rawsock.Send(fd, w.b[w.n:])
		if errno != 0 || m <= 0 {
			return
		}
		w.n += m
	}
}

var writers = sync.Pool{New: func() any {
	w := &writer{}
	w.write = w.writeFD
	return w
}}
