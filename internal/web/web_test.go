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

func TestEmbedOriginsReachThePage(t *testing.T) {
	files := fstest.MapFS{"index.html": {Data: []byte("<!doctype html><html><head><title>Huddle</title></head><body></body></html>")}}
	rec := get(t, Handler(Options{Files: files}), http.MethodGet, "/abc-defg-hij")
	if strings.Contains(rec.Body.String(), embedMetaName) {
		t.Errorf("embed origins tag without --embed-origins: %q", rec.Body.String())
	}
	h := Handler(Options{Files: files, EmbedOrigins: []string{"https://portal.example.com", "http://127.0.0.1:5173"}})
	for _, p := range []string{"/", "/abc-defg-hij"} {
		body := get(t, h, http.MethodGet, p).Body.String()
		want := `<meta name="huddle-embed-origins" content="https://portal.example.com http://127.0.0.1:5173" />` + "\n</head>"
		if !strings.Contains(body, want) {
			t.Errorf("GET %s: page %q lacks %q", p, body, want)
		}
	}
}

func TestEmbedOriginsEscaped(t *testing.T) {
	// Config never lets such an origin through; the page stays well-formed anyway.
	got := string(withEmbedOrigins([]byte("<head></head>"), []string{`https://a.example"><script>`}))
	if strings.Contains(got, "<script>") || !strings.Contains(got, "&#34;&gt;&lt;script&gt;") {
		t.Errorf("origin not escaped: %q", got)
	}
}

func TestExternalAPIScript(t *testing.T) {
	files := testFiles()
	files["external_api.js"] = &fstest.MapFile{Data: []byte("class HuddleMeeting {}")}
	rec := get(t, Handler(Options{Files: files}), http.MethodGet, "/external_api.js")
	if rec.Code != http.StatusOK || rec.Body.String() != "class HuddleMeeting {}" {
		t.Fatalf("external_api.js: %d %q", rec.Code, rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type %q: browsers refuse to run it under nosniff", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control %q, want no-cache", cc)
	}
}
