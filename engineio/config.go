package engineio

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
)

// Config tunes the server. The zero value of each field means the default
// in its comment (the Node.js engine.io defaults).
type Config struct {
	// PingInterval is how often a session is pinged. Default 25s.
	PingInterval time.Duration
	// PingTimeout is how long a pong may take. Default 20s.
	PingTimeout time.Duration
	// MaxPayload is the largest WebSocket message or polling body, in bytes.
	// Default 1,000,000.
	MaxPayload int
	// SendQueue is how many packets may wait for a client before the session
	// is closed with "send queue full". Default 1024.
	SendQueue int
	// UpgradeTimeout bounds the polling to WebSocket upgrade. Default 10s.
	UpgradeTimeout time.Duration
	// PollingIOTimeout bounds reading a polling POST's body and writing a
	// polling response, so that a client that sends a request head and
	// never its body, or never reads the answer, holds no goroutine or
	// connection for ever. A GET's wait for something to send is not
	// counted: the heartbeat ends it. Default 10s, as a WebSocket write.
	PollingIOTimeout time.Duration
	// ReadBufferSize is the WebSocket read buffer of each connection.
	// Default 1024: small, because most sockets are idle.
	ReadBufferSize int
	// ReadMode chooses how WebSocket connections are read. The zero value
	// is the default, ReadEventDriven.
	ReadMode ReadMode
	// CheckOrigin decides whether a request may be served. Nil allows all.
	CheckOrigin func(r *http.Request) bool
	// MaxSessionsPerIP caps the sessions one client address (an IPv4
	// address or an IPv6 /64, see iplimit.Key) holds at once. A session
	// counts from its handshake on, whatever it sends or does not send
	// afterwards; a handshake over the cap is refused with 429. Default 64;
	// negative means no limit.
	MaxSessionsPerIP int
	// ClientIP is the address a request is counted by. Whether a proxy's
	// X-Forwarded-For can be trusted is the caller's to decide. Nil means
	// the host of RemoteAddr.
	ClientIP func(r *http.Request) netip.Addr
	// Logger receives connection logs. Nil means slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PingInterval <= 0 {
		c.PingInterval = 25 * time.Second
	}
	if c.PingTimeout <= 0 {
		c.PingTimeout = 20 * time.Second
	}
	if c.MaxPayload <= 0 {
		c.MaxPayload = 1_000_000
	}
	if c.SendQueue <= 0 {
		c.SendQueue = 1024
	}
	if c.UpgradeTimeout <= 0 {
		c.UpgradeTimeout = 10 * time.Second
	}
	if c.PollingIOTimeout <= 0 {
		c.PollingIOTimeout = writeTimeout
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = 1024
	}
	switch {
	case c.MaxSessionsPerIP == 0:
		c.MaxSessionsPerIP = DefaultMaxSessionsPerIP
	case c.MaxSessionsPerIP < 0:
		c.MaxSessionsPerIP = 0 // iplimit.Counter: no limit
	}
	if c.ClientIP == nil {
		c.ClientIP = remoteIP
	}
	if c.ReadMode == ReadDefault {
		c.ReadMode = ReadEventDriven
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// DefaultMaxSessionsPerIP is Config.MaxSessionsPerIP's default: a little
// above the Socket.IO sessions a server lets one address connect by default
// (--max-conns-per-ip, 50), so that a client reconnecting while its old
// session times out is not refused, but far below what would let one
// address fill the server with sessions that never connect.
const DefaultMaxSessionsPerIP = 64

func remoteIP(r *http.Request) netip.Addr { return iplimit.ClientIP(r.RemoteAddr, nil, false) }

// ReadMode is how WebSocket connections are read.
type ReadMode uint8

const (
	// ReadDefault is the zero value: the default mode (see Config).
	ReadDefault ReadMode = iota
	// ReadGoroutine reads each connection with a goroutine of its own
	// (gws's read loop, with a read buffer of ReadBufferSize).
	ReadGoroutine
	// ReadEventDriven reads plain (non-TLS) connections on Linux from one
	// epoll poller per server: an idle connection has no goroutine and no
	// read buffer. TLS connections and other systems fall back to
	// ReadGoroutine.
	ReadEventDriven
)

func (m ReadMode) String() string {
	switch m {
	case ReadGoroutine:
		return "goroutine"
	case ReadEventDriven:
		return "event-driven"
	}
	return "default"
}
