package sfu

import (
	"errors"
	"fmt"
	"github.com/pion/dtls/v3"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
)

// The SFU's sockets. With Config.UDPPort every peer connection's media
// goes through one UDP port (pion's UDP mux tells the connections apart
// by ICE username, then by the client's address), and with
// Config.TCPPort clients that cannot use UDP reach it over ICE-TCP on one
// TCP port: a firewall in front of the server opens two ports, not a
// range.

// ErrListen is returned by New when a media port cannot be bound.
var ErrListen = errors.New("sfu: cannot listen")

// sockets are the shared listeners of the muxes, closed by SFU.Close.
type sockets struct {
	udp     []*net.UDPConn
	udpMux  ice.UDPMux
	tcp     net.Listener
	tcpMux  ice.TCPMux
	closers []func() error
}

// listen binds the ports the configuration asks for and sets the muxes
// on se.
func listen(cfg Config, se *webrtc.SettingEngine, drops *dropCounter, batches *batchSet, lf logging.LoggerFactory) (*sockets, error) {
	s := &sockets{}
	gs := &guards{drops: drops, by: map[string]*ssrcGuard{}}
	if cfg.UDPPort != 0 {
		if err := s.listenUDP(cfg, drops, batches, lf); err != nil {
			s.close()
			return nil, err
		}
		se.SetICEUDPMux(&guardedUDPMux{UDPMux: s.udpMux, gs: gs})
	}
	if cfg.TCPPort != 0 {
		l, err := net.ListenTCP("tcp", &net.TCPAddr{Port: cfg.TCPPort})
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%w: ICE-TCP port %d: %v", ErrListen, cfg.TCPPort, err)
		}
		s.tcp = l
		tm := ice.NewTCPMuxDefault(ice.TCPMuxParams{
			Listener: &tcpLimiter{Listener: l, per: iplimit.NewCounter(maxTCPPerIP), drops: drops}, Logger: lf.NewLogger("ice-tcp"), ReadBufferSize: 32,
			// A TCP connection that has not said who it is within a
			// few seconds is a scan or junk: pion's default keeps it
			// 30 s.
			FirstStunBindTimeout: 5 * time.Second, AliveDurationForConnFromStun: 5 * time.Second,
		})
		s.tcpMux = tm
		s.closers = append(s.closers, tm.Close)
		se.SetICETCPMux(&guardedTCPMux{TCPMuxDefault: tm, gs: gs})
	}
	// UDP and, when there is a TCP port, TCP; pion gathers TCP
	// candidates only for the networks it is given.
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if s.tcpMux != nil {
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(types)
	return s, nil
}

// listenUDP binds the UDP port on every address of the interfaces the
// SFU gathers from, one socket each, as pion advises: a socket bound to
// the unspecified address answers from whatever address the kernel
// picks, which a client behind a strict NAT or on a multi-homed server
// does not accept.
// sharedSocketBuffer is the kernel buffer each way of a shared media
// socket (the kernel caps it at net.core.rmem_max / wmem_max unless the
// process may raise it).
const sharedSocketBuffer = 8 << 20

func (s *sockets) listenUDP(cfg Config, drops *dropCounter, batches *batchSet, lf logging.LoggerFactory) error {
	addrs, err := localAddrs(cfg)
	if err != nil {
		return fmt.Errorf("%w: UDP port %d: %v", ErrListen, cfg.UDPPort, err)
	}
	if len(addrs) == 0 {
		return fmt.Errorf("%w: UDP port %d: no usable interface address", ErrListen, cfg.UDPPort)
	}
	var muxes []ice.UDPMux
	for _, a := range addrs {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, uint16(cfg.UDPPort))))
		if err != nil {
			return fmt.Errorf("%w: UDP %s port %d: %v", ErrListen, a, cfg.UDPPort, err)
		}
		s.udp = append(s.udp, c)
		// Every client's media goes through this one socket, read by one
		// goroutine: the default receive buffer (about 200 KB) overflowed
		// in the fan-out benchmark on a loaded machine (1,306 datagrams
		// dropped in 8 s, 8-38 % loss; none with 8 MB, as Galène had none).
		_ = c.SetReadBuffer(sharedSocketBuffer)
		_ = c.SetWriteBuffer(sharedSocketBuffer)
		// A fan-out's datagrams leave in sendmmsg calls (batch.go).
		bc := newBatchConn(c)
		batches.add(bc)
		m := ice.NewUDPMuxDefault(ice.UDPMuxParams{
			Logger:  lf.NewLogger("ice-udp"),
			UDPConn: bc,
			// A packet of no known client: a stray, a scan, or garbage
			// sent at the port. pion drops it; it is counted.
			OnUnhandledPacket: func([]byte, netip.AddrPort) { drops.add(DropUnknownSource) },
		})
		s.closers = append(s.closers, m.Close)
		muxes = append(muxes, m)
	}
	s.udpMux = ice.NewMultiUDPMuxDefault(muxes...)
	return nil
}

