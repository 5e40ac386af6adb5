package server

import (
	"net/http"
	"net/http/httptest"
	"net/url"
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
