// Package config turns command-line flags and HUDDLE_* environment
// variables into one Config struct that is passed down to every part of the
// server. Nothing here is package-level state: Parse can be called any number
// of times (tests do).
package config

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/turn"
	"github.com/huddlehq/huddle/socketio"
)

// ErrHelp is returned by Parse when --help was asked for; usage has been
// printed.
var ErrHelp = flag.ErrHelp

// Config is everything the server needs to start.
type Config struct {
	// Addr is the HTTP(S) listen address.
	Addr string
	// PublicURL is how users reach the server (https://meet.example.com);
	// used for origin checks and invite links. Empty: derived per request.
	PublicURL string
	// AllowedOrigins may open Socket.IO sessions besides the server's own
	// origin.
	AllowedOrigins []string
	// AllowLoopbackOrigins lets pages on localhost, 127.0.0.1 and [::1] (any
	// port) open sessions even when the server does not listen on a
	// loopback address only (it always may when it does).
	AllowLoopbackOrigins bool

	LogFormat string // "text" or "json"
	LogLevel  string // "debug", "info", "warn", "error"

	// ShutdownTimeout bounds a graceful shutdown after SIGTERM.
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the server keeps serving after SIGTERM,
	// with /readyz at 503, before it sends clients away: load balancers
	// notice, and messages already on the way are still relayed. Part of
	// ShutdownTimeout.
	ShutdownDelay time.Duration
	// PprofAddr, when set, serves net/http/pprof on that separate address.
	PprofAddr string

	// MaxTCPPerIP caps the TCP connections one client IP address may hold
	// on the main listener at once (HTTP requests, long polls and WebSocket
	// handshakes; a WebSocket that is set up counts as a session instead).
	// Zero means no limit; off with TrustProxy, where the peer is the proxy.
	MaxTCPPerIP int
	// RequestTimeout bounds the arrival of a request body and the writing
	// of a response. A long-polling GET, which waits up to the ping
	// interval for something to send, gets the ping interval on top. Zero
	// means the default, 20s.
	RequestTimeout time.Duration

	// MaxConnsPerIP caps the Socket.IO sessions one client IP address may
	// hold at once. Zero means no limit.
	MaxConnsPerIP int
	// TrustProxy takes the client IP from X-Forwarded-For (its last entry,
	// the one a reverse proxy appends) instead of the TCP peer. Only turn it
	// on behind a proxy that sets the header, or clients can pick their IP.
	TrustProxy bool

	TLS       TLSConfig
	Engine    socketio.Config
	Signaling signaling.Config
	TURN      turn.Config
	Media     MediaConfig
	// Auth is join tokens, the server API and webhooks (auth.go).
	Auth AuthConfig
	// Cluster is cluster mode on Redis (cluster.go); off by default.
	Cluster ClusterConfig
	// Embed is which sites may frame the app (embed.go); none by default.
	Embed EmbedConfig
	// Admin is the admin dashboard (admin.go).
	Admin AdminConfig
	// Files is the files shared in chat (files.go).
	Files FilesConfig
}

// TLSConfig selects how HTTPS is served: from files, self-signed, or ACME.
type TLSConfig struct {
	CertFile, KeyFile string
	// SelfSigned makes a certificate at start for LAN use.
	SelfSigned bool
	// ACMEDomains turns on automatic certificates for these host names.
	ACMEDomains []string
	ACMEEmail   string
	ACMEDir     string // directory URL of the CA; default Let's Encrypt
	ACMECache   string // where certificates are kept
	// ACMECAFile is a PEM file of extra roots trusted for the ACME
	// directory's own HTTPS (a private CA such as step-ca or pebble).
	ACMECAFile string
	// HTTPAddr serves ACME HTTP-01 challenges and redirects to HTTPS.
	HTTPAddr string
}

// Enabled reports whether the server should speak HTTPS.
func (t TLSConfig) Enabled() bool {
	return t.CertFile != "" || t.SelfSigned || len(t.ACMEDomains) > 0
}

