package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/huddlehq/huddle/internal/jsonhttp"
)

// loadDoc parses and validates the OpenAPI document with kin-openapi.
func loadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	loadDoc(t)
	// Structural checks kin-openapi does not insist on: every operation
	// has an id, and every error response is the Error schema.
	var doc map[string]any
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	for path, item := range doc["paths"].(map[string]any) {
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			if op.(map[string]any)["operationId"] == nil {
				t.Errorf("%s %s: no operationId", method, path)
			}
		}
	}
}

// TestDocsCopyIsCurrent: docs/openapi.json is the document served.
func TestDocsCopyIsCurrent(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, OpenAPI) {
		t.Fatal("docs/openapi.json differs from internal/api/openapi.json: copy it over")
	}
}

// TestRoutesMatchDocument: every route the API registers is in the
// document, and every operation of the document is registered.
func TestRoutesMatchDocument(t *testing.T) {
	doc := loadDoc(t)
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+Prefix+path] = true
		}
	}
	registered := map[string]bool{}
	for _, r := range New(Config{}, nil).Routes() {
		registered[r.Method+" "+r.Path] = true
	}
	var missing, extra []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Fatalf("registered but not documented: %v\ndocumented but not registered: %v", missing, extra)
	}
	if len(registered) < 10 {
		t.Fatalf("only %d routes", len(registered))
	}
}

// fakeRooms is enough of the meetings for the API's own rules.
type fakeRooms struct{ Rooms }

func (fakeRooms) ListRooms() []Room { return []Room{} }

func do(t *testing.T, h http.Handler, method, path, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func errorCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b jsonhttp.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("not a JSON error (%s): %q", rec.Header().Get("Content-Type"), rec.Body.String())
	}
	return b.Error.Code
}

func TestKeysAndRateLimit(t *testing.T) {
	const k1, k2 = "key-one-0123456789", "key-two-0123456789"
	a := New(Config{Keys: []string{k1, k2}, RequestsPerSecond: 0.001, Burst: 2}, fakeRooms{})
	for _, tc := range []struct {
		key, want string
		status    int
	}{
		{"", "unauthorized", 401},
		{"key-one", "unauthorized", 401},
		{k1 + "x", "unauthorized", 401},
	} {
		rec := do(t, a, "GET", "/api/v1/rooms", tc.key, "")
		if rec.Code != tc.status || errorCode(t, rec) != tc.want {
			t.Errorf("key %q: %d %s", tc.key, rec.Code, rec.Body)
		}
	}
	for i := range 2 {
		if rec := do(t, a, "GET", "/api/v1/rooms", k1, ""); rec.Code != 200 {
			t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	rec := do(t, a, "GET", "/api/v1/rooms", k1, "")
	if rec.Code != 429 || errorCode(t, rec) != "rate-limited" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	// The other key has its own bucket.
	if rec := do(t, a, "GET", "/api/v1/rooms", k2, ""); rec.Code != 200 {
		t.Fatalf("second key: %d", rec.Code)
	}
	// The document needs no key.
	if rec := do(t, a, "GET", "/api/v1/openapi.json", "", ""); rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), OpenAPI) {
		t.Fatalf("openapi.json: %d", rec.Code)
	}
}

func TestDisabledWithoutKeys(t *testing.T) {
	rec := do(t, New(Config{}, fakeRooms{}), "GET", "/api/v1/rooms", "anything-at-all-here", "")
	if rec.Code != 404 || errorCode(t, rec) != "api-disabled" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestUnknownPathsAndMethodsAreJSON(t *testing.T) {
	a := New(Config{Keys: []string{"key-one-0123456789"}}, fakeRooms{})
	rec := do(t, a, "PUT", "/api/v1/rooms", "key-one-0123456789", "")
	if rec.Code != 405 || errorCode(t, rec) != "method-not-allowed" || !strings.Contains(rec.Header().Get("Allow"), "POST") {
		t.Fatalf("PUT /rooms: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rec = do(t, a, "GET", "/api/v1/nothing/here", "key-one-0123456789", "")
	if rec.Code != 404 || errorCode(t, rec) != "not-found" {
		t.Fatalf("unknown path: %d %s", rec.Code, rec.Body)
	}
}

func TestBodiesAreChecked(t *testing.T) {
	const k = "key-one-0123456789"
	a := New(Config{Keys: []string{k}}, fakeRooms{})
	for name, body := range map[string]string{
		"not json":      "{",
		"unknown field": `{"id":"x","pasword":"typo"}`,
		"both expiries": `{"ttlSeconds":60,"expiresAt":"2099-01-01T00:00:00Z"}`,
		"past":          `{"expiresAt":"2001-01-01T00:00:00Z"}`,
		"negative":      `{"maxParticipants":-1}`,
		"media":         `{"media":"p2p"}`,
	} {
		rec := do(t, a, "POST", "/api/v1/rooms", k, body)
		if rec.Code != 400 || errorCode(t, rec) != "bad-request" {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	rec := do(t, a, "POST", "/api/v1/rooms", k, `{"password":"`+strings.Repeat("a", 70<<10)+`"}`)
	if rec.Code != 413 || errorCode(t, rec) != "too-large" {
		t.Errorf("huge body: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, a, "POST", "/api/v1/rooms/r/tokens", k, `{}`)
	if rec.Code != 404 || errorCode(t, rec) != "tokens-disabled" {
		t.Errorf("tokens without a secret: %d %s", rec.Code, rec.Body)
	}
}
