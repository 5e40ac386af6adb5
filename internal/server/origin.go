package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/huddlehq/huddle/internal/config"
)

// originPolicy decides which web pages may open a signaling session. A
// page on another site must not be able to use a visitor's browser to join
// meetings, so only these are allowed by default: the server's own origin
// (the request's Host, and --public-url), pages on the local machine, and
// the --allowed-origins list. A request without an Origin header is not
// from a browser page (the Go and Node test clients, curl) and is allowed:
// such a client could send any Origin it likes anyway.
type originPolicy struct {
	allowAll bool
	allowed  map[string]bool // normalized origins, scheme://host[:port]
}

func newOriginPolicy(publicURL string, extra []string) *originPolicy {
	p := &originPolicy{allowed: map[string]bool{}}
	for _, o := range append([]string{publicURL}, extra...) {
		if o == "*" {
			p.allowAll = true
			continue
		}
		if n, ok := normalizeOrigin(o); ok {
			p.allowed[n] = true
		}
	}
	return p
}

// allows reports whether r may open a session.
func (p *originPolicy) allows(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || p.allowAll {
		return true
	}
	n, ok := normalizeOrigin(origin)
	if !ok {
		return false // "null" (sandboxed frames, file://) and garbage
	}
	if p.allowed[n] {
		return true
	}
	u, _ := url.Parse(n)
	if isLocalHost(u.Hostname()) {
		return true
	}
	// Same origin: the page was served by this server under this Host.
	return stripDefaultPort(u.Scheme, u.Host) == stripDefaultPort(u.Scheme, strings.ToLower(r.Host))
}

// normalizeOrigin lower-cases an http(s) origin and drops its default port.
func normalizeOrigin(s string) (string, bool) {
	o, err := config.ParseOrigin(s)
	if err != nil {
		return "", false
	}
	u, _ := url.Parse(o)
	return u.Scheme + "://" + stripDefaultPort(u.Scheme, u.Host), true
}

func stripDefaultPort(scheme, host string) string {
	if (scheme == "http" && strings.HasSuffix(host, ":80")) ||
		(scheme == "https" && strings.HasSuffix(host, ":443")) {
		return host[:strings.LastIndexByte(host, ':')]
	}
	return host
}

// isLocalHost reports whether a page's host name is the local machine.
func isLocalHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}