// Parse reads args (without the program name) and the environment through
// getenv (nil means os.LookupEnv). Usage goes to out on --help or errors.
func Parse(args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var c Config
	fs := newFlagSet("huddle")
	fs.fs.SetOutput(out)
	c.register(fs)
	registerEngine(fs, &c.Engine)
	finishSignaling := registerSignaling(fs, &c.Signaling)
	registerTURN(fs, &c.TURN)
	registerMedia(fs, &c.Media)
	finishAuth := registerAuth(fs, &c.Auth)
	registerCluster(fs, &c.Cluster)
	registerEmbed(fs, &c.Embed)
	registerAdmin(fs, &c.Admin)
	registerFiles(fs, &c.Files)
	fs.fs.Usage = func() { fs.usage(out) }
	if err := fs.parse(args, getenv); err != nil {
		return c, err
	}
	if err := finishSignaling(); err != nil {
		return c, err
	}
	if err := finishAuth(); err != nil {
		return c, err
	}
	// A meeting on the SFU holds 100 people; a mesh, where everyone
	// uploads to everyone, the mesh limit.
	if c.Signaling.MaxParticipants == 0 {
		c.Signaling.MaxParticipants = 100
		if c.Media.Mode == "mesh" {
			c.Signaling.MaxParticipants = c.Signaling.MeshLimit
		}
	}
	// The SFU is reached at the address the relay advertises unless it
	// is given its own.
	if len(c.Media.PublicIPs) == 0 && c.TURN.PublicIP != "" {
		c.Media.PublicIPs = []string{c.TURN.PublicIP}
	}
	return c, c.validate()
}

