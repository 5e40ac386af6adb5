// Package server wires the parts of Huddle together (signaling, relay, web
// app, health and metrics) and runs them until the context ends.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/admin"
	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/internal/clusterlink"
	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/files"
	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/huddlehq/huddle/internal/metrics"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/web"
	"github.com/huddlehq/huddle/socketio"
)

// NewLogger builds the process logger from the config.
func NewLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config; info on error
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	s, err := New(cfg, log)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// engine is what the server needs of the Socket.IO server once it is set
// up: its HTTP side, its counts and its shutdown.
type engine interface {
	http.Handler
	Stats() socketio.Stats
	Shutdown(ctx context.Context) error
}

// parts are the pieces behind the HTTP server that have lifetimes of
// their own.
type parts struct {
	engine engine
	rooms  metrics.RoomStats    // nil until signaling exposes its counts
	relay  func() metrics.Relay // nil without the relay
	api    http.Handler         // /api/v1/; nil: not served (tests' own parts)
	// admin is the dashboard at /admin; nil: not served (tests' own parts).
	admin *admin.Handler
	// recordings serves signed recording downloads; nil: recording off.
	recordings http.Handler
	// files serves the files shared in chat; nil: --chat-files=false.
	files http.Handler
	close []func() error // run last at shutdown (the relay)
}

// Server is one running Huddle: its listeners, parts and readiness.
type Server struct {
	cfg      config.Config
	log      *slog.Logger
	metrics  *metrics.Metrics
	origins  *originPolicy
	limiter  *iplimit.Counter
	tcp      *tcpLimiter // --max-tcp-per-ip on the main listener; nil when off
	certs    certificates
	parts    parts
	ready    atomic.Bool
	handler  http.Handler
	ln       net.Listener // main address, HTTP or HTTPS
	httpLn   net.Listener // --http-addr: ACME HTTP-01 and redirects; nil when off
	pprofLn  net.Listener // --pprof-addr; nil when off
	httpSrvs []*http.Server
	// link and cluster are cluster mode's (cluster.go); nil without
	// --redis-url.
	link    *clusterlink.Link
	cluster *cluster.Cluster
	// clusterSig is the signaling service, for the cluster heartbeat's
	// load (stored once made, after the heartbeat started).
	clusterSig atomic.Pointer[signaling.Service]
}

// New sets everything up and binds the listeners, so that addresses are
// known (and taken) before Serve. Nothing is served yet: /readyz says 503
// until Serve runs.
func New(cfg config.Config, log *slog.Logger) (*Server, error) {
	return build(cfg, log, (*Server).startParts)
}