// localAddrs lists the addresses media is gathered on: those of the
// interfaces Config.Interfaces allows that are up, loopback only with
// Config.IncludeLoopback, and no IPv6 link-local one (it needs a zone no
// browser candidate carries). A NAT1To1IPs address that is this host's
// own (no NAT in between, or loopback in a test) is bound too: clients
// send to it.
func localAddrs(cfg Config) ([]netip.Addr, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	add := func(ip netip.Addr) {
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	own := map[netip.Addr]bool{}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 {
			continue
		}
		if cfg.Interfaces != nil && !slices.Contains(cfg.Interfaces, ifc.Name) {
			continue
		}
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range as {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			own[ip] = true
			if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
				continue
			}
			if ip.IsLoopback() && !cfg.IncludeLoopback {
				continue
			}
			add(ip)
		}
	}
	for _, s := range cfg.NAT1To1IPs {
		if ip, err := netip.ParseAddr(s); err == nil && own[ip.Unmap()] {
			add(ip.Unmap())
		}
	}
	return out, nil
}

// UDPAddrs returns the addresses of the shared UDP port, nil without one.
func (s *SFU) UDPAddrs() []net.Addr {
	if s.socks.udpMux == nil {
		return nil
	}
	out := make([]net.Addr, 0, len(s.socks.udp))
	for _, c := range s.socks.udp {
		out = append(out, c.LocalAddr())
	}
	return out
}

// TCPAddr returns the address of the ICE-TCP port, nil without one.
func (s *SFU) TCPAddr() net.Addr {
	if s.socks.tcp == nil {
		return nil
	}
	return s.socks.tcp.Addr()
}

func (s *sockets) close() {
	for _, c := range s.closers {
		_ = c()
	}
	// The muxes close their sockets; closing again is harmless and
	// covers a socket whose mux was not made.
	for _, c := range s.udp {
		_ = c.Close()
	}
	if s.tcp != nil {
		_ = s.tcp.Close()
	}
}

// settings returns pion's settings for the configuration, with the
// shared media ports bound when it asks for them.
func settings(cfg Config, drops *dropCounter, batches *batchSet) (webrtc.SettingEngine, *sockets, error) {
	var se webrtc.SettingEngine
	lf := &pionLogs{log: cfg.Logger, drops: drops}
	se.LoggerFactory = lf
	if len(cfg.NAT1To1IPs) > 0 {
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.NAT1To1IPs, AsCandidateType: webrtc.ICECandidateTypeHost,
		}); err != nil {
			return se, nil, err
		}
	}
	if cfg.UDPPort == 0 && (cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0) {
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return se, nil, err
		}
	}
	if cfg.Interfaces != nil {
		se.SetInterfaceFilter(func(name string) bool { return slices.Contains(cfg.Interfaces, name) })
	}
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	// The DTLS server chooses the SRTP profile. Chrome, when it is the
	// server, chooses AES-CM with HMAC-SHA1 over the AES-GCM that pion
	// offers; as the server of every connection (the subscribing ones
	// are, answered "active") the SFU chooses AES-GCM: one pass instead
	// of a cipher and a MAC. 128-bit first: 3-4 % less CPU per forwarded
	// packet than 256 in BenchmarkForward.
	if err := se.SetAnsweringDTLSRole(webrtc.DTLSRoleServer); err != nil {
		return se, nil, err
	}
	// A subscribing connection is the SFU's offer, so the SFU is its
	// controlling ICE agent and nominates. A browser's connectivity
	// checks usually reach the SFU before its trickled candidates do, so
	// the pair that works is peer-reflexive, which pion waits a second to
	// nominate in case a better one turns up. The SFU has nothing better
	// to wait for: the connection came up 200-300 ms later than it needed
	// to (timelines of third joiners).
	se.SetPrflxAcceptanceMinWait(0)
	se.SetSRTPProtectionProfiles(dtls.SRTP_AEAD_AES_128_GCM, dtls.SRTP_AEAD_AES_256_GCM, dtls.SRTP_AES128_CM_HMAC_SHA1_80)
	socks, err := listen(cfg, &se, drops, batches, lf)
	return se, socks, err
}
