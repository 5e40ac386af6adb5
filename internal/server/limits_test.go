package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// These tests attack a started server with real TCP clients, plain and
// over TLS, the way the reproduction did.

// dialer connects raw clients to a started server, over TLS when it serves
// HTTPS, from a chosen loopback address.
type dialer struct {
	addr string
	tls  bool
}

func dialerFor(r *realServer) dialer {
	return dialer{addr: r.Addr().String(), tls: r.TLSConfig() != nil}
}

func (d dialer) dialFrom(t *testing.T, local string) net.Conn {
	t.Helper()
	nd := &net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	var c net.Conn
	var err error
	if d.tls {
		c, err = tls.DialWithDialer(nd, "tcp", d.addr, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
	} else {
		c, err = nd.Dial("tcp", d.addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (d dialer) dial(t *testing.T) net.Conn { return d.dialFrom(t, "") }

// dialSlowReader connects with a small receive buffer that does not grow,
// as a client that never reads would leave it: the server's writes block
// once a few kilobytes are on their way.
func (d dialer) dialSlowReader(t *testing.T) net.Conn {
	t.Helper()
	raw, err := net.DialTimeout("tcp", d.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if err := raw.(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if !d.tls {
		return raw
	}
	return tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
}

// httpClient is a client of the server from the loopback address local.
func (d dialer) httpClient(local string) *http.Client {
	nd := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	tr := &http.Transport{DialContext: nd.DialContext, DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

func (d dialer) url() string {
	if d.tls {
		return "https://" + d.addr
	}
	return "http://" + d.addr
}

// closedWithin reads c until the server closes it (EOF or reset) and
// fails the test if that does not happen within limit. It returns what
// was read.
// closedWhileTrickling reads 1 KiB every 200 ms (5 KiB/s) until the
// server closes the connection, and fails the test after limit.
func closedWhileTrickling(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	began := time.Now()
	var got strings.Builder
	buf := make([]byte, 1024)
	for time.Since(began) < limit {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Read(buf)
		got.Write(buf[:n])
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			t.Logf("closed after %v: %v", time.Since(began).Round(time.Millisecond), err)
			return got.String()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("connection still open after %v (read %d bytes)", limit, got.Len())
	return ""
}

func closedWithin(t *testing.T, c net.Conn, limit time.Duration) string {
	t.Helper()
	began := time.Now()
	_ = c.SetReadDeadline(began.Add(limit))
	var got strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		got.Write(buf[:n])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v (read %d bytes)", limit, got.Len())
		}
		t.Logf("closed after %v: %v", time.Since(began).Round(time.Millisecond), err)
		return got.String()
	}
}

// pollingSession opens an Engine.IO polling session and returns its id.
func pollingSession(t *testing.T, d dialer) string {
	t.Helper()
	res, err := d.httpClient("127.0.0.1").Get(d.url() + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	_, rest, ok := strings.Cut(string(b), `"sid":"`)
	sid, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("no sid in the handshake %q", b)
	}
	return sid
}

func bothSchemes(t *testing.T, run func(t *testing.T, tlsArgs ...string)) {
	t.Run("http", func(t *testing.T) { t.Parallel(); run(t) })
	t.Run("https", func(t *testing.T) { t.Parallel(); run(t, "--tls-self-signed") })
}

// A client that sends a request head with a Content-Length and never the
// body held its connection and goroutine for ever; now the body has
// --request-timeout to arrive.
func TestStalledBodyIsCutOff(t *testing.T) {
	bothSchemes(t, func(t *testing.T, tlsArgs ...string) {
		r := startReal(t, testConfig(t, append(tlsArgs, "--request-timeout", "1s")...))
		d := dialerFor(r)
		sid := pollingSession(t, d)
		for _, target := range []string{
			"/socket.io/?EIO=4&transport=polling&sid=" + sid, // the engine reads the body
			"/healthz", // nobody reads it: net/http discards it after the response
		} {
			c := d.dial(t)
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: 100\r\n\r\n4", target)
			closedWithin(t, c, 4*time.Second)
		}
	})
}

// A client that pipelines requests and never reads the answers held its
// connection for ever once the socket buffers were full; now each response
// has --request-timeout to be written.
func TestNonReadingClientIsCutOff(t *testing.T) {
	bothSchemes(t, func(t *testing.T, tlsArgs ...string) {
		r := startReal(t, testConfig(t, append(tlsArgs, "--request-timeout", "1s")...))
		d := dialerFor(r)
		c := d.dialSlowReader(t)
		// Enough answers to fill both sockets' buffers many times over.
		const requests = 1000
		req := "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
		go func() {
			_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			_, _ = io.WriteString(c, strings.Repeat(req, requests))
		}()
		// The server writes until the buffers are full, then waits; give
		// it the time to hit the write deadline before reading anything,
		// then read as a stalled client does: a trickle (on a loaded
		// machine the server may not have filled the buffers yet, and a
		// fast read would let it go on).
		time.Sleep(3 * time.Second)
		got := closedWhileTrickling(t, c, 10*time.Second)
		if n := strings.Count(got, "HTTP/1.1 200 OK"); n >= requests {
			t.Fatalf("all %d answers arrived: the server waited for the reader", n)
		}
	})
}

// One address that holds --max-tcp-per-ip connections has its next ones
// closed at accept, while every other address is served: /healthz answers.
func TestTCPConnectionsPerIP(t *testing.T) {
	bothSchemes(t, func(t *testing.T, tlsArgs ...string) {
		r := startReal(t, testConfig(t, append(tlsArgs, "--max-tcp-per-ip", "3")...))
		d := dialerFor(r)
		var held []net.Conn
		for range 3 {
			held = append(held, d.dialFrom(t, "127.0.0.1")) // silent: they hold a slot each
		}
		eventually(t, "three slots held", func() bool { return r.tcp.per.Count(netipLoopback) == 3 })

		// The fourth is closed at once; in TLS, the handshake fails.
		nd := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.1")}}
		c, err := nd.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Fatalf("a fourth connection from the same address was kept: %v", err)
		}

		// Another address is served.
		res, err := d.httpClient("127.0.0.2").Get(d.url() + "/healthz")
		if err != nil {
			t.Fatalf("/healthz from another address: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("/healthz from another address: %d", res.StatusCode)
		}
		eventually(t, "refusal counted", func() bool {
			return strings.Contains(scrapeMetrics(t, r.Handler()), "\nhuddle_tcp_refused_total 1\n")
		})

		// A slot given back is taken again.
		held[0].Close()
		eventually(t, "slot given back", func() bool { return r.tcp.per.Count(netipLoopback) == 2 })
		res, err = d.httpClient("127.0.0.1").Get(d.url() + "/healthz")
		if err != nil {
			t.Fatalf("after a close: %v", err)
		}
		res.Body.Close()
	})
}

// Every way a connection ends gives its slot back: a served request, a
// refused handshake, a WebSocket taken over by the engine, a polling
// session, a connection closed by the client.
func TestTCPSlotsAreGivenBack(t *testing.T) {
	bothSchemes(t, func(t *testing.T, tlsArgs ...string) {
		r := startReal(t, testConfig(t, append(tlsArgs, "--max-tcp-per-ip", "4")...))
		d := dialerFor(r)
		client := d.httpClient("127.0.0.1")
		for _, path := range []string{"/healthz", "/socket.io/?EIO=4&transport=websocket", "/socket.io/?EIO=3&transport=polling"} {
			res, err := client.Get(d.url() + path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
		}
		// A handshake the engine refuses (on the fast path in plain HTTP).
		c := d.dial(t)
		io.WriteString(c, wsHandshake("https://evil.example"))
		if res, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil || res.StatusCode == http.StatusSwitchingProtocols {
			t.Fatalf("foreign handshake: %v %v", res, err)
		}
		c.Close()

		// A WebSocket gives its slot back at the hijack: from then on it is
		// a session, counted as one.
		ws, _ := openWebSocket(t, d)
		eventually(t, "the WebSocket's slot given back", func() bool { return r.tcp.per.Count(netipLoopback) == 0 })
		ws.Close()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sc, err := sioclient.Dial(ctx, d.url(), sioclient.Options{Transport: sioclient.Polling, HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		sc.Close()
		eventually(t, "every slot given back", func() bool { return r.tcp.per.Count(netipLoopback) == 0 })
	})
}

// wsHandshake is a WebSocket handshake of Engine.IO from a page of origin.
func wsHandshake(origin string) string {
	return "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: " + origin + "\r\n\r\n"
}

// openWebSocket opens an Engine.IO WebSocket session by hand (the light
// client cannot trust a self-signed certificate) and reads its open packet.
func openWebSocket(t *testing.T, d dialer) (net.Conn, *bufio.Reader) {
	t.Helper()
	c := d.dial(t)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, wsHandshake(d.url()))
	br := bufio.NewReader(c)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", res, err)
	}
	if msg := readWSText(t, br); !strings.HasPrefix(msg, "0{") {
		t.Fatalf("first message %q, want the open packet", msg)
	}
	return c, br
}

// readWSText reads one unfragmented, unmasked server frame's payload.
func readWSText(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(ext[0])<<8 | int(ext[1])
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(br, b); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeWSText sends a short masked text frame, as clients must.
func writeWSText(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	if len(msg) > 125 {
		t.Fatal("frame too long for this helper")
	}
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(msg)), mask[0], mask[1], mask[2], mask[3]}
	for i := range len(msg) {
		frame = append(frame, msg[i]^mask[i%4])
	}
	if _, err := c.Write(frame); err != nil {
		t.Fatal(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// A WebSocket that outlives the request timeout is not cut off: the
// deadlines of its handshake end at the hijack.
func TestWebSocketOutlivesRequestTimeout(t *testing.T) {
	bothSchemes(t, func(t *testing.T, tlsArgs ...string) {
		r := startReal(t, testConfig(t, append(tlsArgs, "--request-timeout", "500ms", "--ping-interval", "10s")...))
		c, br := openWebSocket(t, dialerFor(r))
		time.Sleep(2 * time.Second)
		writeWSText(t, c, "40") // Socket.IO CONNECT
		if msg := readWSText(t, br); !strings.HasPrefix(msg, "40{") {
			t.Fatalf("CONNECT answered with %q", msg)
		}
	})
}

// A long-polling GET waits up to the ping interval, longer than the
// request timeout, and is not cut off.
func TestLongPollOutlivesRequestTimeout(t *testing.T) {
	r := startReal(t, testConfig(t, "--request-timeout", "500ms", "--ping-interval", "2s", "--ping-timeout", "2s"))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	gone := make(chan error, 1)
	sc, err := sioclient.Dial(ctx, r.url(), sioclient.Options{Transport: sioclient.Polling,
		OnDisconnect: func(_ *sioclient.Client, err error) { gone <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	select {
	case err := <-gone:
		t.Fatalf("polling session ended: %v", err)
	case <-time.After(5 * time.Second): // two long polls through pings
	}
	if _, err := sc.EmitWithAck(ctx, "join-room", "poll-room"); err != nil {
		t.Fatal(err)
	}
}

// A connection reported gone twice (closed, then by the HTTP server too)
// gives back its own slot only, never another's.
func TestTCPLimiterReleaseIsIdempotent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newTCPLimiter(ln, 2, nil)
	defer l.Close()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 2 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	a, b := <-accepted, <-accepted
	defer b.Close()
	if n := l.per.Count(netipLoopback); n != 2 {
		t.Fatalf("count %d, want 2", n)
	}
	a.Close()
	l.release(a)
	l.release(a)
	l.connState(a, http.StateClosed)
	if n := l.per.Count(netipLoopback); n != 1 {
		t.Fatalf("after releasing one connection three times: count %d, want 1", n)
	}
}
