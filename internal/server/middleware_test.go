package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestHasQueryValue(t *testing.T) {
	for _, q := range []string{
		"", "EIO=4&transport=polling", "sid=abc", "EIO=4&sid=abc&t=1", "sid=", "sid",
		"sid=&sid=x", "sidx=1", "xsid=1", "a=1&sid=2", "&&sid=3&&", "sid=a%20b",
	} {
		v, _ := url.ParseQuery(q)
		if got, want := hasQueryValue(q, "sid"), v.Get("sid") != ""; got != want {
			t.Errorf("hasQueryValue(%q) = %v, url.Values says %v", q, got, want)
		}
	}
}

func TestStampSessionStart(t *testing.T) {
	for _, tc := range []struct {
		target  string
		stamped bool
	}{
		{"/socket.io/?EIO=4&transport=websocket", true},
		{"/socket.io/?EIO=4&transport=polling&sid=abc", false},
	} {
		var got string
		h := stampSessionStart(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			got = r.Header.Get(sessionStartHeader)
		}))
		r := httptest.NewRequest("GET", tc.target, nil)
		r.Header.Set(sessionStartHeader, "1") // a client's own value never passes
		h.ServeHTTP(httptest.NewRecorder(), r)
		if (got != "") != tc.stamped || got == "1" {
			t.Errorf("%s: stamp %q, want stamped=%v", tc.target, got, tc.stamped)
		}
	}
}

func TestFrameAncestors(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, tc := range []struct {
		origins   []string
		ancestors string // the CSP directive
		xfo       string
	}{
		{nil, "frame-ancestors 'none'", "DENY"},
		{[]string{}, "frame-ancestors 'none'", "DENY"},
		{[]string{"https://portal.example.com"}, "frame-ancestors https://portal.example.com", ""},
		{[]string{"https://portal.example.com", "http://127.0.0.1:5173"}, "frame-ancestors https://portal.example.com http://127.0.0.1:5173", ""},
	} {
		for _, path := range []string{"/", "/abc-defg-hij", "/external_api.js"} {
			rec := httptest.NewRecorder()
			securityHeaders(tc.origins, ok).ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			csp := rec.Header().Get("Content-Security-Policy")
			// The directive must be the last one and whole: a longer
			// list would let more sites in.
			if !strings.HasSuffix(csp, "; "+tc.ancestors) || strings.Count(csp, "frame-ancestors") != 1 {
				t.Errorf("%v %s: CSP %q, want it to end in %q", tc.origins, path, csp, tc.ancestors)
			}
			if got := rec.Header().Get("X-Frame-Options"); got != tc.xfo {
				t.Errorf("%v %s: X-Frame-Options %q, want %q", tc.origins, path, got, tc.xfo)
			}
			if got := rec.Header().Get("Permissions-Policy"); !strings.Contains(got, "camera=(self)") {
				t.Errorf("%v %s: Permissions-Policy %q", tc.origins, path, got)
			}
		}
	}
}

// --embed-origins reaches the headers of every response of the server.
func TestEmbedOriginsFlagFramesTheApp(t *testing.T) {
	r := start(t, testConfig(t, "--embed-origins", "https://Portal.example.com:443,http://127.0.0.1:5173"))
	for _, path := range []string{"/", "/abc-defg-hij", "/healthz"} {
		rec := httptest.NewRecorder()
		r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		csp := rec.Header().Get("Content-Security-Policy")
		if want := "; frame-ancestors https://portal.example.com http://127.0.0.1:5173"; !strings.HasSuffix(csp, want) {
			t.Errorf("%s: CSP %q, want it to end in %q", path, csp, want)
		}
		if xfo := rec.Header().Get("X-Frame-Options"); xfo != "" {
			t.Errorf("%s: X-Frame-Options %q would keep the embedding sites out", path, xfo)
		}
	}
}
