package server

import (
	"net/http/httptest"
	"testing"
)

func TestOriginPolicy(t *testing.T) {
	for _, tc := range []struct {
		name      string
		publicURL string
		allowed   []string
		host      string // the request's Host header
		origin    string // "" sends none
		want      bool
	}{
		{"no Origin header (Go/Node clients)", "", nil, "meet.example.com", "", true},
		{"same origin https", "", nil, "meet.example.com", "https://meet.example.com", true},
		{"same origin with port", "", nil, "10.0.0.5:8080", "http://10.0.0.5:8080", true},
		{"same origin, host case differs", "", nil, "Meet.Example.com", "https://meet.example.COM", true},
		{"same origin, default port in Host", "", nil, "meet.example.com:443", "https://meet.example.com", true},
		{"other site", "", nil, "meet.example.com", "https://evil.example", false},
		{"other port of the same host", "", nil, "meet.example.com:8080", "http://meet.example.com:9090", false},
		{"subdomain is another origin", "", nil, "example.com", "https://meet.example.com", false},
		{"suffix trick", "", nil, "meet.example.com", "https://meet.example.com.evil.example", false},
		{"localhost any port", "", nil, "meet.example.com", "http://localhost:5173", true},
		{"localhost https", "", nil, "meet.example.com", "https://localhost", true},
		{"127.0.0.1 any port", "", nil, "meet.example.com", "http://127.0.0.1:3000", true},
		{"::1", "", nil, "meet.example.com", "http://[::1]:3000", true},
		{"other loopback address is not listed", "", nil, "meet.example.com", "http://127.0.0.2:3000", false},
		{"localhost lookalike", "", nil, "meet.example.com", "http://localhost.evil.example", false},
		{"public URL behind a proxy", "https://meet.example.com", nil, "10.0.0.5:8080", "https://meet.example.com", true},
		{"public URL scheme matters", "https://meet.example.com", nil, "10.0.0.5:8080", "http://meet.example.com", false},
		{"allowed origin", "", []string{"https://app.example.org"}, "meet.example.com", "https://app.example.org", true},
		{"allowed origin with explicit default port", "", []string{"https://app.example.org:443"}, "meet.example.com", "https://app.example.org", true},
		{"allowed origin, other port", "", []string{"https://app.example.org"}, "meet.example.com", "https://app.example.org:8443", false},
		{"star allows all", "", []string{"*"}, "meet.example.com", "https://anything.example", true},
		{"null origin", "", nil, "meet.example.com", "null", false},
		{"file origin", "", nil, "meet.example.com", "file://", false},
		{"garbage", "", nil, "meet.example.com", "::::", false},
		{"origin with path", "", nil, "meet.example.com", "https://meet.example.com/x", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newOriginPolicy(tc.publicURL, tc.allowed)
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
