package turn

import (
	"net"
	"net/netip"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"
)

// allocateAs makes an allocation for user from a new loopback client, or
// returns the refusal.
func allocateAs(t *testing.T, s *Server, network, user string) (*pionturn.Client, net.PacketConn, error) {
	t.Helper()
	c := mint(user, time.Hour)
	cl := turnClient(t, network, s.UDPAddr().String(), c.Username, c.Password)
	relay, err := cl.Allocate()
	if err == nil {
		t.Cleanup(func() { relay.Close() })
	}
	return cl, relay, err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The per-participant quota is keyed on an id anyone can put in a
// username; one IP claiming three ids filled a relay capped at 30. The
// per-IP cap stops it whatever ids it claims.
func TestAllocationsPerIPCap(t *testing.T) {
	s, _ := startRelay(t, Config{MaxAllocations: 30, MaxAllocationsPerIP: 10})
	granted := 0
	var first net.PacketConn
	for _, user := range []string{"id-1", "id-2", "id-3"} {
		for range 10 {
			_, relay, err := allocateAs(t, s, "udp", user)
			if err == nil {
				granted++
				if first == nil {
					first = relay
				}
			}
		}
	}
	if granted != 10 {
		t.Fatalf("one IP got %d allocations, want the per-IP cap of 10", granted)
	}
	if st := s.Stats(); st.QuotaRefusals != 20 || st.AllocationsActive != 10 {
		t.Fatalf("stats %+v, want 20 refusals and 10 active", st)
	}
	// A released allocation gives its slot back.
	first.Close()
	waitFor(t, "the release", func() bool { return s.Stats().AllocationsActive == 9 })
	if _, _, err := allocateAs(t, s, "tcp", "id-4"); err != nil {
		t.Fatalf("allocation after a release: %v", err)
	}
}

func TestDefaultPerIPCapKeepsOneIPFromFillingTheRelay(t *testing.T) {
	s, _ := startRelay(t, Config{MaxAllocations: 30})
	for _, user := range []string{"id-1", "id-2", "id-3"} {
		for range 10 {
			allocateAs(t, s, "udp", user)
		}
	}
	if n := s.Stats().AllocationsActive; n >= 30 {
		t.Fatalf("one IP holds %d of the relay's 30 allocations", n)
	}
}

func TestLedgerGivesBackReservationsThatNeverCame(t *testing.T) {
	l := newLedger(5, 1, time.Minute)
	now := time.Unix(1000, 0)
	l.now = func() time.Time { return now }
	client := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	other := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4001}
	if l.reserve("a", client) != reserved {
		t.Fatal("first reservation refused")
	}
	if l.reserve("b", other) != overIP {
		t.Fatal("second reservation from the IP not refused at a cap of 1")
	}
	now = now.Add(pendingTTL + time.Second) // the allocation failed: no creation reported
	if l.reserve("b", other) != reserved {
		t.Fatal("the reservation that never came still holds the IP's slot")
	}
	if n := l.ips.Count(netip.MustParseAddr("127.0.0.1")); n != 1 {
		t.Fatalf("IP holds %d slots, want 1", n)
	}
}

// A participant that left loses its allocations and its credentials.
func TestRevokeEndsAllocationsAndCredentials(t *testing.T) {
	s, _ := startRelay(t, Config{AllowPrivatePeers: true})
	gone := mint("leaver", time.Hour)
	for _, network := range []string{"udp", "tcp"} {
		cl := turnClient(t, network, s.UDPAddr().String(), gone.Username, gone.Password)
		relay, err := cl.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { relay.Close() })
	}
	if _, _, err := allocateAs(t, s, "udp", "stayer"); err != nil {
		t.Fatal(err)
	}

	if n := s.Revoke("leaver"); n != 2 {
		t.Fatalf("Revoke ended %d allocations, want 2", n)
	}
	waitFor(t, "the allocations to end", func() bool { return s.Stats().AllocationsActive == 1 })
	if s.Stats().Revoked != 2 {
		t.Fatalf("stats %+v, want 2 revoked", s.Stats())
	}
	// The same credentials no longer allocate.
	for _, network := range []string{"udp", "tcp"} {
		cl := turnClient(t, network, s.UDPAddr().String(), gone.Username, gone.Password)
		if relay, err := cl.Allocate(); err == nil {
			relay.Close()
			t.Fatalf("%s: revoked credentials allocated", network)
		}
	}
	// Others are untouched; revoking nobody ends nothing.
	if _, _, err := allocateAs(t, s, "udp", "stayer"); err != nil {
		t.Fatalf("another participant refused after a revocation: %v", err)
	}
	if n := s.Revoke("nobody"); n != 0 {
		t.Fatalf("Revoke of an unknown participant ended %d", n)
	}
}

