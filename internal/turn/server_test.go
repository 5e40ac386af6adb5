package turn

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

const testSecret = "test-secret"

// startRelay runs the embedded relay on a free loopback port and returns
// it with a Config whose Listen is the real address (for ICE URLs).
func startRelay(t *testing.T, cfg Config) (*Server, Config) {
	t.Helper()
	cfg.Enabled = true
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.Secret == "" {
		cfg.Secret = testSecret
	}
	s, err := NewServer(cfg, nil)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	cfg.Listen = s.UDPAddr().String()
	return s, cfg
}

// turnClient is a pion/turn client over UDP or TCP with the given credentials.
func turnClient(t *testing.T, network, addr, username, password string) *pionturn.Client {
	t.Helper()
	var conn net.PacketConn
	switch network {
	case "udp":
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	case "tcp":
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn = pionturn.NewSTUNConn(c)
	}
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: username, Password: password, Realm: "huddle",
		RTO: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); conn.Close() })
	return cl
}

func mint(user string, ttl time.Duration) Credential {
	return MintCredential([]byte(testSecret), user, ttl, time.Now())
}

func TestRelayAnswersSTUNBinding(t *testing.T) {
	s, _ := startRelay(t, Config{})
	cl := turnClient(t, "udp", s.UDPAddr().String(), "", "")
	mapped, err := cl.SendBindingRequest()
	if err != nil {
		t.Fatalf("binding request: %v", err)
	}
	if !mapped.(*net.UDPAddr).IP.IsLoopback() {
		t.Fatalf("mapped address %v, want a loopback address", mapped)
	}
}

func TestAllocateNeedsValidCredentials(t *testing.T) {
	s, _ := startRelay(t, Config{})
	addr := s.UDPAddr().String()
	good := mint("alice", time.Hour)
	expired := MintCredential([]byte(testSecret), "alice", -time.Minute, time.Now())
	wrong := MintCredential([]byte("not-the-secret"), "alice", time.Hour, time.Now())
	cases := []struct {
		name, user, pass string
		ok               bool
	}{
		{"valid", good.Username, good.Password, true},
		{"expired", expired.Username, expired.Password, false},
		{"wrong secret", wrong.Username, wrong.Password, false},
		{"static username", "alice", Password([]byte(testSecret), "alice"), false},
		{"expiry changed", "9999999999:alice", good.Password, false},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, c := range cases {
			t.Run(network+"/"+c.name, func(t *testing.T) {
				cl := turnClient(t, network, addr, c.user, c.pass)
				relay, err := cl.Allocate()
				if c.ok && err != nil {
					t.Fatalf("Allocate refused valid credentials: %v", err)
				}
				if !c.ok {
					if err == nil {
						relay.Close()
						t.Fatal("Allocate accepted bad credentials")
					}
					return
				}
				relay.Close()
			})
		}
	}
	if s.Stats().AuthFailures == 0 {
		t.Error("no auth failure counted")
	}
}

func TestAllocationLimits(t *testing.T) {
	s, _ := startRelay(t, Config{MaxAllocationsPerUser: 2, MaxAllocations: 3})
	addr := s.UDPAddr().String()
	allocate := func(user string) error {
		c := mint(user, time.Hour)
		relay, err := turnClient(t, "udp", addr, c.Username, c.Password).Allocate()
		if err == nil {
			t.Cleanup(func() { relay.Close() })
		}
		return err
	}
	for i := range 2 {
		if err := allocate("alice"); err != nil {
			t.Fatalf("alice allocation %d: %v", i+1, err)
		}
	}
	if err := allocate("alice"); err == nil {
		t.Fatal("third allocation for alice accepted with a per-user limit of 2")
	}
	// Re-minted credentials are the same participant.
	if err := allocate("alice"); err == nil {
		t.Fatal("re-minted credentials escaped the per-user limit")
	}
	if err := allocate("bob"); err != nil {
		t.Fatalf("bob's first allocation: %v", err)
	}
	if err := allocate("carol"); err == nil {
		t.Fatal("fourth allocation accepted with a total limit of 3")
	}
	st := s.Stats()
	if st.AllocationsActive != 3 || st.AllocationsTotal != 3 || st.QuotaRefusals != 3 {
		t.Fatalf("stats %+v, want 3 active, 3 total, 3 refusals", st)
	}
}

func TestAllocationQuotaFreedOnRelease(t *testing.T) {
	s, _ := startRelay(t, Config{MaxAllocationsPerUser: 1})
	addr := s.UDPAddr().String()
	c := mint("dave", time.Hour)
	cl := turnClient(t, "udp", addr, c.Username, c.Password)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	relay.Close() // sends a Refresh with lifetime 0
	deadline := time.Now().Add(3 * time.Second)
	for s.Stats().AllocationsActive != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cl2 := turnClient(t, "udp", addr, c.Username, c.Password)
	r2, err := cl2.Allocate()
	if err != nil {
		t.Fatalf("allocation after release refused: %v", err)
	}
	r2.Close()
}

