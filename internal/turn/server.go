package turn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/pion/logging"
	pionturn "github.com/pion/turn/v4"
)

// udpBuffer is the kernel buffer size asked for the relay's UDP sockets
// (the kernel caps it at net.core.rmem_max / wmem_max).
const udpBuffer = 4 << 20

// ErrPeerRefused is the error of a datagram to a peer the relay must not
// reach (see AllowPrivatePeers).
var ErrPeerRefused = errors.New("turn: peer address refused")

// Server is the embedded STUN/TURN relay: pion/turn behind Huddle's
// credentials, peer filter, quotas and lifetime cap.
type Server struct {
	cfg    Config
	log    *slog.Logger
	secret []byte
	stats  counters
	ledger *ledger
	peers  peerFilter
	pion   *pionturn.Server

	udp []net.PacketConn // one port, a socket per core (see listenUDPShards)
	tcp *trackedListener
	tls *trackedListener

	closeOnce sync.Once
	closeErr  error
}

// Stats are the relay's counters since it started, for metrics.
type Stats struct {
	AllocationsActive int64  // relay sockets open now
	AllocationsTotal  uint64 // allocations created
	BytesToPeers      uint64 // payload bytes sent from relay sockets to peers
	BytesFromPeers    uint64 // payload bytes received from peers on relay sockets
	PacketsToPeers    uint64
	PacketsFromPeers  uint64
	RefusedPeers      uint64 // permissions and datagrams refused by the peer filter
	AuthFailures      uint64 // requests with expired, malformed, revoked or wrong credentials
	QuotaRefusals     uint64 // allocations refused by a per-user, per-IP or total limit
	RefusedRequests   uint64 // malformed requests, refused before pion reads them
	Revoked           uint64 // allocations ended by Revoke
}

// BytesRelayed is the payload relayed in both directions.
func (s Stats) BytesRelayed() uint64 { return s.BytesToPeers + s.BytesFromPeers }

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	return Stats{
		AllocationsActive: s.stats.relaySockets.Load(),
		AllocationsTotal:  s.stats.allocations.Load(),
		BytesToPeers:      s.stats.bytesToPeers.Load(),
		BytesFromPeers:    s.stats.bytesFromPeers.Load(),
		PacketsToPeers:    s.stats.packetsToPeers.Load(),
		PacketsFromPeers:  s.stats.packetsFromPeers.Load(),
		RefusedPeers:      s.stats.refusedPeers.Load(),
		AuthFailures:      s.stats.authFailures.Load(),
		QuotaRefusals:     s.stats.quotaRefusals.Load(),
		RefusedRequests:   s.stats.refusedRequests.Load(),
		Revoked:           s.stats.revoked.Load(),
	}
}

// NewServer starts the relay's listeners described by cfg.
func NewServer(cfg Config, log *slog.Logger) (*Server, error) {
	cfg = cfg.withDefaults()
	cfg.Enabled = true
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{cfg: cfg, log: log.With("component", "turn"), secret: cfg.secret(),
		ledger: newLedger(cfg.MaxAllocationsPerUser, cfg.MaxAllocationsPerIP, cfg.CredentialTTL),
		peers:  newPeerFilter(cfg)}
	if err := s.listen(); err != nil {
		s.closeListeners()
		return nil, err
	}
	if err := s.start(); err != nil {
		s.closeListeners()
		return nil, err
	}
	attrs := []any{"udp", s.UDPAddr().String(), "udp_sockets", len(s.udp), "tcp", s.tcp.Addr().String(),
		"relay_ip", advertisedIP(cfg).String(), "relay_ports", fmt.Sprintf("%d-%d", cfg.RelayMinPort, cfg.RelayMaxPort),
		"private_peers", cfg.AllowPrivatePeers, "random_secret", cfg.Secret == ""}
	if s.tls != nil {
		attrs = append(attrs, "tls", s.tls.Addr().String())
	}
	s.log.Info("relay listening", attrs...)
	return s, nil
}

