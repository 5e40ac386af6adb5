package server

import (
	"bufio"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/huddlehq/huddle/internal/iplimit"
)

// Every connection is a file descriptor and a goroutine, so none may be
// held for free: the head of a request has readHeaderTimeout, its body and
// its response --request-timeout (boundRequests), an idle keep-alive
// connection idleTimeout, and one client address at most --max-tcp-per-ip
// connections at once (tcpLimiter).

const (
	// readHeaderTimeout bounds the reading of a request's head (and the
	// TLS handshake before it).
	readHeaderTimeout = 10 * time.Second
	// idleTimeout bounds the wait for the next request on a keep-alive
	// connection. Polling clients come back within the ping interval.
	idleTimeout = 2 * time.Minute
	// defaultRequestTimeout is config.Config.RequestTimeout's zero value.
	defaultRequestTimeout = 20 * time.Second
	// defaultPingInterval is the engine's, when the config leaves it zero.
	defaultPingInterval = 25 * time.Second
)

// requestTimeout is the bound on a body's arrival and a response's writing.
func (s *Server) requestTimeout() time.Duration {
	if s.cfg.RequestTimeout > 0 {
		return s.cfg.RequestTimeout
	}
	return defaultRequestTimeout
}

// pollWriteTimeout bounds a whole long-polling GET: it may wait a ping
// interval for something to send, then has the request timeout to send it.
// It is the HTTP server's WriteTimeout, the bound of every request that
// boundRequests does not tighten.
func (s *Server) pollWriteTimeout() time.Duration {
	ping := s.cfg.Engine.PingInterval
	if ping <= 0 {
		ping = defaultPingInterval
	}
	return ping + s.requestTimeout()
}

// boundRequests gives each request served by net/http deadlines of its
// own: its body must arrive within timeout (a client that sends a head
// with a Content-Length and then nothing is cut off), and its response be
// written within timeout (a client that pipelines requests and never reads
// the answers is cut off). A long-polling GET keeps the HTTP server's
// longer WriteTimeout. A WebSocket handshake keeps it too, and whoever
// hijacks the connection gets it without deadlines.
//
// It goes outermost, on the writer of the connection itself. Requests read
// by upgradeListener are handshakes without a body, whose writer has
// bounds of its own; they pass through untouched.
func boundRequests(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, fast := w.(*upgradeWriter); fast {
			next.ServeHTTP(w, r)
			return
		}
		now := time.Now()
		rc := http.NewResponseController(w)
		if r.Body != nil && r.Body != http.NoBody {
			// The body is left as it is: net/http decides by its type
			// whether the connection can serve another request. The
			// deadline stays when the body is read; the handlers that
			// read bodies (polling POSTs) answer at once, and one that
			// took longer would find its context ended.
			_ = rc.SetReadDeadline(now.Add(timeout))
		}
		if httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
			w = clearOnHijack{w}
		} else if !isLongPoll(r) {
			_ = rc.SetWriteDeadline(now.Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}

// isLongPoll reports whether r is an Engine.IO polling GET of a session,
// which waits for something to send.
func isLongPoll(r *http.Request) bool {
	return r.Method == http.MethodGet && len(r.URL.Path) >= len("/socket.io/") &&
		r.URL.Path[:len("/socket.io/")] == "/socket.io/" && hasQueryValue(r.URL.RawQuery, "sid")
}

// clearOnHijack hands a hijacked connection over without the deadlines of
// its HTTP request: a WebSocket lives as long as its session.
type clearOnHijack struct{ http.ResponseWriter }

func (w clearOnHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		_ = c.SetDeadline(time.Time{})
	}
	return c, rw, err
}

func (w clearOnHijack) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

func (w clearOnHijack) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// tcpLimiter is the main listener with --max-tcp-per-ip: a connection from
// an address that holds its maximum already is closed as it is accepted,
// before it costs a goroutine or a buffer, and counted (refused).
//
// Accepted connections are handed on as they are (the WebSocket fast path
// wants the bare *net.TCPConn), so the limiter is told when one is gone:
// by the HTTP server's ConnState (closed or hijacked) and by the
// upgradeListener for those it serves itself. A hijacked connection is a
// WebSocket, counted from then on by the engine's and signaling's limits.
// release is idempotent, so a connection reported twice costs nothing.
type tcpLimiter struct {
	net.Listener
	per     *iplimit.Counter
	refused func() // counts a refusal; nil: not counted

	mu   sync.Mutex
	live map[netip.AddrPort]int // remote address -> connections admitted, not yet released
}

func newTCPLimiter(ln net.Listener, max int, refused func()) *tcpLimiter {
	return &tcpLimiter{Listener: ln, per: iplimit.NewCounter(max), refused: refused, live: map[netip.AddrPort]int{}}
}

// Accept returns the next connection within its address's limit.
func (l *tcpLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.admit(c) {
			return c, nil
		}
		_ = c.Close()
		if l.refused != nil {
			l.refused()
		}
	}
}

func (l *tcpLimiter) admit(c net.Conn) bool {
	addr := remoteAddrPort(c)
	if !l.per.Acquire(addr.Addr()) {
		return false
	}
	l.mu.Lock()
	l.live[addr]++
	l.mu.Unlock()
	return true
}

// release gives back the slot of c, once.
func (l *tcpLimiter) release(c net.Conn) {
	addr := remoteAddrPort(c)
	l.mu.Lock()
	n, ok := l.live[addr]
	if ok {
		if n <= 1 {
			delete(l.live, addr)
		} else {
			l.live[addr] = n - 1
		}
	}
	l.mu.Unlock()
	if ok {
		l.per.Release(addr.Addr())
	}
}

// remoteAddrPort is c's peer without allocating for a TCP connection.
func remoteAddrPort(c net.Conn) netip.AddrPort {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	ap, _ := netip.ParseAddrPort(c.RemoteAddr().String())
	return ap
}

// connState is the HTTP server's ConnState hook: a connection closed or
// hijacked is no longer the listener's.
func (l *tcpLimiter) connState(c net.Conn, st http.ConnState) {
	if st == http.StateClosed || st == http.StateHijacked {
		l.release(c)
	}
}