func (c *Config) register(fs *flagSet) {
	fs.String(&c.Addr, "addr", ":8080", "HTTP listen address")
	fs.String(&c.PublicURL, "public-url", "", "URL users reach the server at, e.g. https://meet.example.com")
	fs.List(&c.AllowedOrigins, "allowed-origins", nil, "extra origins allowed to open signaling sessions")
	fs.String(&c.LogFormat, "log-format", "text", "log format: text or json")
	fs.String(&c.LogLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Duration(&c.ShutdownTimeout, "shutdown-timeout", 10*time.Second, "how long a graceful shutdown may take")
	fs.Duration(&c.ShutdownDelay, "shutdown-delay", time.Second, "serve on (with /readyz 503) this long after SIGTERM before sending clients away")
	fs.String(&c.PprofAddr, "pprof-addr", "", "serve pprof on this separate address (off when empty)")
	fs.Int(&c.MaxTCPPerIP, "max-tcp-per-ip", 128, "TCP connections one client IP address may hold at once, closed at accept when over (0: no limit; off with --trust-proxy)")
	fs.Duration(&c.RequestTimeout, "request-timeout", 20*time.Second, "time a request body may take to arrive and a response to be written (long polls get --ping-interval more)")
	fs.Bool(&c.AllowLoopbackOrigins, "allow-loopback-origins", false, "let pages on localhost, 127.0.0.1 and [::1] (any port) open sessions; always on when --addr is a loopback address")
	fs.Int(&c.MaxConnsPerIP, "max-conns-per-ip", 50, "signaling sessions one client IP address may hold at once (0: no limit)")
	fs.Bool(&c.TrustProxy, "trust-proxy", false, "take the client IP from X-Forwarded-For (only behind a reverse proxy that sets it)")
	fs.String(&c.TLS.CertFile, "tls-cert", "", "TLS certificate file (PEM)")
	fs.String(&c.TLS.KeyFile, "tls-key", "", "TLS private key file (PEM)")
	fs.Bool(&c.TLS.SelfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate (LAN use)")
	fs.List(&c.TLS.ACMEDomains, "acme-domains", nil, "host names to obtain certificates for from an ACME CA")
	fs.String(&c.TLS.ACMEEmail, "acme-email", "", "contact address for the ACME account")
	fs.String(&c.TLS.ACMEDir, "acme-directory", "", "ACME directory URL (default Let's Encrypt)")
	fs.String(&c.TLS.ACMECache, "acme-cache", "huddle-certs", "directory where ACME certificates are kept")
	fs.String(&c.TLS.ACMECAFile, "acme-ca-file", "", "PEM roots trusted for the ACME directory's HTTPS (private ACME CAs)")
	fs.String(&c.TLS.HTTPAddr, "http-addr", "", "plain HTTP address for ACME challenges and redirects, e.g. :80")
}

// ErrInvalid wraps every validation error, whose message names the flag.
var ErrInvalid = errors.New("invalid configuration")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func (c *Config) validate() error {
	if c.Addr == "" {
		return invalid("--addr must not be empty")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return invalid("--log-format: want text or json, got %q", c.LogFormat)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return invalid("--log-level: want debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.ShutdownTimeout <= 0 {
		return invalid("--shutdown-timeout must be positive")
	}
	if c.ShutdownDelay < 0 || c.ShutdownDelay >= c.ShutdownTimeout {
		return invalid("--shutdown-delay must be at least 0 and less than --shutdown-timeout")
	}
	if c.MaxTCPPerIP < 0 {
		return invalid("--max-tcp-per-ip must not be negative")
	}
	if c.RequestTimeout < 0 {
		return invalid("--request-timeout must not be negative")
	}
	if c.MaxConnsPerIP < 0 {
		return invalid("--max-conns-per-ip must not be negative")
	}
	if c.PublicURL != "" {
		if _, err := ParseOrigin(c.PublicURL); err != nil {
			return invalid("--public-url: %v", err)
		}
	}
	for _, o := range c.AllowedOrigins {
		if o == "*" {
			continue
		}
		if _, err := ParseOrigin(o); err != nil {
			return invalid("--allowed-origins: %v", err)
		}
	}
	if err := c.TLS.validate(); err != nil {
		return err
	}
	if err := c.Media.validate(); err != nil {
		return err
	}
	if err := c.Auth.validate(); err != nil {
		return err
	}
	if err := c.Admin.validate(); err != nil {
		return err
	}
	if err := c.Files.validate(); err != nil {
		return err
	}
	if err := c.Cluster.validate(); err != nil {
		return err
	}
	if err := c.Embed.settle(); err != nil {
		return err
	}
	if err := settleEngine(&c.Engine); err != nil {
		return err
	}
	turnCfg := c.TURN
	if c.TLS.Enabled() && turnCfg.TLSConfig == nil {
		// The relay is handed the web server's certificate at start.
		turnCfg.TLSConfig = &tls.Config{}
	}
	if err := turnCfg.Validate(); err != nil {
		return invalid("%v", err)
	}
	return nil
}

func (t TLSConfig) validate() error {
	if (t.CertFile == "") != (t.KeyFile == "") {
		return invalid("--tls-cert and --tls-key go together")
	}
	modes := 0
	for _, on := range []bool{t.CertFile != "", t.SelfSigned, len(t.ACMEDomains) > 0} {
		if on {
			modes++
		}
	}
	if modes > 1 {
		return invalid("choose one of --tls-cert/--tls-key, --tls-self-signed and --acme-domains")
	}
	if len(t.ACMEDomains) > 0 && t.ACMECache == "" {
		return invalid("--acme-cache must not be empty with --acme-domains")
	}
	if t.HTTPAddr != "" && !t.Enabled() {
		return invalid("--http-addr redirects to HTTPS and needs a TLS certificate")
	}
	return nil
}

// ParseOrigin checks that s is a web origin, scheme://host[:port] with
// scheme http or https and nothing after the host (a trailing slash is
// forgiven), and returns it in the form browsers send in Origin headers.
func ParseOrigin(s string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("%q: want an http:// or https:// origin", s)
	}
	if u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("%q: want scheme://host[:port] only", s)
	}
	return u.Scheme + "://" + strings.ToLower(u.Host), nil
}
