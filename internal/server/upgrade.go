package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
)

// upgradeListener reads the first request of every connection itself. A
// WebSocket handshake, which is how most connections to a signaling
// server begin and the only request they make, goes straight to the
// handler with a ResponseWriter that can be hijacked, and never reaches
// net/http: for a connection it hands over at once, net/http would
// allocate 8 KiB of buffers, two contexts and a background reader, then
// stop that reader at the hijack. Every other connection, and any request
// this reader has doubts about, goes to net/http through Accept, with the
// bytes read so far replayed.
//
// It only wraps a plain TCP listener: a TLS handshake comes first there.
type upgradeListener struct {
	net.Listener
	handler     http.Handler
	log         *slog.Logger
	headTimeout time.Duration // to read a request's head, as ReadHeaderTimeout
	// gone is told of every connection this listener closes or a handler
	// hijacks from it (nil: no one is); those handed to net/http are
	// reported by the HTTP server's ConnState.
	gone func(net.Conn)

	conns    chan net.Conn // for net/http
	errs     chan error    // unbuffered: net/http's back-off on errors paces the accept loop
	done     chan struct{}
	once     sync.Once
	closeErr error // the listener's Close, set once
}

// maxFastHead is the largest request head read here; a longer one goes to
// net/http, which has the limits for it.
const maxFastHead = 4 << 10

func newUpgradeListener(ln net.Listener, h http.Handler, log *slog.Logger, headTimeout time.Duration, gone func(net.Conn)) *upgradeListener {
	l := &upgradeListener{
		Listener: ln, handler: h, log: log, headTimeout: headTimeout, gone: gone,
		conns: make(chan net.Conn), errs: make(chan error), done: make(chan struct{}),
	}
	go l.acceptLoop()
	return l
}

// Accept returns the next connection for net/http.
func (l *upgradeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; connections being read are dropped. It closes
// the listener once: http.Server.Serve closes it too when Accept reports
// the close, and that must not turn the caller's Close into an error.
func (l *upgradeListener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.closeErr = l.Listener.Close()
	})
	return l.closeErr
}

func (l *upgradeListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.serveFirst(c)
	}
}

// heads holds the buffers request heads are read into.
var heads = sync.Pool{New: func() any { return new([maxFastHead]byte) }}

// headReaders holds the readers http.ReadRequest parses heads with.
var headReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, maxFastHead) }}

// serveFirst reads c's first request head, then serves it or hands c over.
func (l *upgradeListener) serveFirst(c net.Conn) {
	buf := heads.Get().(*[maxFastHead]byte)
	defer heads.Put(buf)
	n, end := readHead(c, buf[:], l.headTimeout)
	if end < 0 {
		if n < len(buf) {
			// Gone, or silent past the timeout: net/http would have
			// closed it too.
			l.close(c)
			return
		}
		l.handOver(c, buf[:n]) // too long for here
		return
	}
	req := parseUpgrade(buf[:end])
	if req == nil {
		l.handOver(c, buf[:n])
		return
	}
	req.RemoteAddr = c.RemoteAddr().String()
	l.serveUpgrade(c, req, buf[end:n])
}

// readHead reads until the end of a request head ("\r\n\r\n"), buf is
// full, or the read fails. It returns the bytes read and where the head
// ends in them (-1 if it does not).
func readHead(c net.Conn, buf []byte, timeout time.Duration) (n, end int) {
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		// The end may straddle the previous read.
		from := max(n-3, 0)
		n += m
		if i := bytes.Index(buf[from:n], []byte("\r\n\r\n")); i >= 0 {
			return n, from + i + 4
		}
		if err != nil {
			break
		}
	}
	return n, -1
}

