package sfu

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

// During a fan-out, datagrams to several receivers are held and sent
// together at its end, in order, in batches of at most maxBatch; outside
// one they go at once.
func TestBatchConnSendsAtTheEndOfAFanOut(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(c)
	defer b.Close()
	var rcv []*net.UDPConn
	for range 3 {
		r, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		rcv = append(rcv, r)
	}
	read := func(r *net.UDPConn, wait time.Duration) ([]byte, bool) {
		buf := make([]byte, 1500)
		_ = r.SetReadDeadline(time.Now().Add(wait))
		n, err := r.Read(buf)
		return buf[:n], err == nil
	}

	if _, err := b.WriteTo([]byte("now"), rcv[0].LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if got, ok := read(rcv[0], time.Second); !ok || string(got) != "now" {
		t.Fatalf("outside a fan-out: got %q, %v", got, ok)
	}

	b.begin()
	for j, r := range rcv {
		if _, err := b.WriteTo([]byte(fmt.Sprint("held-", j)), r.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := read(rcv[0], 50*time.Millisecond); ok {
		t.Fatal("a datagram left before the fan-out ended")
	}
	b.end()
	for j, r := range rcv {
		if got, ok := read(r, time.Second); !ok || string(got) != fmt.Sprint("held-", j) {
			t.Fatalf("receiver %d after the fan-out: got %q, %v", j, got, ok)
		}
	}

	const per = 50 // 150 datagrams: batches of 64, 64 and 22
	flushes, sent := b.flushes, b.sent
	b.begin()
	for i := range per {
		for j, r := range rcv {
			if _, err := b.WriteToAddrPort([]byte(fmt.Sprintf("%d-%d", j, i)), r.LocalAddr().(*net.UDPAddr).AddrPort()); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.end()
	for j, r := range rcv {
		for i := range per {
			got, ok := read(r, time.Second)
			if want := []byte(fmt.Sprintf("%d-%d", j, i)); !ok || !bytes.Equal(got, want) {
				t.Fatalf("receiver %d, datagram %d: got %q (%v), want %q", j, i, got, ok, want)
			}
		}
	}
	if n, f := b.sent-sent, b.flushes-flushes; n != 3*per || f != 3 {
		t.Errorf("%d datagrams in %d sendmmsg calls, want %d in 3", n, f, 3*per)
	}
}

// Queueing a datagram allocates nothing.
func TestBatchConnDoesNotAllocate(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(c)
	defer b.Close()
	to := c.LocalAddr().(*net.UDPAddr).AddrPort()
	p := make([]byte, 1200)
	b.begin()
	allocs := testing.AllocsPerRun(maxBatch-2, func() { _, _ = b.WriteToAddrPort(p, to) })
	b.end()
	if allocs != 0 {
		t.Errorf("%.1f allocations per queued datagram", allocs)
	}
}

// The shared socket reads a datagram with its sender, and sends to IPv6
// receivers from an IPv6 socket, at once and in a fan-out.
func TestBatchConnReadsAndSendsBothFamilies(t *testing.T) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	b := newBatchConn(c)
	defer b.Close()
	if runtime.GOOS == "linux" && b.raw == nil {
		t.Fatal("no raw system calls on Linux")
	}
	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := peer.WriteTo([]byte("hello"), c.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	_ = b.SetReadDeadline(time.Now().Add(time.Second))
	n, from, err := b.ReadFromAddrPort(buf)
	if err != nil || string(buf[:n]) != "hello" || from != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("read %q from %v (%v), want hello from %v", buf[:n], from, err, peer.LocalAddr())
	}
	_ = b.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, _, err := b.ReadFromAddrPort(buf); err == nil {
		t.Fatal("a read with nothing to read and a deadline passed returned no error")
	}

	c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	b6 := newBatchConn(c6)
	defer b6.Close()
	r6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer r6.Close()
	to := r6.LocalAddr().(*net.UDPAddr).AddrPort()
	if _, err := b6.WriteToAddrPort([]byte("at once"), to); err != nil {
		t.Fatal(err)
	}
	b6.begin()
	if _, err := b6.WriteToAddrPort([]byte("batched"), to); err != nil {
		t.Fatal(err)
	}
	b6.end()
	for _, want := range []string{"at once", "batched"} {
		_ = r6.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := r6.ReadFromUDPAddrPort(buf)
		if err != nil || string(buf[:n]) != want || from.Port() != c6.LocalAddr().(*net.UDPAddr).AddrPort().Port() {
			t.Fatalf("IPv6: got %q from %v (%v), want %q", buf[:n], from, err, want)
		}
	}
	// An IPv6 destination on the IPv4 socket fails as net's would, in
	// a fan-out too.
	b.begin()
	_, err = b.WriteToAddrPort([]byte("x"), to)
	b.end()
	if err == nil {
		t.Error("an IPv6 destination on an IPv4 socket was accepted")
	}
}