// listen opens UDP and TCP on one port (TCP follows UDP when the port is
// 0) and TLS when configured.
func (s *Server) listen() error {
	host, port, _ := splitHostPort(s.cfg.Listen)
	tries := 1
	if port == 0 {
		tries = 20 // a free UDP port may be taken for TCP: pick another
	}
	shards := max(1, min(s.cfg.UDPSockets, runtime.GOMAXPROCS(0)))
	var err error
	for range tries {
		var udp []net.PacketConn
		udp, err = listenUDPShards(host, port, shards)
		if err != nil {
			return fmt.Errorf("turn: %w", err)
		}
		var tcp net.Listener
		tcp, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(udp[0].LocalAddr().(*net.UDPAddr).Port)))
		if err != nil {
			for _, c := range udp {
				c.Close()
			}
			continue
		}
		for _, c := range udp {
			if uc, ok := c.(*net.UDPConn); ok {
				// Bursts of media must wait in the socket, not be dropped.
				uc.SetReadBuffer(udpBuffer)
				uc.SetWriteBuffer(udpBuffer)
			}
			s.udp = append(s.udp, newCappedPacketConn(c, s))
		}
		s.tcp = newTrackedListener(tcp, s)
		break
	}
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	if !s.cfg.TLSEnabled() {
		return nil
	}
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return err
	}
	tl, err := net.Listen("tcp", s.cfg.TLSListen)
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	s.tls = newTrackedListener(tls.NewListener(tl, tlsCfg), s)
	return nil
}

