package engineio

import (
	"encoding/json"
	"net/http"
	"net/netip"
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
