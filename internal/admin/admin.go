// Package admin is the admin dashboard at /admin: the live meetings and
// their participants (media state and, through the SFU, bitrate, loss and
// round trip), the relay's allocations and the server's CPU, memory,
// goroutines and sockets, sent by Server-Sent Events to a small page with
// live charts; an operator can end a meeting or remove someone.
//
// It is on when a password (--admin-password) or API keys (--api-keys)
// are configured: a browser logs in with either and gets a signed session
// cookie; a script sends a key as a Bearer token. Wrong passwords and keys
// are limited per client address. Actions are POSTs from the same origin.
//
// The package reads the server only through Config's narrow interfaces,
// so the handler is tested with httptest and fakes.
package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/api"
	"github.com/huddlehq/huddle/internal/iplimit"
)

// Rooms is what the dashboard reads of meetings and does to them; the
// server API's rooms (internal/api.Rooms) have all of it.
type Rooms interface {
	ListRooms() []api.Room
	EndRoom(id string) error
	RemoveParticipant(room, id string) error
}

// MediaFigures are one participant's media as the SFU sees it (cumulative
// bytes; the dashboard makes bitrates of two samples).
type MediaFigures struct {
	PublishedBytes, ForwardedBytes uint64
	Loss                           float64 // 0 to 1
	RTT                            time.Duration
	Reported                       bool // Loss and RTT are known
}

// Relay is the TURN relay's figures.
type Relay struct {
	Allocations  int
	BytesRelayed uint64 // cumulative
}

// Config sets up the dashboard. Zero values are the defaults in comments;
// nil functions leave their figures out.
type Config struct {
	// Password logs in; "": only Keys do.
	Password string
	// Keys are the server API's keys: each logs in like the password and
	// works as a Bearer key. With neither, /admin answers 404.
	Keys []string
	// PublicURL's host is accepted as the origin of actions besides the
	// request's own Host (a proxy may rewrite Host).
	PublicURL string

	Rooms Rooms
	// Media returns the SFU's figures of a room's participants by id.
	Media func(room string) map[string]MediaFigures
	// Relay returns the relay's figures; nil: no relay.
	Relay func() Relay
	// Sockets returns the signaling sessions (long-polling, WebSocket).
	Sockets func() (polling, websocket int)
	// ClientIP is the address a request counts against the login limit.
	// Default: the TCP peer.
	ClientIP func(*http.Request) netip.Addr

	// Interval between two snapshots of the event stream. Default 1s.
	Interval time.Duration
	// SessionTTL is how long a login lasts. Default 12h.
	SessionTTL time.Duration
	// LoginFailures wrong passwords or keys per address per LoginWindow
	// are allowed; then every attempt is refused until the window ends.
	// Defaults 5 and 1 minute.
	LoginFailures int
	LoginWindow   time.Duration
	// MaxStreams bounds the event streams open at once. Default 16.
	MaxStreams int
	Logger     *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = time.Second
	}
	if c.SessionTTL <= 0 {
		c.SessionTTL = 12 * time.Hour
	}
	if c.LoginFailures <= 0 {
		c.LoginFailures = 5
	}
	if c.LoginWindow <= 0 {
		c.LoginWindow = time.Minute
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 16
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.ClientIP == nil {
		c.ClientIP = func(r *http.Request) netip.Addr { return iplimit.ClientIP(r.RemoteAddr, nil, false) }
	}
	return c
}

// Prefix is where the dashboard lives.
const Prefix = "/admin"

//go:embed static
var static embed.FS

var pages = template.Must(template.ParseFS(static, "static/*.html"))

// Handler serves /admin and below.
type Handler struct {
	cfg      Config
	mux      *http.ServeMux
	password [sha256.Size]byte
	keys     [][sha256.Size]byte
	cookie   []byte // HMAC key of session cookies, new at every start
	failures *iplimit.Rate
	streams  atomic.Int32

	mu     sync.Mutex
	closed chan struct{} // closed by Close: event streams end
}

// ErrNoRooms is returned by New without Config.Rooms.
var ErrNoRooms = errors.New("admin: Config.Rooms is required")

// New returns the dashboard handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Rooms == nil {
		return nil, ErrNoRooms
	}
	cfg = cfg.withDefaults()
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), cookie: make([]byte, 32),
		failures: iplimit.NewRate(cfg.LoginFailures, cfg.LoginWindow), closed: make(chan struct{})}
	_, _ = rand.Read(h.cookie)
	// Secrets are kept as digests and compared as digests: equal lengths,
	// so the comparison's time tells nothing of a secret's length.
	if cfg.Password != "" {
		h.password = sha256.Sum256([]byte(cfg.Password))
	}
	for _, k := range cfg.Keys {
		h.keys = append(h.keys, sha256.Sum256([]byte(k)))
	}
	h.mux.HandleFunc("GET "+Prefix, h.page)
	h.mux.HandleFunc("GET "+Prefix+"/{$}", h.page)
	h.mux.HandleFunc("GET "+Prefix+"/admin.js", h.asset("admin.js", "text/javascript; charset=utf-8"))
	h.mux.HandleFunc("GET "+Prefix+"/admin.css", h.asset("admin.css", "text/css; charset=utf-8"))
	h.mux.HandleFunc("POST "+Prefix+"/login", h.login)
	h.mux.HandleFunc("POST "+Prefix+"/logout", h.logout)
	h.mux.HandleFunc("GET "+Prefix+"/snapshot", h.authed(h.snapshot))
	h.mux.HandleFunc("GET "+Prefix+"/events", h.authed(h.events))
	h.mux.HandleFunc("POST "+Prefix+"/rooms/{room}/end", h.authed(h.sameOrigin(h.endRoom)))
	h.mux.HandleFunc("POST "+Prefix+"/rooms/{room}/participants/{participant}/remove", h.authed(h.sameOrigin(h.removeParticipant)))
	return h, nil
}

// Enabled reports whether anyone can log in.
func (h *Handler) Enabled() bool { return h.cfg.Password != "" || len(h.keys) > 0 }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !h.Enabled() {
		if r.URL.Path == Prefix+"/admin.css" {
			h.mux.ServeHTTP(w, r) // the page below uses it
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_ = pages.ExecuteTemplate(w, "off.html", nil)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// Close ends the event streams, so that a graceful shutdown does not wait
// for them (http.Server.RegisterOnShutdown).
func (h *Handler) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.closed:
	default:
		close(h.closed)
	}
}

// page is the dashboard for a logged-in browser, the login form for
// anyone else.
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if h.validSession(r) {
		_ = pages.ExecuteTemplate(w, "dashboard.html", nil)
		return
	}
	h.loginForm(w, http.StatusOK, "")
}

func (h *Handler) loginForm(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = pages.ExecuteTemplate(w, "login.html", struct {
		Message     string
		PasswordSet bool
	}{message, h.cfg.Password != ""})
}

// asset serves a static file of the page; it holds no data, so it needs
// no login (the login page uses the style sheet).
func (h *Handler) asset(name, contentType string) http.HandlerFunc {
	b, err := static.ReadFile("static/" + name)
	if err != nil {
		panic(err) // embedded at build time
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(b)
	}
}
