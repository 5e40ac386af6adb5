package engineio

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/lxzan/gws"
)

// Errors returned by Session.Send and Server.Shutdown.
var (
	ErrClosed     = errors.New("engineio: session closed")
	ErrQueueFull  = errors.New("engineio: send queue full")
	ErrNotMessage = errors.New("engineio: only message packets can be sent")
	// ErrShutdownTimeout: Shutdown closed every session but some of the
	// engine's goroutines did not end in time.
	ErrShutdownTimeout = errors.New("engineio: goroutines still running after shutdown")
	// ErrShuttingDown and ErrTooManySessions refuse a handshake.
	ErrShuttingDown    = errors.New("engineio: server shutting down")
	ErrTooManySessions = errors.New("engineio: too many sessions from this address")
)

// Receiver gets what happens on one session. OnMessage calls of a session
// are serialised and in the order the client sent; OnClose comes once,
// after the last OnMessage, on a goroutine of its own.
type Receiver interface {
	OnMessage(s *Session, data []byte, binary bool)
	OnClose(s *Session, reason string)
}

// Acceptor returns the Receiver of a new session, before any message of it.
type Acceptor func(s *Session) Receiver

// Server is an Engine.IO server. It is an http.Handler for the Engine.IO
// path (routing by path is the caller's job).
type Server struct {
	cfg      Config
	accept   Acceptor
	upgrader *gws.Upgrader
	epoch    time.Time
	poller   poller // event-driven WebSocket reads; idle until used
	tasks    goroutines
	perIP    *iplimit.Counter // sessions by client address

	mu       sync.Mutex
	sessions map[string]*Session
	beating  bool
	closed   bool
	stop     chan struct{}
}

// NewServer returns a server that hands new sessions to accept. It starts
// no goroutine until the first session.
func NewServer(cfg Config, accept Acceptor) *Server {
	cfg = cfg.withDefaults()
	srv := &Server{
		cfg:      cfg,
		accept:   accept,
		epoch:    time.Now(),
		sessions: make(map[string]*Session),
		stop:     make(chan struct{}),
		perIP:    iplimit.NewCounter(cfg.MaxSessionsPerIP),
	}
	srv.poller.srv = srv
	srv.upgrader = gws.NewUpgrader(wsHandler{srv}, &gws.ServerOption{
		ReadBufferSize:     cfg.ReadBufferSize,
		ReadMaxPayloadSize: cfg.MaxPayload,
		CheckUtf8Enabled:   true,
		HandshakeTimeout:   10 * time.Second,
		Logger:             gwsLogger{cfg},
		Recovery:           gws.Recovery,
		NewSession:         func() gws.SessionStorage { return new(gwsConn) },
	})
	return srv
}

// Error codes of the Node.js engine.io server, sent as JSON.
const (
	codeUnknownTransport = iota
	codeUnknownSID
	codeBadHandshakeMethod
	codeBadRequest
	codeForbidden
	codeUnsupportedVersion
)

var codeMessages = [...]string{
	"Transport unknown",
	"Session ID unknown",
	"Bad handshake method",
	"Bad request",
	"Forbidden",
	"Unsupported protocol version",
}

