package config

import (
	"io"
	"net"
	"net/url"
	"time"
)

// HealthcheckRequest is what `huddle healthcheck` asks: the URL of the
// server's /healthz and how long to wait for it.
type HealthcheckRequest struct {
	// URL is the /healthz to GET; by default made from Addr and TLS.
	URL string
	// TLS is whether the server serves HTTPS: the check then skips
	// verifying the certificate, since it talks to its own host over
	// loopback, where the certificate's names never match.
	TLS     bool
	Timeout time.Duration
}

// ParseHealthcheck reads the flags of `huddle healthcheck` (without
// "healthcheck"). It reads the server's own HUDDLE_ADDR and TLS variables,
// so that in a container whose environment configures the server the
// check needs no flags at all (a scratch image has no shell to build a
// command line with).
func ParseHealthcheck(args []string, getenv func(string) string, out io.Writer) (HealthcheckRequest, error) {
	var h HealthcheckRequest
	var addr, cert string
	var selfSigned bool
	var acme []string
	fs := newFlagSet("huddle healthcheck")
	fs.fs.SetOutput(out)
	fs.String(&addr, "addr", ":8080", "the server's --addr")
	fs.String(&cert, "tls-cert", "", "the server's --tls-cert (only whether it is set matters)")
	fs.Bool(&selfSigned, "tls-self-signed", false, "the server's --tls-self-signed")
	fs.List(&acme, "acme-domains", nil, "the server's --acme-domains (only whether it is set matters)")
	fs.String(&h.URL, "healthcheck-url", "", "URL to check instead of http(s)://<loopback>:<port of --addr>/healthz")
	fs.Duration(&h.Timeout, "healthcheck-timeout", 3*time.Second, "how long the check may take")
	fs.fs.Usage = func() {
		_, _ = io.WriteString(out, "Usage: huddle healthcheck [--addr :8080] [--healthcheck-url U]\n\n"+
			"GETs the server's /healthz over loopback; exit status 0 when it answers 200, 1 otherwise.\n"+
			"It reads the server's HUDDLE_ADDR and TLS environment variables.\n\n")
		fs.fs.PrintDefaults()
	}
	if err := fs.parse(args, getenv); err != nil {
		return h, err
	}
	if h.Timeout <= 0 {
		return h, invalid("--healthcheck-timeout must be positive")
	}
	h.TLS = cert != "" || selfSigned || len(acme) > 0
	if h.URL != "" {
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return h, invalid("--healthcheck-url: want an http(s) URL, got %q", h.URL)
		}
		return h, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return h, invalid("--addr: want host:port or :port, got %q", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1" // the server listens on every address: loopback is one
	case "::", "[::]":
		host = "::1"
	}
	scheme := "http"
	if h.TLS {
		scheme = "https"
	}
	h.URL = scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	return h, nil
}
