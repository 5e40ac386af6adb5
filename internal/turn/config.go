package turn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Config of the embedded TURN/STUN relay and of the ICE servers handed to
// clients. The zero value of every field means the default in its comment.
type Config struct {
	// Enabled runs the embedded relay. Default (from flags) true.
	Enabled bool
	// Listen is the UDP and TCP address of the relay. Default "0.0.0.0:3478".
	Listen string
	// TLSListen, when set together with a certificate, serves TURN over TLS.
	TLSListen string
	// TLSCertFile and TLSKeyFile are the PEM certificate and key of TURN
	// over TLS. TLSConfig, when set, is used instead (for example the
	// certificate the HTTPS server already has).
	TLSCertFile, TLSKeyFile string
	TLSConfig               *tls.Config
	// PublicIP is the address advertised in relay candidates. Default: the
	// listening IP when it is a specific one, else the first non-loopback
	// address of the host, or 127.0.0.1. In the ICE server URLs handed to
	// clients it names the relay; when empty they name the host the client
	// reached the web app at.
	PublicIP string
	// RelayMinPort and RelayMaxPort bound the relayed ports. Default 49152-65535.
	RelayMinPort, RelayMaxPort int
	// Realm of the long-term credentials. Default "huddle".
	Realm string
	// Secret is the shared secret of the TURN REST API scheme (coturn's
	// static-auth-secret). Empty means a random secret per process.
	Secret string
	// CredentialTTL is how long minted credentials can create allocations.
	// Default 10m. An allocation made in time lives on with its credential
	// (see Server.authenticate); clients fetch fresh credentials for new
	// connections (signaling's ice-servers event), so the TTL only has to
	// cover the time from minting to allocating.
	CredentialTTL time.Duration
	// ExternalURLs are stun:/turn:/turns: URLs of an external relay that
	// shares Secret, handed to clients instead of (or beside) the embedded one.
	ExternalURLs []string
	// ForceRelay makes clients use iceTransportPolicy "relay".
	ForceRelay bool
	// AllowPrivatePeers lets the relay reach loopback and private addresses
	// (tests and LANs). Default false: no open relay into the host's network.
	AllowPrivatePeers bool
	// MaxAllocationsPerUser and MaxAllocations cap relay allocations.
	// Defaults 10 and 1,000.
	MaxAllocationsPerUser, MaxAllocations int
	// MaxAllocationsPerIP caps the allocations of one client IP (IPv6: its
	// /64), whatever participants it claims to be. Default 20: two
	// participants' worth, so a few people behind one NAT still relay.
	MaxAllocationsPerIP int
	// MaxLifetime caps the lifetime an allocation may ask for. Default 10m.
	MaxLifetime time.Duration
	// UDPSockets is how many UDP sockets share the relay's port (Linux
	// SO_REUSEPORT), each read by its own goroutine, to spread a heavy
	// load over cores; at most GOMAXPROCS. Default 1, which costs the
	// least CPU per packet.
	UDPSockets int
}

// Errors of a Config that cannot work.
var (
	ErrBadListen     = errors.New("turn: listen address must be host:port")
	ErrBadPublicIP   = errors.New("turn: public IP is not an IP address")
	ErrBadPortRange  = errors.New("turn: relay port range must be 1-65535 with min <= max")
	ErrBadExternal   = errors.New("turn: external ICE URL must start with stun:, turn: or turns:")
	ErrTLSIncomplete = errors.New("turn: TLS needs both a certificate and a key file")
	ErrTLSNoCert     = errors.New("turn: TLS listen address set but no certificate configured")
	ErrNegative      = errors.New("turn: limits and durations must not be negative")
)

const (
	defaultListen      = "0.0.0.0:3478"
	defaultRealm       = "huddle"
	defaultTTL         = 10 * time.Minute
	defaultMinPort     = 49152
	defaultMaxPort     = 65535
	defaultPerUser     = 10
	defaultPerIP       = 20
	defaultMaxAllocs   = 1000
	defaultMaxLifetime = 10 * time.Minute
)

// withDefaults fills every zero field with its documented default.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = defaultListen
	}
	if c.Realm == "" {
		c.Realm = defaultRealm
	}
	if c.CredentialTTL == 0 {
		c.CredentialTTL = defaultTTL
	}
	if c.RelayMinPort == 0 {
		c.RelayMinPort = defaultMinPort
	}
	if c.RelayMaxPort == 0 {
		c.RelayMaxPort = defaultMaxPort
	}
	if c.MaxAllocationsPerUser == 0 {
		c.MaxAllocationsPerUser = defaultPerUser
	}
	if c.MaxAllocationsPerIP == 0 {
		c.MaxAllocationsPerIP = defaultPerIP
	}
	if c.MaxAllocations == 0 {
		c.MaxAllocations = defaultMaxAllocs
	}
	if c.MaxLifetime == 0 {
		c.MaxLifetime = defaultMaxLifetime
	}
	if c.UDPSockets == 0 {
		c.UDPSockets = 1
	}
	return c
}

// Validate reports the first setting that cannot work. It checks the
// relay's own settings only when Enabled.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, u := range c.ExternalURLs {
		if _, ok := externalKind(u); !ok {
			return fmt.Errorf("%w: %q", ErrBadExternal, u)
		}
	}
	if c.CredentialTTL < 0 || c.MaxLifetime < 0 || c.MaxAllocations < 0 || c.MaxAllocationsPerUser < 0 ||
		c.MaxAllocationsPerIP < 0 || c.UDPSockets < 0 {
		return ErrNegative
	}
	if c.PublicIP != "" {
		if _, err := netip.ParseAddr(c.PublicIP); err != nil {
			return fmt.Errorf("%w: %q", ErrBadPublicIP, c.PublicIP)
		}
	}
	if !c.Enabled {
		return nil
	}
	if _, _, err := splitHostPort(c.Listen); err != nil {
		return fmt.Errorf("%w: %q", ErrBadListen, c.Listen)
	}
	if c.RelayMinPort < 1 || c.RelayMaxPort > 65535 || c.RelayMinPort > c.RelayMaxPort {
		return fmt.Errorf("%w: %d-%d", ErrBadPortRange, c.RelayMinPort, c.RelayMaxPort)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return ErrTLSIncomplete
	}
	if c.TLSListen != "" {
		if _, _, err := splitHostPort(c.TLSListen); err != nil {
			return fmt.Errorf("%w: %q", ErrBadListen, c.TLSListen)
		}
		if c.TLSCertFile == "" && c.TLSConfig == nil {
			return ErrTLSNoCert
		}
	}
	return nil
}

// TLSEnabled reports whether the embedded relay serves TURN over TLS.
func (c Config) TLSEnabled() bool {
	return c.Enabled && c.TLSListen != "" && (c.TLSCertFile != "" || c.TLSConfig != nil)
}

// splitHostPort splits "host:port" and checks the port is a number.
func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, ErrBadListen
	}
	return host, port, nil
}

// externalKind returns "stun" or "turn" (turn: and turns:) for an ICE URL.
func externalKind(u string) (string, bool) {
	switch {
	case strings.HasPrefix(u, "stun:") || strings.HasPrefix(u, "stuns:"):
		return "stun", true
	case strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:"):
		return "turn", true
	}
	return "", false
}

// udpNetwork is "udp4" for an IPv4 host (a plain IPv4 socket, as pion
// relays over IPv4), else "udp" (IPv6 or dual stack).
func udpNetwork(host string) string {
	if ip := net.ParseIP(host); ip != nil && ip.To4() != nil {
		return "udp4"
	}
	return "udp"
}