func writeError(w http.ResponseWriter, code int) {
	status := http.StatusBadRequest
	if code == codeForbidden {
		status = http.StatusForbidden
	}
	body := `{"code":` + strconv.Itoa(code) + `,"message":"` + codeMessages[code] + `"}`
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// refuse answers a handshake that admit refused.
func refuse(w http.ResponseWriter, err error) {
	status, msg := http.StatusServiceUnavailable, "Server shutting down"
	if err == ErrTooManySessions {
		// Node's engine.io answers an allowRequest refusal with code 4
		// and the reason as message; the status says to come back later.
		status, msg = http.StatusTooManyRequests, "Too many sessions from this address"
	}
	body := `{"code":` + strconv.Itoa(codeForbidden) + `,"message":"` + msg + `"}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func writeText(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// ServeHTTP serves handshakes, polling requests and WebSocket upgrades.
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if srv.cfg.CheckOrigin != nil && !srv.cfg.CheckOrigin(r) {
		writeError(w, codeForbidden)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "GET, POST")
		if rh := r.Header.Get("Access-Control-Request-Headers"); rh != "" {
			h.Set("Access-Control-Allow-Headers", rh)
		}
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	q := r.URL.Query()
	transport := q.Get("transport")
	if transport != "polling" && transport != "websocket" {
		writeError(w, codeUnknownTransport)
		return
	}
	if q.Get("EIO") != "4" {
		writeError(w, codeUnsupportedVersion)
		return
	}
	isWS := transport == "websocket"
	if isWS && (r.Method != http.MethodGet || !strings.EqualFold(r.Header.Get("Upgrade"), "websocket")) {
		writeError(w, codeBadRequest)
		return
	}
	sid := q.Get("sid")
	if sid == "" {
		switch {
		case r.Method != http.MethodGet:
			writeError(w, codeBadHandshakeMethod)
		case isWS:
			srv.openWebSocket(w, r)
		default:
			srv.openPolling(w, r)
		}
		return
	}
	s := srv.lookup(sid)
	if s == nil {
		writeError(w, codeUnknownSID)
		return
	}
	if s.pongOverdue(srv.now()) {
		// The heartbeat checks sessions once a tick; a request must not
		// find alive a session whose client has let its pong deadline
		// pass (the protocol's suite asks for 400 right at interval +
		// timeout).
		s.abort("ping timeout", true)
		writeError(w, codeUnknownSID)
		return
	}
	switch {
	case isWS:
		s.upgrade(w, r)
	case r.Method == http.MethodGet:
		s.poll(w, r)
	case r.Method == http.MethodPost:
		s.post(w, r)
	default:
		writeError(w, codeBadRequest)
	}
}

// newID returns 120 random bits, URL-safe.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a random URL-safe identifier like the session ids.
func NewID() string { return newID() }

func (srv *Server) openPacket(sid string, upgrades bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, byte(Open))
	b = append(b, `{"sid":"`...)
	b = append(b, sid...)
	if upgrades {
		b = append(b, `","upgrades":["websocket"],"pingInterval":`...)
	} else {
		b = append(b, `","upgrades":[],"pingInterval":`...)
	}
	b = strconv.AppendInt(b, srv.cfg.PingInterval.Milliseconds(), 10)
	b = append(b, `,"pingTimeout":`...)
	b = strconv.AppendInt(b, srv.cfg.PingTimeout.Milliseconds(), 10)
	b = append(b, `,"maxPayload":`...)
	b = strconv.AppendInt(b, int64(srv.cfg.MaxPayload), 10)
	return append(b, '}')
}

// keptHeaders are the request headers a session keeps: what tells who the
// client is. The rest (cookies, caches, languages, WebSocket keys) is a good
// part of an idle session's memory and no use after the handshake.
var keptHeaders = []string{"Origin", "User-Agent", "X-Forwarded-For", "X-Real-Ip", "Forwarded", "X-Request-Start"}

// keptRequest is what a session keeps of the request that opened it: no
// body, no context, and only keptHeaders, as strings. An *http.Request with
// its URL and header map would cost an idle session about 800 bytes; this
// costs about 150, and Session.Request rebuilds one when asked (a few
// times in a session's life: at join, at a credential refresh).
type keptRequest struct {
	method, proto, host, remoteAddr, path, rawQuery string
	protoMajor, protoMinor                          int
	tls                                             *tls.ConnectionState
	headers                                         []string // name, value, name, value...
}

func keepRequest(r *http.Request) keptRequest {
	k := keptRequest{
		method: r.Method, proto: r.Proto, host: r.Host, remoteAddr: r.RemoteAddr,
		path: r.URL.Path, rawQuery: r.URL.RawQuery,
		protoMajor: r.ProtoMajor, protoMinor: r.ProtoMinor, tls: r.TLS,
	}
	n := 0
	for _, name := range keptHeaders {
		n += len(r.Header[name])
	}
	if n > 0 {
		k.headers = make([]string, 0, 2*n)
		for _, name := range keptHeaders {
			for _, v := range r.Header[name] {
				k.headers = append(k.headers, name, v)
			}
		}
	}
	return k
}

// header returns the values of a kept header (nil if none).
func (k *keptRequest) header(name string) []string {
	var vs []string
	for i := 0; i+1 < len(k.headers); i += 2 {
		if k.headers[i] == name {
			vs = append(vs, k.headers[i+1])
		}
	}
	return vs
}

// request rebuilds the request, with a background context.
func (k *keptRequest) request() *http.Request {
	h := make(http.Header, len(k.headers)/2)
	for i := 0; i+1 < len(k.headers); i += 2 {
		h[k.headers[i]] = append(h[k.headers[i]], k.headers[i+1])
	}
	return &http.Request{
		Method: k.method, URL: &url.URL{Path: k.path, RawQuery: k.rawQuery},
		Proto: k.proto, ProtoMajor: k.protoMajor, ProtoMinor: k.protoMinor,
		Header: h, Body: http.NoBody, Host: k.host, RemoteAddr: k.remoteAddr, TLS: k.tls,
		RequestURI: k.requestURI(),
	}
}

func (k *keptRequest) requestURI() string {
	if k.rawQuery == "" {
		return k.path
	}
	return k.path + "?" + k.rawQuery
}

// admit lets the handshake r open a session, unless the server is shutting
// down or the client's address holds MaxSessionsPerIP sessions already.
// Admitted, the caller holds a slot of ip, which the session gives back
// when it ends (or the caller with perIP.Release when it makes none), and
// a count in srv.tasks, which it gives back with tasks.done once the
// session is added or refused: so a Shutdown that began meanwhile waits
// for the session's close goroutine too.
func (srv *Server) admit(r *http.Request) (netip.Addr, error) {
	ip := srv.cfg.ClientIP(r)
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return ip, ErrShuttingDown
	}
	srv.tasks.start()
	srv.mu.Unlock()
	if !srv.perIP.Acquire(ip) {
		srv.tasks.done()
		srv.cfg.Logger.Debug("engineio: handshake refused", "reason", "too many sessions", "ip", ip.String())
		return ip, ErrTooManySessions
	}
	return ip, nil
}

// newSession makes the session sid for r, from the client address ip that
// admit counted; ws is its WebSocket, nil for polling. The receiver may
// send at once: the transport is ready.
func (srv *Server) newSession(r *http.Request, sid string, ws wsConn, ip netip.Addr) *Session {
	s := &Session{srv: srv, id: sid, req: keepRequest(r), ws: ws, ip: ip}
	if ws != nil {
		s.transport = WebSocket
	}
	s.due = srv.now() + int64(srv.cfg.PingInterval)
	s.recv = srv.accept(s)
	return s
}

func (srv *Server) openPolling(w http.ResponseWriter, r *http.Request) {
	ip, err := srv.admit(r)
	if err != nil {
		refuse(w, err)
		return
	}
	defer srv.tasks.done()
	s := srv.newSession(r, newID(), nil, ip)
	if !srv.add(s) {
		s.abort("server shutting down", true)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	writeText(w, http.StatusOK, srv.openPacket(s.id, true))
}

func (srv *Server) openWebSocket(w http.ResponseWriter, r *http.Request) {
	if err := srv.checkHandshake(r); err != nil {
		srv.cfg.Logger.Debug("engineio: websocket handshake refused", "err", err, "remote", r.RemoteAddr)
		writeError(w, codeBadRequest)
		return
	}
	ip, err := srv.admit(r)
	if err != nil {
		refuse(w, err)
		return
	}
	defer srv.tasks.done()
	// The open packet goes out with the handshake's response, in one
	// write, before anything the session sends.
	sid := newID()
	open := appendFrame(nil, Packet{Type: Open, Data: srv.openPacket(sid, false)[1:]})
	conn, err := srv.acceptWebSocket(w, r, open)
	if err != nil {
		srv.perIP.Release(ip)
		srv.cfg.Logger.Debug("engineio: websocket handshake failed", "err", err, "remote", r.RemoteAddr)
		return
	}
	s := srv.newSession(r, sid, conn, ip)
	if !srv.add(s) {
		s.abort("server shutting down", true)
		return
	}
	startReading(conn, s)
}

func (srv *Server) now() int64 { return int64(time.Since(srv.epoch)) }

func (srv *Server) lookup(sid string) *Session {
	srv.mu.Lock()
	s := srv.sessions[sid]
	srv.mu.Unlock()
	return s
}

func (srv *Server) add(s *Session) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.closed {
		return false
	}
	srv.sessions[s.id] = s
	if !srv.beating {
		srv.beating = true
		srv.tasks.start()
		go srv.heartbeat()
	}
	return true
}

func (srv *Server) remove(s *Session) {
	srv.mu.Lock()
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	srv.mu.Unlock()
}

// Len is the number of open sessions.
func (srv *Server) Len() int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions)
}

