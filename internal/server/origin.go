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
// meetings, so only these are allowed by default:
//
//   - the origins of --public-url and --allowed-origins;
//   - the server's own origin, an Origin equal to the request's Host, but
//     only when that host is an IP address, localhost, or one of the names
//     the server is configured with (--public-url, --allowed-origins,
//     --acme-domains, its certificate's names). Any other name may be an
//     attacker's, pointed at this server's address by DNS (rebinding):
//     the browser then sends the attacker's name as both Origin and Host;
//   - pages on localhost, 127.0.0.1 and [::1], any port, only when the
//     server listens on a loopback address (it is then a local tool) or
//     with --allow-loopback-origins: on a public server they are any local
//     program's pages.
//
// A request without an Origin header is not from a browser page (the Go
// and Node test clients, curl) and is allowed: such a client could send
// any Origin it likes anyway.
type originPolicy struct {
	allowAll bool
	loopback bool            // pages on loopback hosts, any port
	allowed  map[string]bool // normalized origins, scheme://host[:port]
	names    map[string]bool // host names (lower case, no port) Host may be trusted as
}

// originOptions are what the policy is built from.
type originOptions struct {
	PublicURL string
	Allowed   []string // --allowed-origins; "*" allows all
	Names     []string // further names of the server: ACME domains, certificate names
	Loopback  bool     // allow loopback pages of any port
}

func newOriginPolicy(o originOptions) *originPolicy {
	p := &originPolicy{loopback: o.Loopback, allowed: map[string]bool{}, names: map[string]bool{}}
	for _, origin := range append([]string{o.PublicURL}, o.Allowed...) {
		if origin == "*" {
			p.allowAll = true
			continue
		}
		if n, ok := normalizeOrigin(origin); ok {
			p.allowed[n] = true
			u, _ := url.Parse(n)
			p.names[u.Hostname()] = true
		}
	}
	for _, n := range o.Names {
		p.names[strings.ToLower(strings.Trim(n, "[]"))] = true
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
	if p.loopback && isLocalHost(u.Hostname()) {
		return true
	}
	// Same origin: the page was served by this server under this Host,
	// if the Host is not a name anyone could point here.
	return stripDefaultPort(u.Scheme, u.Host) == stripDefaultPort(u.Scheme, strings.ToLower(r.Host)) &&
		p.trustedHost(u.Hostname())
}

// trustedHost reports whether a page's host name, equal to the request's
// Host, proves the page is this server's own. An IP address or localhost
// does: DNS is not asked, so no one else's name is involved.
func (p *originPolicy) trustedHost(host string) bool {
	return host == "localhost" || net.ParseIP(host) != nil || p.names[host]
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

// listensOnLoopback reports whether a reaches this machine only.
func listensOnLoopback(a net.Addr) bool {
	tcp, ok := a.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
