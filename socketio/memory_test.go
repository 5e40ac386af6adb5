package socketio

import (
	"bufio"
	"bytes"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// rawWSConnect opens a WebSocket to the server by hand (a few hundred bytes
// of client state, so the figure below is mostly the server's) and sends
// the Socket.IO CONNECT.
func rawWSConnect(b *testing.B, addr string) net.Conn {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.WriteString(conn, "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"+
		"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"Sec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReaderSize(conn, 512)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	// A masked text frame "40" (mask key zero keeps the payload as is).
	_, _ = conn.Write([]byte{0x81, 0x82, 0, 0, 0, 0, '4', '0'})
	// Open packet frame, then the CONNECT answer.
	for range 2 {
		var h [2]byte
		if _, err := io.ReadFull(br, h[:]); err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, br, int64(h[1]&0x7f)); err != nil {
			b.Fatal(err)
		}
	}
	return conn
}

// BenchmarkIdleWebSocketMemory prints the heap and stack bytes per idle,
// connected WebSocket socket (server and the tiny raw clients together).
func BenchmarkIdleWebSocketMemory(b *testing.B) {
	const n = 2000
	// One address opens them all: no per-address cap.
	srv := NewServer(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxSessionsPerIP: -1})
	srv.OnConnection(func(s *Socket) { s.On("x", func(*Socket, *Event) {}) })
	ts := httptest.NewServer(srv)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, 0, n)
		for range n {
			conns = append(conns, rawWSConnect(b, addr))
		}
		time.Sleep(200 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&after)
		used := (after.HeapInuse + after.StackInuse) - (before.HeapInuse + before.StackInuse)
		b.ReportMetric(float64(used)/n, "bytes/socket")
		b.ReportMetric(float64(after.StackInuse-before.StackInuse)/n, "stack-bytes/socket")
		if st := srv.Stats(); st.WebSocket != n {
			b.Fatalf("%d sockets connected, want %d", st.WebSocket, n)
		}
		for _, c := range conns {
			_ = c.Close()
		}
		for srv.engine.Len() > 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// BenchmarkRelayRoundTrip bounces an event between two raw WebSocket
// clients through the server, which relays each to the other socket as
// signaling does (one op: two relays). It prints the time and the
// allocations per round trip, server and the raw clients together.
func BenchmarkRelayRoundTrip(b *testing.B) {
	srv := NewServer(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var mu sync.Mutex
	var socks []*Socket
	srv.OnConnection(func(s *Socket) {
		mu.Lock()
		socks = append(socks, s)
		mu.Unlock()
	})
	srv.On("r", func(s *Socket, e *Event) {
		mu.Lock()
		other := socks[0]
		if other == s {
			other = socks[1]
		}
		mu.Unlock()
		arg := e.Args[0]
		if err := other.Send(FinishEvent(append(StartEvent("r", len(arg)), arg...))); err != nil {
			b.Error(err)
		}
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	addr := strings.TrimPrefix(ts.URL, "http://")
	a, c := rawWSConnect(b, addr), rawWSConnect(b, addr)
	defer a.Close()
	defer c.Close()
	payload := []byte(`42["r",{"to":"x","candidate":{"candidate":"candidate:1 1 udp 1 192.0.2.1 5000 typ host","sdpMid":"0"}}]`)
	frame := append([]byte{0x81, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...) // zero mask key
	buf := make([]byte, 256)
	readFrame := func(conn net.Conn) {
		if _, err := io.ReadFull(conn, buf[:2]); err != nil {
			b.Fatal(err)
		}
		n := int(buf[1] & 0x7f)
		if _, err := io.ReadFull(conn, buf[:n]); err != nil {
			b.Fatal(err)
		}
		// The relayed event is the one sent: "4" + "2[...]".
		if !bytes.Equal(buf[:n], payload) {
			b.Fatalf("relayed %q, want %q", buf[:n], payload)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Write(frame); err != nil {
			b.Fatal(err)
		}
		readFrame(c)
		if _, err := c.Write(frame); err != nil {
			b.Fatal(err)
		}
		readFrame(a)
	}
}
