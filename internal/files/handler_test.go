package files

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/huddlehq/huddle/internal/jsonhttp"
)

// fakeMembers is a meeting whose members hold tokens "tok-<id>".
type fakeMembers struct {
	mu      sync.Mutex
	members map[string]string // token -> participant
	viewers map[string]bool
	shared  []File
}

func (m *fakeMembers) Member(room, token string, upload bool) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if room != "room1" {
		return "", ErrNoMeeting
	}
	id, ok := m.members[token]
	if !ok {
		return "", ErrNotMember
	}
	if upload && m.viewers[id] {
		return "", ErrViewer
	}
	return id, nil
}

func (m *fakeMembers) Shared(room, from string, f File) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range m.members {
		if id == from {
			m.shared = append(m.shared, f)
			return nil
		}
	}
	return ErrNotMember
}

func (m *fakeMembers) remove(token string) {
	m.mu.Lock()
	delete(m.members, token)
	m.mu.Unlock()
}

func newHandler(t *testing.T, cfg Config) (*Handler, *Store, *fakeMembers) {
	s := newStore(t, cfg)
	m := &fakeMembers{members: map[string]string{"tok-a": "a", "tok-b": "b", "tok-v": "v"}, viewers: map[string]bool{"v": true}}
	h := NewHandler(HandlerConfig{Store: s, Members: m, CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "https://meet.example"
	}})
	return h, s, m
}

func uploadReq(room, token, name string, body io.Reader) *http.Request {
	r := httptest.NewRequest("POST", "/files/"+room, body)
	if token != "" {
		r.Header.Set(TokenHeader, token)
	}
	r.Header.Set(NameHeader, url.PathEscape(name))
	r.Header.Set("Content-Type", "application/pdf")
	return r
}

func errCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b jsonhttp.ErrorBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("status %d, body %q is not a JSON error", rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("error Content-Type %q", rec.Header().Get("Content-Type"))
	}
	return b.Error.Code
}

func doUpload(t *testing.T, h http.Handler, token, name string, data []byte) File {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, uploadReq("room1", token, name, bytes.NewReader(data)))
	if rec.Code != http.StatusCreated {
		t.Fatalf("upload: %d %s", rec.Code, rec.Body)
	}
	var got struct{ File File }
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	return got.File
}