func (s *Server) tlsConfig() (*tls.Config, error) {
	if s.cfg.TLSConfig != nil {
		return s.cfg.TLSConfig, nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLSCertFile, s.cfg.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("turn: TLS certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// start hands the listeners to pion with Huddle's policy hooks.
func (s *Server) start() error {
	relay := s.relayPorts
	conf := pionturn.ServerConfig{
		Realm:         s.cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.allowAllocation,
		LoggerFactory: pionLogs{s.log},
		EventHandler: pionturn.EventHandler{
			OnAuth: func(_, _ net.Addr, _, _, _, _ string, ok bool) {
				if !ok {
					s.stats.authFailures.Add(1)
				}
			},
			OnAllocationCreated: func(src, dst net.Addr, _, username, _ string, relayed net.Addr, _ int) {
				s.stats.allocations.Add(1)
				if revoked := s.ledger.created(src, dst, username, relayed); revoked != nil {
					s.stats.revoked.Add(1)
					revoked.Close() // pion then deletes the allocation
				}
			},
			OnAllocationDeleted: func(src, dst net.Addr, _, _, _ string) {
				s.ledger.deleted(src, dst)
			},
		},
		ListenerConfigs: []pionturn.ListenerConfig{{
			Listener: s.tcp, RelayAddressGenerator: relay(), PermissionHandler: s.permit,
		}},
	}
	for _, c := range s.udp {
		conf.PacketConnConfigs = append(conf.PacketConnConfigs, pionturn.PacketConnConfig{
			PacketConn: c, RelayAddressGenerator: relay(), PermissionHandler: s.permit,
		})
	}
	if s.tls != nil {
		conf.ListenerConfigs = append(conf.ListenerConfigs, pionturn.ListenerConfig{
			Listener: s.tls, RelayAddressGenerator: relay(), PermissionHandler: s.permit,
		})
	}
	srv, err := pionturn.NewServer(conf)
	if err != nil {
		return fmt.Errorf("turn: %w", err)
	}
	s.pion = srv
	return nil
}

// relayPorts is the relay address generator of one listener.
func (s *Server) relayPorts() *relayPorts {
	return &relayPorts{
		bindIP:     relayBindIP(s.cfg),
		advertised: advertisedIP(s.cfg),
		min:        s.cfg.RelayMinPort,
		max:        s.cfg.RelayMaxPort,
		limit:      int64(s.cfg.MaxAllocations),
		peerOK:     s.peers.datagram,
		stats:      &s.stats,
		ledger:     s.ledger,
	}
}

// authenticate is pion's AuthHandler: it recomputes the password of a
// REST-scheme username that has not expired and was not revoked.
//
// A credential is checked on every request, Refresh, CreatePermission
// and ChannelBind included, and a browser keeps the credentials its
// allocation was made with for as long as it lives. Credentials short
// enough to be worth little once leaked would then end every relayed
// call after their TTL. So, as coturn does, expiry bounds the creation
// of allocations, not their life: an expired credential is still good
// for requests from the client address that holds an allocation made
// with it. That allocation still ends when the client stops refreshing
// it (within MaxLifetime) or when its participant is revoked.
func (s *Server) authenticate(username, realm string, src net.Addr) ([]byte, bool) {
	key, err := s.credentialKey(username, realm, src)
	if err != nil {
		s.stats.authFailures.Add(1)
		s.log.Debug("credentials refused", "client", src.String(), "username", username, "reason", err.Error())
		return nil, false
	}
	return key, true
}

// Reasons credentials are refused, for the debug log.
var (
	errWrongRealm = errors.New("turn: wrong realm")
	errRevoked    = errors.New("turn: participant revoked")
)

func (s *Server) credentialKey(username, realm string, src net.Addr) ([]byte, error) {
	if realm != s.cfg.Realm {
		return nil, errWrongRealm
	}
	expires, user, err := ParseUsername(username)
	if err != nil {
		return nil, err
	}
	if s.ledger.revokedUser(user) {
		return nil, errRevoked
	}
	if !time.Now().Before(expires) && !s.ledger.holds(src, username) {
		return nil, ErrExpired
	}
	return s.longTermKey(username, realm), nil
}

// longTermKey is the RFC 5389 long-term key of username's password.
func (s *Server) longTermKey(username, realm string) []byte {
	return pionturn.GenerateAuthKey(username, realm, Password(s.secret, username))
}

// anyKey is the key screenRequest checks signatures with: that of any
// well-formed username of the realm, expired or not (authenticate decides
// whether the credential is still good).
func (s *Server) anyKey(username, realm string) ([]byte, bool) {
	if realm != s.cfg.Realm {
		return nil, false
	}
	if _, _, err := ParseUsername(username); err != nil {
		return nil, false
	}
	return s.longTermKey(username, realm), true
}

// refuseRequest counts a request refused before pion read it.
func (s *Server) refuseRequest(client net.Addr) {
	s.stats.refusedRequests.Add(1)
	s.log.Debug("malformed request refused", "client", client.String())
}

// allowAllocation is pion's QuotaHandler: the total, per-participant and
// per-client-IP limits.
func (s *Server) allowAllocation(username, _ string, src net.Addr) bool {
	if s.stats.relaySockets.Load() >= int64(s.cfg.MaxAllocations) {
		return s.refuseAllocation(src, username, "total")
	}
	switch s.ledger.reserve(quotaUser(username), src) {
	case overUser:
		return s.refuseAllocation(src, username, "per participant")
	case overIP:
		return s.refuseAllocation(src, username, "per IP")
	}
	return true
}

func (s *Server) refuseAllocation(src net.Addr, username, limit string) bool {
	s.stats.quotaRefusals.Add(1)
	s.log.Debug("allocation quota reached", "client", src.String(), "username", username, "limit", limit)
	return false
}

// Revoke ends the allocations of a participant that left and refuses the
// credentials minted for it so far (for their TTL, after which they have
// expired anyway). It returns how many allocations it ended. Call it when
// a participant leaves for good, not when its connection drops: a client
// that reconnects keeps its relay.
func (s *Server) Revoke(participantID string) int {
	relays := s.ledger.revoke(participantID)
	for _, r := range relays {
		r.Close() // pion's read loop of the socket ends and deletes the allocation
	}
	s.stats.revoked.Add(uint64(len(relays)))
	if len(relays) > 0 {
		s.log.Debug("relay allocations revoked", "participant", participantID, "allocations", len(relays))
	}
	return len(relays)
}

// permit is pion's PermissionHandler for CreatePermission and ChannelBind.
func (s *Server) permit(client net.Addr, peer net.IP) bool {
	if s.peers.permission(peer) {
		return true
	}
	s.stats.refusedPeers.Add(1)
	s.log.Debug("peer refused", "client", client.String(), "peer", peer.String())
	return false
}

// quotaUser is the participant part of a username: the quota follows the
// participant across re-minted credentials.
func quotaUser(username string) string {
	if _, user, err := ParseUsername(username); err == nil {
		return user
	}
	return username
}

// relayBindIP is where relay sockets listen: the relay's own listening IP
// when it is a specific IPv4 address (pion relays over IPv4), else the
// public IP when the host has it, else all addresses. A specific address
// matters on hosts with several: datagrams then leave from the address
// peers sent them to.
func relayBindIP(c Config) string {
	if host, _, err := splitHostPort(c.Listen); err == nil {
		if ip := net.ParseIP(host); ip != nil && ip.To4() != nil && !ip.IsUnspecified() {
			return ip.String()
		}
	}
	if ip := net.ParseIP(c.PublicIP); ip != nil && ip.To4() != nil && isLocalIP(ip) {
		return ip.String()
	}
	return "0.0.0.0"
}

func isLocalIP(ip net.IP) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// peerFilter decides which peers the relay may reach: permission checks
// the peer of a CreatePermission or ChannelBind, datagram every datagram
// relayed to or from a peer (beneath pion's permissions, so that nothing
// reaches a refused peer even if a permission slipped through).
type peerFilter struct {
	permission func(net.IP) bool
	datagram   func(*net.UDPAddr) bool
}

// newPeerFilter returns the relay's peer filter. Besides refusing
// non-public peers, datagrams keep off the relay host's own public
// addresses except on relay ports, where another allocation may listen:
// otherwise a client could reach the web server or the TURN port itself.
func newPeerFilter(c Config) peerFilter {
	if c.AllowPrivatePeers {
		return peerFilter{
			permission: func(net.IP) bool { return true },
			datagram:   func(*net.UDPAddr) bool { return true },
		}
	}
	self := map[string]bool{advertisedIP(c).String(): true}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				self[n.IP.String()] = true
			}
		}
	}
	return peerFilter{
		permission: PublicPeer,
		datagram: func(a *net.UDPAddr) bool {
			if !PublicPeer(a.IP) {
				return false
			}
			return !self[a.IP.String()] || (a.Port >= c.RelayMinPort && a.Port <= c.RelayMaxPort)
		},
	}
}