// parseUpgrade parses head, returning the request if it is a plain
// WebSocket handshake that net/http would accept as it is, nil otherwise.
func parseUpgrade(head []byte) *http.Request {
	if !bytes.HasPrefix(head, []byte("GET ")) {
		return nil
	}
	br := headReaders.Get().(*bufio.Reader)
	br.Reset(bytes.NewReader(head))
	req, err := http.ReadRequest(br)
	br.Reset(nil)
	headReaders.Put(br)
	if err != nil || !req.ProtoAtLeast(1, 1) || req.ContentLength != 0 || len(req.TransferEncoding) > 0 {
		return nil
	}
	if !httpguts.HeaderValuesContainsToken(req.Header["Upgrade"], "websocket") {
		return nil
	}
	// net/http insists on a well-formed Host header (ReadRequest took it
	// out of the map), by this same rule; anything odd is left to it.
	if req.Host == "" || !httpguts.ValidHostHeader(req.Host) || req.URL.Host != "" {
		return nil
	}
	return req
}

// handOver gives c to net/http, which reads read first.
func (l *upgradeListener) handOver(c net.Conn, read []byte) {
	_ = c.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c, prefix: bytes.Clone(read)}
	select {
	case l.conns <- pc:
	case <-l.done:
		l.close(c)
	}
}

// close closes a connection this listener kept.
func (l *upgradeListener) close(c net.Conn) {
	_ = c.Close()
	if l.gone != nil {
		l.gone(c)
	}
}

// serveUpgrade runs the handler for a handshake. Unless it hijacks the
// connection, its response is written and the connection closed.
func (l *upgradeListener) serveUpgrade(c net.Conn, req *http.Request, rest []byte) {
	w := &upgradeWriter{conn: c, header: make(http.Header), gone: l.gone}
	if len(rest) > 0 {
		w.rest = bytes.Clone(rest)
	}
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				l.log.Error("http: panic serving a WebSocket handshake", "remote", req.RemoteAddr, "panic", v)
			}
			if !w.hijacked {
				l.close(c)
			} else {
				_ = c.Close()
			}
		}
	}()
	l.handler.ServeHTTP(w, req)
	if !w.hijacked {
		w.finish()
		l.close(c)
	}
}

// upgradeWriter is the ResponseWriter of a handshake read by
// upgradeListener. A response that is not a hijack is kept and written
// whole when the handler returns, with Connection: close.
type upgradeWriter struct {
	conn     net.Conn
	rest     []byte // what the client sent after the head
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
	gone     func(net.Conn) // told of the hijack; may be nil
}

func (w *upgradeWriter) Header() http.Header { return w.header }

func (w *upgradeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *upgradeWriter) Write(b []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// Hijack hands the connection over, with what the client sent after the
// head already buffered in the reader.
func (w *upgradeWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	w.hijacked = true
	_ = w.conn.SetDeadline(time.Time{})
	if w.gone != nil {
		w.gone(w.conn)
	}
	var r *bufio.Reader
	if len(w.rest) == 0 {
		r = bufio.NewReaderSize(w.conn, 16)
	} else {
		r = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(w.rest), w.conn), len(w.rest))
		_, _ = r.Peek(len(w.rest)) // buffered, as net/http's would be
	}
	return w.conn, bufio.NewReadWriter(r, bufio.NewWriterSize(w.conn, 64)), nil
}

// finish writes the response the handler made.
func (w *upgradeWriter) finish() {
	w.WriteHeader(http.StatusOK)
	if w.header.Get("Date") == "" {
		w.header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if w.header.Get("Content-Type") == "" && w.body.Len() > 0 {
		w.header.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	resp := &http.Response{
		StatusCode: w.status, ProtoMajor: 1, ProtoMinor: 1,
		Header: w.header, ContentLength: int64(w.body.Len()),
		Body: io.NopCloser(&w.body), Close: true,
	}
	_ = w.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_ = resp.Write(w.conn)
}

// prefixConn is a connection whose first bytes were read already.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(b []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(b, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(b)
}

// CloseWrite lets net/http half-close the connection after an error
// response, so that a client still sending reads the response rather than
// a reset.
func (c *prefixConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