// Short credentials must not cut calls: a browser keeps refreshing its
// allocation (and permissions, channels) with the credentials it was
// made with. Expiry stops new allocations, not the client that made one.
func TestExpiredCredentialsKeepTheirAllocation(t *testing.T) {
	s, _ := startRelay(t, Config{AllowPrivatePeers: true})
	c := mint("long-call", 2*time.Second)
	cl := turnClient(t, "udp", s.UDPAddr().String(), c.Username, c.Password)
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	time.Sleep(time.Until(c.Expires) + 100*time.Millisecond)

	if err := cl.CreatePermission(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}); err != nil {
		t.Fatalf("the allocation's own client was refused once its credentials expired: %v", err)
	}
	other := turnClient(t, "udp", s.UDPAddr().String(), c.Username, c.Password)
	if r, err := other.Allocate(); err == nil {
		r.Close()
		t.Fatal("expired credentials made a new allocation")
	}
}

// The per-datagram peer filter sits beneath pion's permissions: datagrams
// from refused peers never reach pion, and the allocation's socket never
// sends to them, even if a permission slipped through. Making the filter
// allow everything once left every test green.
func TestPeerFilterOnEveryDatagram(t *testing.T) {
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	s, _ := startRelay(t, Config{})
	_, relay, err := allocateAs(t, s, "udp", "filtered")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("from a loopback peer", func(t *testing.T) {
		before := s.Stats().RefusedPeers
		for range 3 {
			if _, err := peer.WriteTo([]byte("in"), relay.LocalAddr()); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the filter to refuse 3 datagrams", func() bool { return s.Stats().RefusedPeers >= before+3 })
		relay.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, from, err := relay.ReadFrom(make([]byte, 100)); err == nil {
			t.Fatalf("datagram from %v reached the client", from)
		}
		if st := s.Stats(); st.PacketsFromPeers != 0 {
			t.Fatalf("refused datagrams counted as relayed: %+v", st)
		}
	})

	t.Run("to a loopback peer", func(t *testing.T) {
		// The allocation's own relay socket, as pion uses it once a
		// permission is granted.
		s.ledger.mu.Lock()
		sock := s.ledger.relays[relay.LocalAddr().String()]
		s.ledger.mu.Unlock()
		if sock == nil {
			t.Fatalf("no relay socket for %v", relay.LocalAddr())
		}
		before := s.Stats().RefusedPeers
		if _, err := sock.WriteTo([]byte("out"), peer.LocalAddr()); err == nil {
			t.Fatal("relay socket sent to a loopback peer")
		}
		peer.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := peer.ReadFrom(make([]byte, 100)); err == nil {
			t.Fatalf("loopback peer received %d bytes", n)
		}
		if s.Stats().RefusedPeers != before+1 {
			t.Fatalf("refusal not counted: %+v", s.Stats())
		}
	})

	t.Run("permission for a loopback peer", func(t *testing.T) {
		drain(peer)
		c := mint("filtered-2", time.Hour)
		cl := turnClient(t, "udp", s.UDPAddr().String(), c.Username, c.Password)
		r, err := cl.Allocate()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		before := s.Stats().RefusedPeers
		if err := cl.CreatePermission(peer.LocalAddr()); err == nil {
			t.Fatal("permission to a loopback peer granted")
		}
		if _, err := r.WriteTo([]byte("out"), peer.LocalAddr()); err == nil {
			t.Fatal("send to a loopback peer reported no error")
		}
		peer.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, _, err := peer.ReadFrom(make([]byte, 100)); err == nil {
			t.Fatalf("loopback peer received %d bytes", n)
		}
		if s.Stats().RefusedPeers <= before {
			t.Fatal("refused permission not counted")
		}
	})
}

// drain reads what waits on c.
func drain(c *net.UDPConn) {
	buf := make([]byte, 1500)
	for {
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, _, err := c.ReadFrom(buf); err != nil {
			return
		}
	}
}