// UDPAddr, TCPAddr and TLSAddr are the listening addresses (TLSAddr nil
// without TLS).
func (s *Server) UDPAddr() net.Addr { return s.udp[0].LocalAddr() }
func (s *Server) TCPAddr() net.Addr { return s.tcp.Addr() }
func (s *Server) TLSAddr() net.Addr {
	if s.tls == nil {
		return nil
	}
	return s.tls.Addr()
}

// Close stops the relay and frees every allocation.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.pion != nil {
			s.closeErr = s.pion.Close()
		}
		s.closeListeners()
		// pion frees allocations once its read loops have seen the closed
		// sockets; wait a little so Close means "relay ports released".
		deadline := time.Now().Add(2 * time.Second)
		for s.stats.relaySockets.Load() > 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	})
	return s.closeErr
}

func (s *Server) closeListeners() {
	for _, c := range s.udp {
		c.Close()
	}
	for _, l := range []*trackedListener{s.tcp, s.tls} {
		if l != nil {
			l.Close()
		}
	}
}

// pionLogs routes pion's logs to slog. pion logs every request at debug
// and info; both become debug so a busy relay does not flood the log.
type pionLogs struct{ log *slog.Logger }

func (p pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLeveled{p.log.With("scope", scope)}
}

type pionLeveled struct{ log *slog.Logger }

func (p pionLeveled) logf(level slog.Level, format string, args ...any) {
	if !p.log.Enabled(context.Background(), level) {
		return // most calls are per-packet debug lines: skip the formatting
	}
	p.log.Log(context.Background(), level, fmt.Sprintf(format, args...))
}

func (p pionLeveled) Trace(msg string)                  { p.logf(slog.LevelDebug-4, "%s", msg) }
func (p pionLeveled) Tracef(format string, args ...any) { p.logf(slog.LevelDebug-4, format, args...) }
func (p pionLeveled) Debug(msg string)                  { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLeveled) Debugf(format string, args ...any) { p.logf(slog.LevelDebug, format, args...) }
func (p pionLeveled) Info(msg string)                   { p.logf(slog.LevelDebug, "%s", msg) }
func (p pionLeveled) Infof(format string, args ...any)  { p.logf(slog.LevelDebug, format, args...) }
func (p pionLeveled) Warn(msg string)                   { p.logf(slog.LevelWarn, "%s", msg) }
func (p pionLeveled) Warnf(format string, args ...any)  { p.logf(slog.LevelWarn, format, args...) }
func (p pionLeveled) Error(msg string)                  { p.logf(slog.LevelError, "%s", msg) }
func (p pionLeveled) Errorf(format string, args ...any) { p.logf(slog.LevelError, format, args...) }
