package engineio

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testClientIP counts a request by its X-Test-IP header, as a server that
// trusts a proxy would by X-Forwarded-For.
func testClientIP(r *http.Request) netip.Addr {
	ip, _ := netip.ParseAddr(r.Header.Get("X-Test-IP"))
	return ip
}

// TestSessionsPerIP: sessions count against their client address from the
// handshake on, before they send anything, on both transports; a handshake
// over the cap gets 429 with the engine's JSON error; the slot comes back
// when a session ends.
func TestSessionsPerIP(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode, MaxSessionsPerIP: 3, ClientIP: testClientIP})
		a := map[string]string{"X-Test-IP": "192.0.2.1"}
		// Another address of the same IPv6 /64 counts as the same client.
		a6, b6 := map[string]string{"X-Test-IP": "2001:db8::1"}, map[string]string{"X-Test-IP": "2001:db8::2"}
		var sids []string
		for range 3 {
			code, body, _ := h.do("GET", "EIO=4&transport=polling", "", a)
			if code != 200 {
				t.Fatalf("handshake %d: %d %s", len(sids), code, body)
			}
			sids = append(sids, parseOpen(t, body).SID)
		}
		code, body, hdr := h.do("GET", "EIO=4&transport=polling", "", a)
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || code != http.StatusTooManyRequests ||
			e.Code != codeForbidden || e.Message == "" || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("handshake over the cap: %d %q (%v)", code, body, err)
		}
		// A WebSocket handshake is refused the same way, before the upgrade.
		ws := map[string]string{"X-Test-IP": "192.0.2.1", "Upgrade": "websocket", "Connection": "Upgrade",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
		if code, body, _ := h.do("GET", "EIO=4&transport=websocket", "", ws); code != http.StatusTooManyRequests {
			t.Fatalf("websocket handshake over the cap: %d %q", code, body)
		}
		if n := h.rec.count(); n != 3 {
			t.Fatalf("%d sessions made, want 3: refused handshakes must make none", n)
		}
		// Other addresses are not affected.
		for range 3 {
			if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", a6); code != 200 {
				t.Fatalf("other address refused: %d", code)
			}
		}
		if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", b6); code != http.StatusTooManyRequests {
			t.Fatalf("same /64: %d, want 429", code)
		}
		// A session that ends gives its slot back.
		if code, _, _ := h.do("POST", "EIO=4&transport=polling&sid="+sids[0], "1", a); code != 200 {
			t.Fatalf("close packet: %d", code)
		}
		h.rec.wantClose(t, "transport close")
		if code, body, _ := h.do("GET", "EIO=4&transport=polling", "", a); code != 200 {
			t.Fatalf("handshake after a session ended: %d %s", code, body)
		}
	})
}

// TestSessionsPerIPDefault: with no ClientIP the address is RemoteAddr's,
// and the default cap applies.
func TestSessionsPerIPDefault(t *testing.T) {
	h := newHarness(t, Config{})
	for i := range DefaultMaxSessionsPerIP {
		if code, body, _ := h.do("GET", "EIO=4&transport=polling", "", nil); code != 200 {
			t.Fatalf("handshake %d: %d %s", i, code, body)
		}
	}
	if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", nil); code != http.StatusTooManyRequests {
		t.Fatalf("handshake %d: %d, want 429", DefaultMaxSessionsPerIP+1, code)
	}
	// Negative: no limit.
	h = newHarness(t, Config{MaxSessionsPerIP: -1, PingTimeout: time.Second})
	for i := range DefaultMaxSessionsPerIP + 10 {
		if code, _, _ := h.do("GET", "EIO=4&transport=polling", "", nil); code != 200 {
			t.Fatalf("no limit, handshake %d: %d", i, code)
		}
	}
}

