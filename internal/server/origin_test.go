package server

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestOriginPolicy(t *testing.T) {
	meet := []string{"meet.example.com"} // a configured name (certificate, ACME)
	for _, tc := range []struct {
		name      string
		publicURL string
		allowed   []string
		names     []string // the server's configured names
		loopback  bool     // loopback pages allowed (listening on loopback, or the flag)
		host      string   // the request's Host header
		origin    string   // "" sends none
		want      bool
	}{
		{"no Origin header (Go/Node clients)", "", nil, nil, false, "meet.example.com", "", true},
		{"same origin, configured name", "", nil, meet, false, "meet.example.com", "https://meet.example.com", true},
		{"same origin, unconfigured name (DNS rebinding)", "", nil, nil, false, "rebind.example:8080", "http://rebind.example:8080", false},
		{"same origin, name only in another list", "", nil, []string{"other.example"}, false, "meet.example.com", "https://meet.example.com", false},
		{"same origin, IP address with port", "", nil, nil, false, "10.0.0.5:8080", "http://10.0.0.5:8080", true},
		{"same origin, IPv6 address", "", nil, nil, false, "[2001:db8::5]:8080", "http://[2001:db8::5]:8080", true},
		{"same origin, localhost", "", nil, nil, false, "localhost:8080", "http://localhost:8080", true},
		{"same origin, host case differs", "", nil, meet, false, "Meet.Example.com", "https://meet.example.COM", true},
		{"same origin, default port in Host", "", nil, meet, false, "meet.example.com:443", "https://meet.example.com", true},
		{"same origin, public URL's host", "https://meet.example.com", nil, nil, false, "meet.example.com:8443", "https://meet.example.com:8443", true},
		{"same origin, allowed origin's host", "", []string{"https://meet.example.com"}, nil, false, "meet.example.com:8443", "https://meet.example.com:8443", true},
		{"other site", "", nil, meet, false, "meet.example.com", "https://evil.example", false},
		{"other port of the same host", "", nil, meet, false, "meet.example.com:8080", "http://meet.example.com:9090", false},
		{"subdomain is another origin", "", nil, []string{"example.com"}, false, "example.com", "https://meet.example.com", false},
		{"suffix trick", "", nil, meet, false, "meet.example.com", "https://meet.example.com.evil.example", false},
		{"localhost any port, public server", "", nil, meet, false, "meet.example.com", "http://localhost:5173", false},
		{"127.0.0.1 any port, public server", "", nil, meet, false, "meet.example.com", "http://127.0.0.1:3000", false},
		{"::1, public server", "", nil, meet, false, "meet.example.com", "http://[::1]:3000", false},
		{"localhost any port, loopback allowed", "", nil, nil, true, "127.0.0.1:8080", "http://localhost:5173", true},
		{"localhost https, loopback allowed", "", nil, nil, true, "127.0.0.1:8080", "https://localhost", true},
		{"127.0.0.1 any port, loopback allowed", "", nil, nil, true, "127.0.0.1:8080", "http://127.0.0.1:3000", true},
		{"::1, loopback allowed", "", nil, nil, true, "127.0.0.1:8080", "http://[::1]:3000", true},
		{"other loopback address is not listed", "", nil, nil, true, "127.0.0.1:8080", "http://127.0.0.2:3000", false},
		{"localhost lookalike", "", nil, nil, true, "127.0.0.1:8080", "http://localhost.evil.example", false},
		{"public URL behind a proxy", "https://meet.example.com", nil, nil, false, "10.0.0.5:8080", "https://meet.example.com", true},
		{"public URL scheme matters", "https://meet.example.com", nil, nil, false, "10.0.0.5:8080", "http://meet.example.com", false},
		{"allowed origin", "", []string{"https://app.example.org"}, nil, false, "meet.example.com", "https://app.example.org", true},
		{"allowed origin with explicit default port", "", []string{"https://app.example.org:443"}, nil, false, "meet.example.com", "https://app.example.org", true},
		{"allowed origin, other port", "", []string{"https://app.example.org"}, nil, false, "meet.example.com", "https://app.example.org:8443", false},
		{"star allows all", "", []string{"*"}, nil, false, "meet.example.com", "https://anything.example", true},
		{"null origin", "", nil, nil, true, "meet.example.com", "null", false},
		{"file origin", "", nil, nil, true, "meet.example.com", "file://", false},
		{"garbage", "", nil, nil, true, "meet.example.com", "::::", false},
		{"origin with path", "", nil, meet, false, "meet.example.com", "https://meet.example.com/x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newOriginPolicy(originOptions{PublicURL: tc.publicURL, Allowed: tc.allowed, Names: tc.names, Loopback: tc.loopback})
			r := httptest.NewRequest("GET", "/socket.io/?EIO=4&transport=polling", nil)
			r.Host = tc.host
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := p.allows(r); got != tc.want {
				t.Errorf("allows = %v, want %v", got, tc.want)
			}
		})
	}
}

// pollOpen opens an Engine.IO polling session with a raw request carrying
// these Host and Origin headers, as a browser would send them, and returns
// the status.
func pollOpen(t *testing.T, addr, host, origin string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: %s\r\nOrigin: %s\r\nConnection: close\r\n\r\n", host, origin)
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// A page of a name that is not the server's, pointed at its address by
// DNS, sends that name as Host and Origin alike: it is refused.
func TestWholeServerRefusesRebindingOrigin(t *testing.T) {
	r := startReal(t, testConfig(t, "--public-url", "https://meet.example.com"))
	_, port, _ := net.SplitHostPort(r.Addr().String())
	if code := pollOpen(t, r.Addr().String(), "rebind.example:"+port, "http://rebind.example:"+port); code == http.StatusOK {
		t.Errorf("rebound name let in (%d)", code)
	}
	for _, host := range []string{"meet.example.com:" + port, "127.0.0.1:" + port} {
		if code := pollOpen(t, r.Addr().String(), host, "http://"+host); code != http.StatusOK {
			t.Errorf("own origin %s refused: %d", host, code)
		}
	}
}

// Loopback pages of any port are let in only by a server on a loopback
// address or with --allow-loopback-origins.
func TestWholeServerLoopbackOrigins(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"--addr", "127.0.0.1:0"}, true},
		{[]string{"--addr", "0.0.0.0:0"}, false},
		{[]string{"--addr", "0.0.0.0:0", "--allow-loopback-origins"}, true},
	} {
		r := startReal(t, testConfig(t, tc.args...))
		_, port, _ := net.SplitHostPort(r.Addr().String())
		code := pollOpen(t, "127.0.0.1:"+port, "meet.example.com", "http://localhost:5173")
		if (code == http.StatusOK) != tc.want {
			t.Errorf("%v: a page on localhost:5173 got %d, want allowed=%v", tc.args, code, tc.want)
		}
	}
}

func TestRefusedOriginIsCounted(t *testing.T) {
	r := start(t, testConfig(t))
	req := httptest.NewRequest("GET", "/socket.io/", nil)
	req.Host = "meet.example.com"
	req.Header.Set("Origin", "https://evil.example")
	if r.checkOrigin(req) {
		t.Fatal("foreign origin allowed")
	}
	body := get(t, r.Handler(), "/metrics").Body.String()
	if want := `huddle_events_refused_total{event="connect",reason="origin"} 1`; !contains(body, want) {
		t.Errorf("/metrics lacks %q", want)
	}
}