// build does the work of New with the parts made by start (tests put in
// their own engine).
func build(cfg config.Config, log *slog.Logger, start func(*Server) (parts, error)) (*Server, error) {
	s := &Server{
		cfg:     cfg,
		log:     log,
		limiter: iplimit.NewCounter(cfg.MaxConnsPerIP),
	}
	if soft, hard, err := raiseFileLimit(); err != nil {
		log.Warn("cannot raise the open files limit", "err", err)
	} else {
		log.Info("open files limit", "soft", soft, "hard", hard)
	}
	s.metrics = metrics.New(s.metricSources())
	var err error
	if s.certs, err = loadCertificates(cfg, log); err != nil {
		return nil, err
	}
	if err := s.listen(); err != nil {
		return nil, err
	}
	s.origins = newOriginPolicy(originOptions{
		PublicURL: cfg.PublicURL,
		Allowed:   cfg.AllowedOrigins,
		Names:     s.certs.names,
		Loopback:  cfg.AllowLoopbackOrigins || listensOnLoopback(s.ln.Addr()),
	})
	if cfg.MaxTCPPerIP > 0 && !cfg.TrustProxy {
		// Behind a proxy every connection comes from the proxy: the
		// per-session limits, which read X-Forwarded-For, still apply.
		s.tcp = newTCPLimiter(s.ln, cfg.MaxTCPPerIP, s.metrics.TCPRefused)
	}
	if s.parts, err = start(s); err != nil {
		s.closeListeners()
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// metricSources reads the parts lazily: they exist by the first scrape.
func (s *Server) metricSources() metrics.Sources {
	src := metrics.Sources{
		Sockets: func() (int, int) {
			if s.parts.engine == nil {
				return 0, 0
			}
			st := s.parts.engine.Stats()
			return st.Polling, st.WebSocket
		},
		PendingSessions: func() int {
			if s.parts.engine == nil {
				return 0
			}
			return s.parts.engine.Stats().Pending
		},
		Rooms: roomsFunc(func() (int, int) {
			if s.parts.rooms == nil {
				return 0, 0
			}
			return s.parts.rooms.Stats()
		}),
	}
	if s.cfg.TURN.Enabled {
		src.Relay = func() metrics.Relay {
			if s.parts.relay == nil {
				return metrics.Relay{}
			}
			return s.parts.relay()
		}
	}
	return src
}

type roomsFunc func() (int, int)

func (f roomsFunc) Stats() (int, int) { return f() }

func (s *Server) listen() error {
	var err error
	// No TCP keepalive on the main address: Engine.IO's pings already find
	// dead peers and keep NAT mappings alive, and HTTP idle connections
	// time out; the kernel's probes would only add four system calls to
	// every accepted connection.
	lc := net.ListenConfig{KeepAlive: -1}
	if s.ln, err = lc.Listen(context.Background(), "tcp", s.cfg.Addr); err != nil {
		return err
	}
	if s.cfg.TLS.HTTPAddr != "" {
		if s.httpLn, err = net.Listen("tcp", s.cfg.TLS.HTTPAddr); err != nil {
			s.closeListeners()
			return err
		}
	}
	if s.cfg.PprofAddr != "" {
		if s.pprofLn, err = net.Listen("tcp", s.cfg.PprofAddr); err != nil {
			s.closeListeners()
			return err
		}
	}
	return nil
}

func (s *Server) closeListeners() {
	for _, ln := range []net.Listener{s.ln, s.httpLn, s.pprofLn} {
		if ln != nil {
			ln.Close()
		}
	}
}

// routes is the main handler: signaling, web app, health and metrics,
// behind the security headers and the access log.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	webApp := web.Handler(web.Options{EmbedOrigins: s.cfg.Embed.Origins})
	mux.Handle("/socket.io/", stampSessionStart(s.parts.engine))
	mux.Handle("GET /socket.io/socket.io.js", webApp) // the client bundle, as Node's server serves it
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.Handle("GET /metrics", s.metrics.Handler())
	if s.parts.api != nil {
		mux.Handle("/api/v1/", s.parts.api)
	}
	if s.parts.admin != nil {
		mux.Handle("/admin", s.parts.admin)
		mux.Handle("/admin/", s.parts.admin)
	}
	// The web app answers every other path with the page; /debug/ must
	// not look like it exists here (pprof lives on --pprof-addr only).
	if s.parts.recordings != nil {
		mux.Handle("/recordings/", s.parts.recordings) // recording.URLPrefix
	}
	if s.parts.files != nil {
		mux.Handle(files.Prefix, s.parts.files)
	}
	mux.Handle("/debug/", http.NotFoundHandler())
	mux.Handle("/", webApp)
	return boundRequests(securityHeaders(s.cfg.Embed.Origins, accessLog(s.log, mux)), s.requestTimeout())
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

// Handler is the main HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Addr is the main listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// TLSConfig is the certificate setup of the HTTPS listener, nil when it
// speaks plain HTTP. The TURN-over-TLS listener shares it.
func (s *Server) TLSConfig() *tls.Config { return s.certs.tls }

// Metrics is where the server's parts record what they do.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Serve serves until ctx ends, then shuts down within --shutdown-timeout.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 3)
	main := s.newHTTPServer(s.handler)
	// Writes are bounded per request (boundRequests); this is the bound of
	// the longest, a long poll, and of what comes before the handler.
	main.WriteTimeout = s.pollWriteTimeout()
	if s.parts.admin != nil {
		main.RegisterOnShutdown(s.parts.admin.Close) // its event streams would hold the shutdown up
	}
	var ln net.Listener = s.ln
	var gone func(net.Conn)
	if s.tcp != nil {
		ln, gone = s.tcp, s.tcp.release
		main.ConnState = s.tcp.connState
	}
	scheme := "http"
	if s.certs.tls != nil {
		ln = tls.NewListener(ln, s.certs.tls)
		scheme = "https"
	} else {
		ln = newUpgradeListener(ln, s.handler, s.log, readHeaderTimeout, gone)
	}
	go func() { errc <- main.Serve(ln) }()
	if s.httpLn != nil {
		var h http.Handler = redirectToHTTPS(s.cfg.PublicURL, portOf(s.ln.Addr()))
		if s.certs.acme != nil {
			h = s.certs.acme.HTTPHandler(h)
		}
		srv := s.newHTTPServer(boundRequests(securityHeaders(nil, accessLog(s.log, h)), s.requestTimeout()))
		go func() { errc <- srv.Serve(s.httpLn) }()
		s.log.Info("plain HTTP listening for redirects and ACME challenges", "addr", s.httpLn.Addr().String())
	}
	if s.pprofLn != nil {
		srv := s.newHTTPServer(pprofHandler())
		go func() { errc <- srv.Serve(s.pprofLn) }()
		s.log.Warn("pprof listening; keep this address private", "addr", s.pprofLn.Addr().String())
	}
	s.ready.Store(true)
	s.log.Info("listening", "addr", s.ln.Addr().String(), "url", scheme+"://"+displayHost(s.ln.Addr()))

	select {
	case err := <-errc:
		s.log.Error("listener failed", "err", err)
		_ = s.shutdown()
		return err
	case <-ctx.Done():
	}
	return s.shutdown()
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.httpSrvs = append(s.httpSrvs, srv)
	return srv
}

// shutdown stops in the order that loses least, within --shutdown-timeout:
//
//  1. /readyz says 503, so load balancers send no one new, while
//     everything else is served on for --shutdown-delay: messages that
//     clients sent just before the signal are still relayed;
//  2. the Socket.IO engine refuses new sessions and tells every client to
//     go (they reconnect to whatever the address points at next); it gets
//     half the time, because a long-polling client may never come back for
//     its last packet, and then closes what is left;
//  3. in a cluster, the meetings homed here are given up (handOver), so
//     that the node each participant reconnects to takes them over at
//     once, not after the slower teardown of media and relay;
//  4. the HTTP servers close their listeners and wait for requests in
//     flight;
//  5. the relay stops.
//
// The listeners stay open during step 2 so that polling clients can fetch
// their DISCONNECT and say goodbye.
func (s *Server) shutdown() error {
	s.ready.Store(false)
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout.String(), "delay", s.cfg.ShutdownDelay.String())
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.announceDraining(ctx) // cluster.go

	select {
	case <-time.After(s.cfg.ShutdownDelay):
	case <-ctx.Done():
	}
	s.announceLeaving(ctx) // cluster.go
	engineCtx, cancelEngine := context.WithTimeout(ctx, (s.cfg.ShutdownTimeout-s.cfg.ShutdownDelay)/2)
	if err := s.parts.engine.Shutdown(engineCtx); err != nil {
		s.log.Info("closed the signaling sessions that did not leave in time", "err", err)
	}
	cancelEngine()
	s.handOver(ctx) // cluster.go
	for _, srv := range s.httpSrvs {
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn("forcing connections closed", "err", err)
			srv.Close()
		}
	}
	for _, closeFn := range s.parts.close {
		if err := runWithin(ctx, closeFn); err != nil {
			s.log.Warn("shutdown", "err", err)
		}
	}
	s.log.Info("stopped")
	return nil
}

// ErrGaveUp is reported when a part did not stop within the shutdown timeout.
var ErrGaveUp = errors.New("gave up waiting")

// runWithin runs fn but stops waiting for it when ctx ends.
func runWithin(ctx context.Context, fn func() error) error {
	errc := make(chan error, 1)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrGaveUp, ctx.Err())
	}
}

func portOf(a net.Addr) string {
	_, port, _ := net.SplitHostPort(a.String())
	return port
}

func displayHost(a net.Addr) string {
	host, port, _ := net.SplitHostPort(a.String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		return "localhost:" + port
	}
	return a.String()
}