func get(h http.Handler, room, id, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/files/"+room+"/"+id, nil)
	if token != "" {
		r.Header.Set(TokenHeader, token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestUploadAndDownload(t *testing.T) {
	h, _, m := newHandler(t, Config{})
	data := []byte("<html><script>alert(1)</script></html>")
	f := doUpload(t, h, "tok-a", "Bericht März.html", data)
	if f.Name != "Bericht März.html" || f.Size != int64(len(data)) || len(f.ID) != 32 {
		t.Errorf("file %+v", f)
	}
	if len(m.shared) != 1 || m.shared[0].ID != f.ID || m.shared[0].From != "a" {
		t.Errorf("shared %+v", m.shared)
	}
	rec := get(h, "room1", f.ID, "tok-b")
	if rec.Code != 200 || !bytes.Equal(rec.Body.Bytes(), data) {
		t.Fatalf("download: %d %q", rec.Code, rec.Body)
	}
	hd := rec.Header()
	for k, want := range map[string]string{
		"Content-Type":            "application/octet-stream",
		"Content-Disposition":     `attachment; filename="Bericht M_rz.html"; filename*=UTF-8''Bericht%20M%C3%A4rz.html`,
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
		"Content-Security-Policy": "sandbox; default-src 'none'",
	} {
		if got := hd.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func TestNotAMember(t *testing.T) {
	h, s, m := newHandler(t, Config{})
	f := doUpload(t, h, "tok-a", "a.txt", []byte("x"))
	// No token, a wrong token, another meeting: refused, as JSON.
	for _, tc := range []struct{ room, token string }{{"room1", ""}, {"room1", "tok-zzz"}} {
		rec := get(h, tc.room, f.ID, tc.token)
		if rec.Code != 403 || errCode(t, rec) != "not-member" {
			t.Errorf("download %+v: %d %s", tc, rec.Code, rec.Body)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, uploadReq(tc.room, tc.token, "b.txt", strings.NewReader("y")))
		if rec.Code != 403 || errCode(t, rec) != "not-member" {
			t.Errorf("upload %+v: %d %s", tc, rec.Code, rec.Body)
		}
	}
	// b downloads, is removed, and is refused from then on.
	if rec := get(h, "room1", f.ID, "tok-b"); rec.Code != 200 {
		t.Fatalf("member: %d", rec.Code)
	}
	m.remove("tok-b")
	if rec := get(h, "room1", f.ID, "tok-b"); rec.Code != 403 || errCode(t, rec) != "not-member" {
		t.Errorf("removed participant: %d %s", rec.Code, rec.Body)
	}
	// A viewer downloads but does not upload.
	if rec := get(h, "room1", f.ID, "tok-v"); rec.Code != 200 {
		t.Errorf("viewer download: %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, uploadReq("room1", "tok-v", "b.txt", strings.NewReader("y")))
	if rec.Code != 403 || errCode(t, rec) != "viewer" {
		t.Errorf("viewer upload: %d %s", rec.Code, rec.Body)
	}
	if n, _ := s.Stats(); n != 1 {
		t.Errorf("%d files stored, want 1", n)
	}
}

func TestOriginRefused(t *testing.T) {
	h, _, _ := newHandler(t, Config{})
	r := uploadReq("room1", "tok-a", "a.txt", strings.NewReader("x"))
	r.Header.Set("Origin", "https://evil.example")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 403 || errCode(t, rec) != "origin" {
		t.Errorf("other site's page: %d %s", rec.Code, rec.Body)
	}
}

// endless is a body that never ends, counting what was read of it.
type endless struct {
	mu sync.Mutex
	n  int64
}

func (e *endless) Read(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n += int64(len(p))
	return len(p), nil
}

func TestTooLargeBeforeReading(t *testing.T) {
	h, s, _ := newHandler(t, Config{MaxFileBytes: 1000})
	body := &endless{}
	r := uploadReq("room1", "tok-a", "big.bin", body)
	r.ContentLength = 1 << 30 // declared: 1 GiB
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 413 || errCode(t, rec) != "file-too-large" {
		t.Errorf("declared 1 GiB: %d %s", rec.Code, rec.Body)
	}
	if body.n != 0 {
		t.Errorf("read %d bytes of a body refused by its length", body.n)
	}
	// Not declared (chunked): refused once past the limit, not read on.
	body = &endless{}
	r = uploadReq("room1", "tok-a", "big.bin", body)
	r.ContentLength = -1
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 413 || errCode(t, rec) != "file-too-large" {
		t.Errorf("undeclared: %d %s", rec.Code, rec.Body)
	}
	if body.n > 1000+64<<10 {
		t.Errorf("read %d bytes of an endless body", body.n)
	}
	if n, b := s.Stats(); n != 0 || b != 0 {
		t.Errorf("%d files, %d bytes held", n, b)
	}
}

func TestTooManyAndRate(t *testing.T) {
	h, _, _ := newHandler(t, Config{MaxFilesPerMeeting: 1})
	doUpload(t, h, "tok-a", "a.txt", []byte("x"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, uploadReq("room1", "tok-b", "b.txt", strings.NewReader("y")))
	if rec.Code != 429 || errCode(t, rec) != "too-many-files" {
		t.Errorf("second file: %d %s", rec.Code, rec.Body)
	}

	h, _, _ = newHandler(t, Config{UploadsPerMinute: 1})
	doUpload(t, h, "tok-a", "a.txt", []byte("x"))
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, uploadReq("room1", "tok-a", "b.txt", strings.NewReader("y")))
	if rec.Code != 429 || errCode(t, rec) != "rate-limited" || rec.Header().Get("Retry-After") == "" {
		t.Errorf("second in a minute: %d %s %v", rec.Code, rec.Body, rec.Header())
	}
}

func TestEndedMeeting(t *testing.T) {
	h, s, _ := newHandler(t, Config{})
	f := doUpload(t, h, "tok-a", "a.txt", []byte("x"))
	// A meeting that is no more: 404, whoever asks.
	if rec := get(h, "room2", f.ID, "tok-a"); rec.Code != 404 || errCode(t, rec) != "not-found" {
		t.Errorf("no such meeting: %d %s", rec.Code, rec.Body)
	}
	s.Delete("room1")
	if rec := get(h, "room1", f.ID, "tok-a"); rec.Code != 404 || errCode(t, rec) != "not-found" {
		t.Errorf("after the meeting ended: %d %s", rec.Code, rec.Body)
	}
}

func TestSharedRefusedUndoes(t *testing.T) {
	h, s, m := newHandler(t, Config{})
	m.viewers = nil
	// The uploader leaves while its file arrives: Shared refuses it.
	pr, pw := io.Pipe()
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(rec, uploadReq("room1", "tok-a", "a.txt", pr))
		close(done)
	}()
	pw.Write([]byte("abc"))
	m.remove("tok-a")
	pw.Close()
	<-done
	if rec.Code != 403 {
		t.Errorf("left during the upload: %d %s", rec.Code, rec.Body)
	}
	if n, b := s.Stats(); n != 0 || b != 0 {
		t.Errorf("%d files, %d bytes held", n, b)
	}
}

func TestPathTraversal(t *testing.T) {
	h, _, _ := newHandler(t, Config{})
	f := doUpload(t, h, "tok-a", "../../../etc/passwd", []byte("x"))
	if f.Name != "passwd" {
		t.Errorf("name %q", f.Name)
	}
	for _, p := range []string{"/files/room1/..%2f..%2fetc%2fpasswd", "/files/room1/" + f.ID + "%2f..", "/files/..%2froom1/" + f.ID} {
		r := httptest.NewRequest("GET", p, nil)
		r.Header.Set(TokenHeader, "tok-a")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code == 200 {
			t.Errorf("%s: 200", p)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	for in, want := range map[string]string{
		"a.txt":        `attachment; filename="a.txt"; filename*=UTF-8''a.txt`,
		`q"u;o%te.txt`: `attachment; filename="q_u_o_te.txt"; filename*=UTF-8''q%22u%3Bo%25te.txt`,
		"日本.pdf":       `attachment; filename="__.pdf"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf`,
	} {
		if got := ContentDisposition(in); got != want {
			t.Errorf("ContentDisposition(%q) = %q, want %q", in, got, want)
		}
	}
}
