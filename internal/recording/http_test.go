package recording

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
)

// noMedia is a Source without tracks.
type noMedia struct{}

func (noMedia) Require(string, bool) error               { return nil }
func (noMedia) AddSink(string, sfu.Sink) (remove func()) { return func() {} }

// A room's listing has one-time signed URLs; nothing else is served: not
// a second use, not a forged or altered link, not a folder, not another
// path.
func TestDownloadsNeedAOneTimeSignedURL(t *testing.T) {
	m := newManager(t, Config{FFmpeg: "-", MinFreeDisk: -1}, noMedia{})
	man, err := m.Start("r1", "host")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	if l, _ := m.List("other-room"); len(l) != 0 {
		t.Fatalf("another room lists %d recordings", len(l))
	}
	list, err := m.List("r1")
	if err != nil || len(list) != 1 || list[0].ID != man.ID || len(list[0].Files) != 1 {
		t.Fatalf("list %+v %v", list, err)
	}
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	u := list[0].Files[0].URL
	if code, body := get(u); code != 200 || !strings.Contains(body, man.ID) {
		t.Fatalf("signed URL: %d %s", code, body)
	}
	if code, body := get(u); code != 403 || !strings.Contains(body, `"used"`) {
		t.Errorf("second use: %d %s", code, body)
	}
	fresh := m.signURL(man.ID, manifestName, timeNow())
	for _, bad := range []string{
		strings.Replace(fresh, "sig=", "sig=0", 1),              // forged
		strings.Replace(fresh, manifestName, "track-1.webm", 1), // another file, same signature
		URLPrefix + man.ID + "/" + manifestName,                 // unsigned
		URLPrefix + man.ID + "/",                                // the folder
		URLPrefix,                                               // the root
		URLPrefix + man.ID + "/..%2f..%2fetc%2fpasswd?" + strings.Split(fresh, "?")[1], // elsewhere
	} {
		if code, body := get(bad); code != 403 && code != 404 {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}
	if code, _ := get(fresh); code != 200 {
		t.Errorf("a fresh URL after the refusals: %d", code)
	}
	_ = m.Close(context.Background())
}

func timeNow() time.Time { return time.Now() }
