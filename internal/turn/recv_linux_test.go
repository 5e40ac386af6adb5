//go:build linux

package turn

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestBatchReaderReadsWhole sends datagrams from two sockets, then reads
// them in batches: each arrives whole, once, in order per sender, with its
// sender's address and port (which would fail with the port's bytes
// swapped), and datagrams waiting together come out of one read.
func TestBatchReaderReadsWhole(t *testing.T) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b := newBatchReader(conn, 4, 2048)
	if b == nil {
		t.Fatal("no batch reader for an IPv4 UDP socket")
	}
	var senders [2]*net.UDPConn
	for i := range senders {
		if senders[i], err = net.DialUDP("udp4", nil, conn.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatal(err)
		}
		defer senders[i].Close()
	}
	const each = 5
	for k := range each {
		for i, s := range senders {
			if _, err := s.Write(bytes.Repeat([]byte{byte('a' + i)}, 100*k+1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(20 * time.Millisecond) // all queued, so the first read is a full batch
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	got := map[int]int{} // sender's port: datagrams so far
	first := true
	for total := 0; total < 2*each; {
		n, err := b.read()
		if err != nil {
			t.Fatal(err)
		}
		if first && n != 4 {
			t.Fatalf("first read took %d datagrams, want a batch of 4", n)
		}
		first = false
		for i := range n {
			p, from := b.datagram(i)
			s := -1
			for j, snd := range senders {
				if a := snd.LocalAddr().(*net.UDPAddr); a.Port == from.Port && a.IP.Equal(from.IP) {
					s = j
				}
			}
			if s < 0 {
				t.Fatalf("datagram from %v, which sent nothing", from)
			}
			want := bytes.Repeat([]byte{byte('a' + s)}, 100*got[from.Port]+1)
			if !bytes.Equal(p, want) {
				t.Fatalf("datagram %d from sender %d: %d bytes, want %d", got[from.Port], s, len(p), len(want))
			}
			got[from.Port]++
			total++
		}
	}
	if len(got) != 2 {
		t.Fatalf("datagrams from %d senders, want 2", len(got))
	}
}

// TestBatchReaderOnlyForIPv4 keeps IPv6 sockets on ReadFrom.
func TestBatchReaderOnlyForIPv4(t *testing.T) {
	conn, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer conn.Close()
	if newBatchReader(conn, 4, 2048) != nil {
		t.Fatal("a batch reader for an IPv6 socket")
	}
}