// relayEcho allocates through the relay and sends to peer; it reports
// whether the datagram arrived.
func relayTo(t *testing.T, s *Server, peer *net.UDPConn, to net.Addr) (sendErr error, delivered bool) {
	t.Helper()
	c := mint("erin", time.Hour)
	cl := turnClient(t, "udp", s.UDPAddr().String(), c.Username, c.Password)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	defer relay.Close()
	msg := []byte("hello through the relay")
	if _, err := relay.WriteTo(msg, to); err != nil {
		sendErr = err
	}
	peer.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
	buf := make([]byte, 1500)
	n, _, err := peer.ReadFrom(buf)
	return sendErr, err == nil && bytes.Equal(buf[:n], msg)
}

func TestRelayRefusesLoopbackPeerByDefault(t *testing.T) {
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()

	s, _ := startRelay(t, Config{})
	sendErr, delivered := relayTo(t, s, peer, peer.LocalAddr())
	if delivered {
		t.Fatal("the relay delivered a datagram to a loopback peer")
	}
	if sendErr == nil {
		t.Error("sending to a loopback peer reported no error (permission should be refused)")
	}
	if s.Stats().RefusedPeers == 0 {
		t.Error("refused peer not counted")
	}

	// The same relay with private peers allowed delivers: the refusal
	// above is the filter, not a broken relay.
	open, _ := startRelay(t, Config{AllowPrivatePeers: true})
	if sendErr, delivered := relayTo(t, open, peer, peer.LocalAddr()); !delivered {
		t.Fatalf("relay with private peers allowed did not deliver (send error %v)", sendErr)
	}
	// The count follows the send, which the peer may see first.
	deadline := time.Now().Add(2 * time.Second)
	st := open.Stats()
	for (st.BytesToPeers == 0 || st.PacketsToPeers == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		st = open.Stats()
	}
	if st.BytesToPeers == 0 || st.PacketsToPeers == 0 {
		t.Errorf("relayed bytes not counted: %+v", st)
	}
}

func TestPermissionFilter(t *testing.T) {
	s, _ := startRelay(t, Config{})
	c := mint("frank", time.Hour)
	cl := turnClient(t, "udp", s.UDPAddr().String(), c.Username, c.Password)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	for _, ip := range []string{"127.0.0.1", "10.77.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1"} {
		if err := cl.CreatePermission(&net.UDPAddr{IP: net.ParseIP(ip), Port: 9}); err == nil {
			t.Errorf("permission to %s granted", ip)
		}
	}
	if err := cl.CreatePermission(&net.UDPAddr{IP: net.ParseIP("198.51.100.1"), Port: 9}); err != nil {
		t.Errorf("permission to a public address refused: %v", err)
	}
}

func TestNewServerRefusesBadConfig(t *testing.T) {
	cases := map[string]Config{
		"port range":  {Listen: "127.0.0.1:0", RelayMinPort: 6000, RelayMaxPort: 5000},
		"listen":      {Listen: "nonsense"},
		"public IP":   {Listen: "127.0.0.1:0", PublicIP: "turn.example.com"},
		"tls no cert": {Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"},
		"tls no key":  {Listen: "127.0.0.1:0", TLSCertFile: "c.pem"},
		"external":    {Listen: "127.0.0.1:0", ExternalURLs: []string{"http://x"}},
	}
	for name, cfg := range cases {
		if s, err := NewServer(cfg, nil); err == nil {
			s.Close()
			t.Errorf("%s: NewServer accepted %+v", name, cfg)
		}
	}
	var tlsErr error
	_, tlsErr = NewServer(Config{Listen: "127.0.0.1:0", TLSListen: "127.0.0.1:0"}, nil)
	if !errors.Is(tlsErr, ErrTLSNoCert) {
		t.Errorf("TLS without certificate: %v, want ErrTLSNoCert", tlsErr)
	}
}

func TestCloseFreesPorts(t *testing.T) {
	s, cfg := startRelay(t, Config{})
	c := mint("gina", time.Hour)
	tcpClient := turnClient(t, "tcp", cfg.Listen, c.Username, c.Password)
	if _, err := tcpClient.Allocate(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := s.Stats().AllocationsActive; n != 0 {
		t.Fatalf("%d relay sockets open after Close", n)
	}
	// Both the UDP and the TCP port can be bound again.
	u, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		t.Fatalf("UDP port still taken: %v", err)
	}
	u.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatalf("TCP port still taken: %v", err)
	}
	l.Close()
}

func TestRelayWithSeveralUDPSockets(t *testing.T) {
	s, _ := startRelay(t, Config{AllowPrivatePeers: true, UDPSockets: 2})
	if n := len(s.udp); n < 1 || n > 2 {
		t.Fatalf("%d UDP sockets", n)
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	// Clients spread over the sockets by address hash; each must find its
	// allocation again on every packet.
	for i := range 6 {
		if sendErr, delivered := relayTo(t, s, peer, peer.LocalAddr()); !delivered {
			t.Fatalf("client %d: not delivered (send error %v)", i, sendErr)
		}
	}
}