func (srv *Server) snapshot(dst []*Session) []*Session {
	srv.mu.Lock()
	for _, s := range srv.sessions {
		dst = append(dst, s)
	}
	srv.mu.Unlock()
	return dst
}

// heartbeatTick is how often sessions are checked: fine enough for the
// configured intervals, coarse enough to be cheap with many sessions.
func (srv *Server) heartbeatTick() time.Duration {
	d := min(srv.cfg.PingInterval, srv.cfg.PingTimeout) / 10
	return max(5*time.Millisecond, min(d, time.Second))
}

// heartbeat is the one goroutine that pings every session; it runs while
// there are sessions.
func (srv *Server) heartbeat() {
	defer srv.tasks.done()
	t := time.NewTicker(srv.heartbeatTick())
	defer t.Stop()
	var batch []*Session
	for {
		select {
		case <-srv.stop:
			return
		case <-t.C:
		}
		srv.mu.Lock()
		if len(srv.sessions) == 0 {
			srv.beating = false
			srv.mu.Unlock()
			return
		}
		srv.mu.Unlock()
		batch = srv.snapshot(batch[:0])
		now := srv.now()
		for _, s := range batch {
			s.beat(now)
		}
		clear(batch)
	}
}

// Shutdown refuses new sessions, closes every session gracefully (queued
// packets are flushed first) and waits until they are gone or ctx is done,
// then closes what is left abruptly.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	first := !srv.closed
	srv.closed = true
	srv.mu.Unlock()
	for _, s := range srv.snapshot(nil) {
		s.Close("server shutting down")
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var err error
	for srv.Len() > 0 && err == nil {
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-tick.C:
		}
	}
	srv.CloseAll("server shutting down")
	if first {
		close(srv.stop)
	}
	// Every goroutine of the engine ends once its sessions are gone; still,
	// a shutdown must end, so the wait is bounded. No new session starts
	// one now, and a handshake that was under way when srv.closed was set
	// holds a count until its session is added or refused (see admit).
	if !srv.tasks.wait(shutdownGrace) {
		srv.cfg.Logger.Error(ErrShutdownTimeout.Error())
		if err == nil {
			err = ErrShutdownTimeout
		}
	}
	return err
}

// shutdownGrace bounds Shutdown's wait for the engine's goroutines after
// every session is closed.
const shutdownGrace = 2 * time.Second

// CloseAll closes every session at once, without flushing, as a crash
// would (clients see their transport close and reconnect).
func (srv *Server) CloseAll(reason string) {
	for _, s := range srv.snapshot(nil) {
		s.abort(reason, true)
	}
}

type gwsLogger struct{ cfg Config }

func (l gwsLogger) Error(v ...any) { l.cfg.Logger.Error("engineio: websocket", "err", v) }
