//go:build linux

package turn

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestSenderDelivers: the raw sender's datagrams arrive whole, from the
// relay socket's address, at the port and address asked for.
func TestSenderDelivers(t *testing.T) {
	relay, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	s := newSender(relay)
	if s == nil {
		t.Fatal("no raw sender for an IPv4 socket")
	}
	for range 3 {
		peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		msg := bytes.Repeat([]byte{byte(peer.LocalAddr().(*net.UDPAddr).Port)}, 1200)
		if n, err := s.sendTo(msg, peer.LocalAddr().(*net.UDPAddr)); n != len(msg) || err != nil {
			t.Fatalf("sendTo: %d, %v", n, err)
		}
		buf := make([]byte, 2000)
		_ = peer.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, from, err := peer.ReadFromUDP(buf)
		peer.Close()
		if err != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("peer got %d bytes (%v)", n, err)
		}
		if from.Port != relay.LocalAddr().(*net.UDPAddr).Port {
			t.Errorf("datagram from %v, want the relay socket %v", from, relay.LocalAddr())
		}
	}
}

func TestSenderOnlyForIPv4Sockets(t *testing.T) {
	c, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skip("no IPv6 here:", err)
	}
	defer c.Close()
	if newSender(c) != nil {
		t.Error("a raw IPv4 sender for an IPv6 socket")
	}
}
