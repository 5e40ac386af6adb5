package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

func testFiles() fstest.MapFS {
	return fstest.MapFS{
		"index.html":          {Data: []byte("<!doctype html><title>Huddle</title>")},
		"assets/index-abc.js": {Data: []byte("console.log(1)")},
		"vendor/socket.io.js": {Data: []byte("/* socket.io client */")},
	}
}

func get(t *testing.T, h http.Handler, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestAppRoutesServeIndex(t *testing.T) {
	h := Handler(Options{Files: testFiles()})
	for _, p := range []string{"/", "/abc-defg-hij", "/check", "/some/deep/path"} {
		rec := get(t, h, http.MethodGet, p)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<title>Huddle</title>") {
			t.Errorf("GET %s: %d %q, want the app", p, rec.Code, rec.Body.String())
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, cc)
		}
	}
}

func TestAssetsAreImmutable(t *testing.T) {
	h := Handler(Options{Files: testFiles()})
	rec := get(t, h, http.MethodGet, "/assets/index-abc.js")
	if rec.Code != http.StatusOK || rec.Body.String() != "console.log(1)" {
		t.Fatalf("asset: %d %q", rec.Code, rec.Body.String())
	}
	if !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("asset Cache-Control %q", rec.Header().Get("Cache-Control"))
	}
}

func TestSocketIOClientBundle(t *testing.T) {
	h := Handler(Options{Files: testFiles()})
	rec := get(t, h, http.MethodGet, "/socket.io/socket.io.js")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "socket.io client") {
		t.Fatalf("client bundle: %d %q", rec.Code, rec.Body.String())
	}
}

func TestOtherMethodsRefused(t *testing.T) {
	h := Handler(Options{Files: testFiles()})
	if rec := get(t, h, http.MethodPost, "/abc-defg-hij"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d, want 405", rec.Code)
	}
}

func TestPathTraversalStaysInside(t *testing.T) {
	h := Handler(Options{Files: testFiles()})
	rec := get(t, h, http.MethodGet, "/../../etc/passwd")
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "<title>Huddle</title>") {
		t.Fatalf("traversal: %d %q, want the app page", rec.Code, rec.Body.String())
	}
}

func TestUnbuiltFrontEnd(t *testing.T) {
	h := Handler(Options{Files: fstest.MapFS{}})
	rec := get(t, h, http.MethodGet, "/")
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "make build") {
		t.Fatalf("unbuilt: %d %q", rec.Code, rec.Body.String())
	}
}
