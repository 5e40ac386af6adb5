// Package config turns command-line flags and HUDDLE_* environment
// variables into one Config struct that is passed down to every part of the
// server. Nothing here is package-level state: Parse can be called any number
// of times (tests do).
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/socketio"
	"github.com/huddlehq/huddle/internal/turn"
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
	// origin and localhost.
	AllowedOrigins []string

	LogFormat string // "text" or "json"
	LogLevel  string // "debug", "info", "warn", "error"

	// ShutdownTimeout bounds a graceful shutdown after SIGTERM.
	ShutdownTimeout time.Duration
	// PprofAddr, when set, serves net/http/pprof on that separate address.
	PprofAddr string

	TLS       TLSConfig
	Engine    socketio.Config
	Signaling signaling.Config
	TURN      turn.Config
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
	registerSignaling(fs, &c.Signaling)
	registerTURN(fs, &c.TURN)
	fs.fs.Usage = func() { fs.usage(out) }
	if err := fs.parse(args, getenv); err != nil {
		return c, err
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
	fs.String(&c.PprofAddr, "pprof-addr", "", "serve pprof on this separate address (off when empty)")
	fs.String(&c.TLS.CertFile, "tls-cert", "", "TLS certificate file (PEM)")
	fs.String(&c.TLS.KeyFile, "tls-key", "", "TLS private key file (PEM)")
	fs.Bool(&c.TLS.SelfSigned, "tls-self-signed", false, "serve HTTPS with a self-signed certificate (LAN use)")
	fs.List(&c.TLS.ACMEDomains, "acme-domains", nil, "host names to obtain certificates for from an ACME CA")
	fs.String(&c.TLS.ACMEEmail, "acme-email", "", "contact address for the ACME account")
	fs.String(&c.TLS.ACMEDir, "acme-directory", "", "ACME directory URL (default Let's Encrypt)")
	fs.String(&c.TLS.ACMECache, "acme-cache", "huddle-certs", "directory where ACME certificates are kept")
	fs.String(&c.TLS.HTTPAddr, "http-addr", "", "plain HTTP address for ACME challenges and redirects, e.g. :80")
}

func (c *Config) validate() error {
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("--log-format: want text or json, got %q", c.LogFormat)
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.ShutdownTimeout <= 0 {
		return errors.New("--shutdown-timeout must be positive")
	}
	return nil
}