// TestFragmentedMessageBound: the fragments of an unfinished message are
// bounded by MaxPayload as they arrive, in both read modes. A continuation
// frame whose header takes the message past the limit closes the
// connection with 1009 at once, without the server waiting for (and
// buffering) its payload; so do many small fragments adding up.
func TestFragmentedMessageBound(t *testing.T) {
	const max = 100_000
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		t.Run("announced", func(t *testing.T) {
			h := newHarness(t, Config{ReadMode: mode, MaxPayload: max})
			c := h.dialRaw(nil)
			first := bytes.Repeat([]byte("a"), 60_000)
			first[0] = '4'
			c.send(clientFrame(false, opText, first, testKey, 0))
			// 60,000 more would make 120,000: only the header and a little
			// of the payload are sent, the rest never comes.
			cont := clientFrame(true, opContinuation, bytes.Repeat([]byte("b"), 60_000), testKey, 0)
			c.send(cont[:14+1000])
			c.wantClose(closeTooBig)
			h.rec.wantClose(t, "transport error")
		})
		t.Run("adding up", func(t *testing.T) {
			h := newHarness(t, Config{ReadMode: mode, MaxPayload: max})
			c := h.dialRaw(nil)
			piece := bytes.Repeat([]byte("c"), 1000)
			var stream []byte
			stream = append(stream, clientFrame(false, opBinary, piece, testKey, 0)...)
			for range 150 { // 151,000 bytes in all
				stream = append(stream, clientFrame(false, opContinuation, piece, testKey, 0)...)
			}
			// The server may close before it has all: a failed write is fine.
			go func() { _, _ = c.conn.Write(stream) }()
			c.wantClose(closeTooBig)
			h.rec.wantClose(t, "transport error")
		})
	})
}

func TestFrameWatch(t *testing.T) {
	// The stream in pieces of every size: the verdict does not depend on
	// how reads cut it.
	var ok, bad []byte
	ok = append(ok, clientFrame(false, opText, []byte("4ab"), testKey, 0)...)
	ok = append(ok, clientFrame(true, opPing, []byte("p"), testKey, 0)...)
	ok = append(ok, clientFrame(false, opContinuation, make([]byte, 200), testKey, 8)...)
	ok = append(ok, clientFrame(true, opContinuation, make([]byte, 97), testKey, 2)...)
	ok = append(ok, clientFrame(true, opBinary, make([]byte, 300), testKey, 0)...)
	bad = append(bad, ok...)
	bad = append(bad, clientFrame(false, opBinary, make([]byte, 200), testKey, 0)...)
	bad = append(bad, clientFrame(true, opContinuation, make([]byte, 101), testKey, 0)[:6]...) // header only
	for chunk := 1; chunk <= len(bad); chunk++ {
		for _, tc := range []struct {
			stream []byte
			want   error
		}{{ok, nil}, {bad, ErrFrameTooLarge}} {
			w := frameWatch{max: 300}
			var err error
			for i := 0; i < len(tc.stream) && err == nil; i += chunk {
				err = w.feed(tc.stream[i:min(i+chunk, len(tc.stream))])
			}
			if err != tc.want {
				t.Fatalf("chunk %d: %v, want %v", chunk, err, tc.want)
			}
		}
	}
}

// TestStalledPollingPOST: a POST head with a Content-Length and no body
// holds its connection and goroutine for PollingIOTimeout at most; the
// session ends with "transport error", and the connection is closed.
func TestStalledPollingPOST(t *testing.T) {
	h := newHarness(t, Config{PollingIOTimeout: 200 * time.Millisecond})
	sid := h.open()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	head := "POST /?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n4hel"
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	h.rec.wantClose(t, "transport error")
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("session closed after %v, before the timeout", d)
	}
	// The server closes the connection: the client reads its end.
	_ = conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
	// A POST whose body comes in time is served as usual, and the
	// deadline does not outlive it: the same connection serves a later
	// request after the timeout has passed.
	sid = h.open()
	c2, err := net.Dial("tcp", strings.TrimPrefix(h.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	br := bufio.NewReader(c2)
	post := func(body string) {
		t.Helper()
		req := "POST /?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if _, err := c2.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = c2.SetReadDeadline(time.Now().Add(3 * time.Second))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || string(b) != "ok" {
			t.Fatalf("POST: %d %q", res.StatusCode, b)
		}
	}
	post("4one")
	h.rec.wantMsg(t, msg{"one", false})
	time.Sleep(400 * time.Millisecond)
	post("4two")
	h.rec.wantMsg(t, msg{"two", false})
}

// TestUnreadPollingResponse: a GET whose client never reads the answer
// holds its goroutine for PollingIOTimeout at most; what it carried is lost,
// so the session ends.
func TestUnreadPollingResponse(t *testing.T) {
	h := newHarness(t, Config{PollingIOTimeout: 200 * time.Millisecond, SendQueue: 100_000})
	sid := h.open()
	s := h.rec.session()
	big := bytes.Repeat([]byte("x"), 100_000)
	for range 80 { // 8 MB: more than the socket buffers take
		if err := s.Send(big, false); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4096)
	}
	if _, err := conn.Write([]byte("GET /?EIO=4&transport=polling&sid=" + sid + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	h.rec.wantClose(t, "transport error")
}
