package files

import (
	"bytes"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/refusal"
)

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	cfg.Dir = t.TempDir()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *Store, room, from string, data []byte) File {
	t.Helper()
	f, err := s.Put(room, from, "notes.txt", "text/plain", int64(len(data)), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestPutOpenDelete(t *testing.T) {
	s := newStore(t, Config{})
	data := []byte("hello, meeting")
	f := put(t, s, "abc-defg-hij", "p1", data)
	if f.Size != int64(len(data)) || f.Name != "notes.txt" || f.Type != "text/plain" || f.From != "p1" {
		t.Errorf("file %+v", f)
	}
	fh, got, err := s.Open("abc-defg-hij", f.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(fh)
	fh.Close()
	if !bytes.Equal(b, data) || got != f {
		t.Errorf("read %q %+v", b, got)
	}
	// Another meeting does not see it.
	if _, _, err := s.Open("other", f.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("open in another meeting: %v", err)
	}
	path := filepath.Join(s.Root(), "abc-defg-hij", f.ID)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("not on disk: %v", err)
	}
	s.Delete("abc-defg-hij")
	if _, err := os.Stat(filepath.Join(s.Root(), "abc-defg-hij")); !os.IsNotExist(err) {
		t.Errorf("the meeting's folder is still there: %v", err)
	}
	if _, _, err := s.Open("abc-defg-hij", f.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("open after the meeting ended: %v", err)
	}
	if n, b := s.Stats(); n != 0 || b != 0 {
		t.Errorf("stats after delete: %d files, %d bytes", n, b)
	}
}

func TestIDsAreLongAndRandom(t *testing.T) {
	s := newStore(t, Config{UploadsPerMinute: 1000, MaxFilesPerMeeting: 1000})
	seen := map[string]bool{}
	for range 200 {
		f := put(t, s, "r", "p", []byte("x"))
		if len(f.ID) != 32 || !validID(f.ID) {
			t.Fatalf("id %q: want 32 hex digits (128 bits)", f.ID)
		}
		if seen[f.ID] {
			t.Fatalf("id %q twice", f.ID)
		}
		seen[f.ID] = true
	}
}

func TestTooLarge(t *testing.T) {
	s := newStore(t, Config{MaxFileBytes: 10})
	// Declared too large: refused before reading.
	r := &countingReader{r: strings.NewReader(strings.Repeat("x", 11))}
	if _, err := s.Put("r", "p", "a", "", 11, r); !errors.Is(err, ErrTooLarge) || r.n != 0 {
		t.Errorf("declared 11 bytes: err %v, read %d", err, r.n)
	}
	// Not declared: read up to the limit and one byte more, then refused.
	r = &countingReader{r: strings.NewReader(strings.Repeat("x", 1000))}
	if _, err := s.Put("r", "p", "a", "", -1, r); !errors.Is(err, ErrTooLarge) || r.n > 11+512 {
		t.Errorf("undeclared 1000 bytes: err %v, read %d", err, r.n)
	}
	if n, b := s.Stats(); n != 0 || b != 0 {
		t.Errorf("refused uploads hold %d files, %d bytes", n, b)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Root(), "r"))
	if len(entries) != 0 {
		t.Errorf("refused uploads left %d files on disk", len(entries))
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestShortBody(t *testing.T) {
	s := newStore(t, Config{})
	if _, err := s.Put("r", "p", "a", "", 10, strings.NewReader("12345")); err == nil {
		t.Error("a body shorter than declared was stored")
	}
	if n, _ := s.Stats(); n != 0 {
		t.Errorf("%d files held", n)
	}
}

func TestMeetingLimits(t *testing.T) {
	s := newStore(t, Config{MaxFilesPerMeeting: 2, UploadsPerMinute: 100})
	put(t, s, "r", "p", []byte("1"))
	put(t, s, "r", "p", []byte("2"))
	if _, err := s.Put("r", "p", "a", "", 1, strings.NewReader("3")); !errors.Is(err, ErrTooMany) {
		t.Errorf("third file: %v", err)
	}
	put(t, s, "other", "p", []byte("1")) // another meeting has its own count

	s = newStore(t, Config{MaxMeetingBytes: 10, UploadsPerMinute: 100})
	put(t, s, "r", "p", []byte("123456"))
	if _, err := s.Put("r", "p", "a", "", 5, strings.NewReader("12345")); !errors.Is(err, ErrMeetingFull) {
		t.Errorf("over the meeting's bytes: %v", err)
	}

	s = newStore(t, Config{MaxTotalBytes: 10, UploadsPerMinute: 100})
	put(t, s, "r1", "p", []byte("123456"))
	if _, err := s.Put("r2", "p", "a", "", 5, strings.NewReader("12345")); !errors.Is(err, ErrServerFull) {
		t.Errorf("over the server's bytes: %v", err)
	}
	s.Delete("r1") // an ended meeting gives its bytes back
	put(t, s, "r2", "p", []byte("12345"))
}

func TestUploadRate(t *testing.T) {
	s := newStore(t, Config{UploadsPerMinute: 2})
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	put(t, s, "r", "p", []byte("1"))
	put(t, s, "r", "p", []byte("2"))
	if _, err := s.Put("r", "p", "a", "", 1, strings.NewReader("3")); !errors.Is(err, ErrRateLimited) {
		t.Errorf("third in a minute: %v", err)
	}
	put(t, s, "r", "q", []byte("3")) // someone else may
	now = now.Add(61 * time.Second)
	put(t, s, "r", "p", []byte("4"))
}

func TestEndedDuringUpload(t *testing.T) {
	s := newStore(t, Config{})
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := s.Put("r", "p", "a", "", 4, pr)
		done <- err
	}()
	pw.Write([]byte("12"))
	s.Delete("r")
	pw.Write([]byte("34"))
	pw.Close()
	if err := <-done; !errors.Is(err, ErrEnded) && err == nil {
		t.Errorf("upload into an ended meeting: %v", err)
	}
	if n, b := s.Stats(); n != 0 || b != 0 {
		t.Errorf("stats: %d files, %d bytes", n, b)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "r")); !os.IsNotExist(err) {
		entries, _ := os.ReadDir(filepath.Join(s.Root(), "r"))
		if len(entries) > 0 {
			t.Errorf("files left: %v", entries)
		}
	}
}

func TestBadIDsAndRooms(t *testing.T) {
	s := newStore(t, Config{})
	f := put(t, s, "r", "p", []byte("x"))
	for _, id := range []string{"", "..", "../r/" + f.ID, f.ID + "/", strings.ToUpper(f.ID), f.ID[:31], f.ID + "0"} {
		if _, _, err := s.Open("r", id); err == nil {
			t.Errorf("id %q opened", id)
		}
	}
	for _, room := range []string{"", "..", "../r", "r/..", strings.Repeat("a", 65)} {
		if _, err := s.Put(room, "p", "a", "", 1, strings.NewReader("x")); err == nil {
			t.Errorf("room %q accepted", room)
		}
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                   "report.pdf",
		"../../etc/passwd":             "passwd",
		`..\..\windows\system32\x.dll`: "x.dll",
		"..":                           "file",
		"":                             "file",
		".bashrc":                      "bashrc",
		"a\x00b\nc.txt":                "abc.txt",
		"evil\u202Egpj.exe":            "evilgpj.exe",
		"  spaced  ":                   "spaced",
		"Übersicht – März.pdf":         "Übersicht – März.pdf",
		"dir/":                         "file",
		strings.Repeat("é", 200):       strings.Repeat("é", 127),
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanType(t *testing.T) {
	for in, want := range map[string]string{
		"application/pdf":          "application/pdf",
		"Text/HTML":                "text/html",
		"text/html; charset=utf-8": "",
		"nonsense":                 "",
		"a/b\r\nX-Evil: 1":         "",
	} {
		if got := cleanType(in); got != want {
			t.Errorf("cleanType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCloseRemovesEverything(t *testing.T) {
	cfg := Config{Dir: t.TempDir()}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, "r", "p", []byte("x"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Root()); !os.IsNotExist(err) {
		t.Errorf("root still there: %v", err)
	}
	if _, err := s.Put("r", "p", "a", "", 1, strings.NewReader("x")); err == nil {
		t.Error("upload after Close")
	}
}

// TestDiskFailure: the server's own disk failing is files-full (507), not
// the client's fault, and nothing is held.
func TestDiskFailure(t *testing.T) {
	h, s, _ := newHandler(t, Config{})
	if err := os.RemoveAll(s.Root()); err != nil {
		t.Fatal(err)
	}
	var re *refusal.Error
	if _, err := s.Put("room1", "a", "x", "", 1, strings.NewReader("x")); !errors.As(err, &re) || re.Code != "files-full" || re.Err == nil {
		t.Errorf("Put: %v", err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, uploadReq("room1", "tok-a", "a.txt", strings.NewReader("x")))
	if rec.Code != 507 || errCode(t, rec) != "files-full" {
		t.Errorf("upload: %d %s", rec.Code, rec.Body)
	}
	if n, b := s.Stats(); n != 0 || b != 0 {
		t.Errorf("%d files, %d bytes held", n, b)
	}
}
