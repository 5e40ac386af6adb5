package sfu_test

import (
	"errors"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/huddlehq/huddle/internal/turn"
	"github.com/pion/webrtc/v4"
)

// freePort returns a port that was free a moment ago for network ("udp"
// or "tcp") on loopback.
func freePort(t *testing.T, network string) int {
	t.Helper()
	switch network {
	case "udp":
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	default:
		l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}
}

// newMuxSFU is a test SFU with one UDP and one TCP port.
func newMuxSFU(t *testing.T, cfg sfu.Config) *sfu.SFU {
	t.Helper()
	cfg.UDPPort, cfg.TCPPort = freePort(t, "udp"), freePort(t, "tcp")
	s := newTestSFU(t, cfg)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// remotePorts returns the server's side of the selected candidate pair
// of each of the client's connections.
func remotePorts(t *testing.T, c *sfutest.Client) []*webrtc.ICECandidate {
	t.Helper()
	var out []*webrtc.ICECandidate
	for _, pc := range []*webrtc.PeerConnection{c.Pub, c.Sub} {
		for _, tr := range pc.GetTransceivers() {
			var dt *webrtc.DTLSTransport
			if s := tr.Sender(); s != nil {
				dt = s.Transport()
			}
			if dt == nil && tr.Receiver() != nil {
				dt = tr.Receiver().Transport()
			}
			if dt == nil {
				continue
			}
			pair, err := dt.ICETransport().GetSelectedCandidatePair()
			if err != nil || pair == nil {
				t.Fatalf("%s: no selected candidate pair: %v", c.Name, err)
			}
			out = append(out, pair.Remote)
			break // one transport per connection (bundle)
		}
	}
	return out
}

func TestMediaThroughOneUDPPort(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	addrs := s.UDPAddrs()
	if len(addrs) == 0 {
		t.Fatal("no UDP port bound")
	}
	port := addrs[0].(*net.UDPAddr).Port
	for _, a := range addrs {
		if p := a.(*net.UDPAddr).Port; p != port {
			t.Errorf("the SFU listens on UDP ports %d and %d, want one", port, p)
		}
	}
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	b.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 20 && b.Received("alice/mic") > 20 })
	sfutest.WaitFor(t, "alice receives bob", 10*time.Second, func() bool { return a.Received("bob/cam") > 20 && a.Received("bob/mic") > 20 })
	// All four connections (two clients, each way) reach the server on
	// that one port.
	for _, c := range []*sfutest.Client{a, b} {
		for _, r := range remotePorts(t, c) {
			if r.Protocol != webrtc.ICEProtocolUDP || int(r.Port) != port {
				t.Errorf("%s's connection uses the server's %s port %d, want UDP %d", c.Name, r.Protocol, r.Port, port)
			}
		}
	}
}

func TestMediaOverICETCP(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	tcpPort := s.TCPAddr().(*net.TCPAddr).Port
	room := s.Room("r1")
	// alice has UDP; bob's network lets only TCP through.
	a, _ := join(t, room, "alice")
	tcpOnly := func(se *webrtc.SettingEngine, _ *webrtc.Configuration) {
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	}
	b := sfutest.New(t, "bob", tcpOnly)
	bp, err := room.Join("bob", b)
	if err != nil {
		t.Fatal(err)
	}
	b.Attach(bp)
	t.Cleanup(bp.Close)
	a.Publish()
	b.Publish()
	sfutest.WaitFor(t, "bob receives alice over TCP", 15*time.Second, func() bool { return b.Received("alice/cam") > 20 && b.Received("alice/mic") > 20 })
	sfutest.WaitFor(t, "alice receives bob's media sent over TCP", 15*time.Second, func() bool { return a.Received("bob/cam") > 20 })
	for _, r := range remotePorts(t, b) {
		if r.Protocol != webrtc.ICEProtocolTCP || int(r.Port) != tcpPort {
			t.Errorf("bob's connection uses the server's %s port %d, want TCP %d", r.Protocol, r.Port, tcpPort)
		}
	}
}

func TestPortInUse(t *testing.T) {
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = sfu.New(sfu.Config{UDPPort: busy.LocalAddr().(*net.UDPAddr).Port, IncludeLoopback: true, Interfaces: []string{"lo"}})
	if !errors.Is(err, sfu.ErrListen) {
		t.Errorf("UDP port in use: %v, want ErrListen", err)
	}
	// Close releases the ports: a second SFU can bind them.
	port := freePort(t, "udp")
	cfg := sfu.Config{UDPPort: port, TCPPort: freePort(t, "tcp"), IncludeLoopback: true, Interfaces: []string{"lo"}}
	s, err := sfu.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	s, err = sfu.New(cfg)
	if err != nil {
		t.Fatalf("ports not released by Close: %v", err)
	}
	_ = s.Close()
}

// With --force-relay a client sends everything through the embedded TURN
// relay, which forwards it to the SFU's one port.
func TestMediaThroughTheRelay(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	port := s.UDPAddrs()[0].(*net.UDPAddr).Port
	cfg := turn.Config{
		Enabled: true, Listen: "127.0.0.1:0", PublicIP: "127.0.0.1", Secret: "relay-test-secret",
		AllowPrivatePeers: true, // the SFU is on loopback here
		ForceRelay:        true,
	}
	relay, err := turn.NewServer(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	cfg.Listen = relay.UDPAddr().String()
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	viaRelay := func(_ *webrtc.SettingEngine, conf *webrtc.Configuration) {
		servers, policy := turn.NewICE(cfg).For("bob", httptest.NewRequest("GET", "/", nil))
		for _, sv := range servers {
			conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{URLs: sv.URLs, Username: sv.Username, Credential: sv.Credential})
		}
		if policy == turn.PolicyRelay {
			conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
		}
	}
	b := sfutest.New(t, "bob", viaRelay)
	bp, err := room.Join("bob", b)
	if err != nil {
		t.Fatal(err)
	}
	b.Attach(bp)
	t.Cleanup(bp.Close)
	a.Publish()
	b.Publish()
	sfutest.WaitFor(t, "bob receives alice through the relay", 15*time.Second, func() bool { return b.Received("alice/cam") > 20 })
	sfutest.WaitFor(t, "alice receives bob's media sent through the relay", 15*time.Second, func() bool { return a.Received("bob/cam") > 20 })
	for _, pc := range []*webrtc.PeerConnection{b.Pub, b.Sub} {
		pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
		if err != nil || pair == nil {
			t.Fatalf("no selected pair: %v", err)
		}
		if pair.Local.Typ != webrtc.ICECandidateTypeRelay || int(pair.Remote.Port) != port {
			t.Errorf("bob's pair %s -> %s, want relay -> the SFU's port %d", pair.Local, pair.Remote, port)
		}
	}
}
