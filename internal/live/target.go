package live

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Limits of what a host may enter: a platform's ingest URL is short, and
// its stream key a few dozen characters.
const (
	MaxURLLen = 512
	MaxKeyLen = 256
)

// target is where a stream goes: the URL the host entered and the key,
// which is a secret (never logged, never sent to anybody, masked in the
// status).
type target struct {
	url  *url.URL
	key  string
	host string // the URL's host name, resolved before every connection
}

// parseTarget checks the host's URL and key: rtmp:// or rtmps://, a host,
// no spaces or control characters, within the length limits.
func parseTarget(rawURL, key string) (target, error) {
	if rawURL == "" || len(rawURL) > MaxURLLen || !printable(rawURL) {
		return target{}, ErrBadURL
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Hostname() == "" ||
		u.Opaque != "" || u.RawQuery != "" || u.Fragment != "" {
		return target{}, ErrBadURL
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return target{}, ErrBadURL
		}
	}
	if len(key) > MaxKeyLen || !printable(key) || strings.ContainsAny(key, "/?#") {
		return target{}, ErrBadKey
	}
	return target{url: u, key: key, host: u.Hostname()}, nil
}

// printable: no spaces, no control characters, no non-ASCII (an ingest URL
// and key are plain ASCII; anything else is a mistake or an attack on the
// ffmpeg command line).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// ffmpegURL is what ffmpeg connects to: the URL with the key as its last
// path element, as every platform's "server URL + stream key" means.
func (t target) ffmpegURL() string {
	s := t.url.String()
	if t.key == "" {
		return s
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s + t.key
}

// Masked is the target as it may be shown: no user info, and the key as
// asterisks with its last two characters (enough for the host to tell
// two keys apart, not enough to use one).
func (t target) Masked() string {
	u := *t.url
	u.User = nil
	s := u.String()
	if t.key == "" {
		return s
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s + maskKey(t.key)
}

func maskKey(k string) string {
	if len(k) < 8 {
		return "****"
	}
	return "****" + k[len(k)-2:]
}

// scrub removes the key (and the URL's password) from a text that may
// contain them, such as ffmpeg's error output.
func (t target) scrub(s string) string {
	if t.key != "" {
		s = strings.ReplaceAll(s, t.key, maskKey(t.key))
	}
	if p, ok := t.url.User.Password(); ok && p != "" {
		s = strings.ReplaceAll(s, p, "****")
	}
	return s
}

// checkHost refuses a target whose host is, or resolves to, an address
// of this machine or its private networks, unless allowed: a host must
// not make the server send a stream (or probe) inside its own network.
// It runs before every connection, so that a name that changes its
// address later is caught at the next reconnection; the window between
// this check and ffmpeg's own resolution remains (documented).
func checkHost(ctx context.Context, host string, allowPrivate bool, resolver *net.Resolver) error {
	if allowPrivate {
		return nil
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ips, err := resolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return ErrUnresolved
		}
		addrs = ips
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
			a.IsUnspecified() || a.IsMulticast() || a.IsInterfaceLocalMulticast() || cgnat.Contains(a) {
			return ErrPrivateTarget
		}
	}
	return nil
}

// cgnat is the carrier-grade NAT range (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")
