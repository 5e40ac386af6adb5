package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/files"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// fileClient is a participant of the whole-server files test.
type fileClient struct {
	c     *sioclient.Client
	id    string
	token string
	mu    sync.Mutex
	chat  []json.RawMessage
}

func joinForFiles(t *testing.T, url, room, name string) *fileClient {
	t.Helper()
	fc := &fileClient{}
	c, err := dial(t, url, sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.On("chat-message", func(args []json.RawMessage) {
		fc.mu.Lock()
		fc.chat = append(fc.chat, args[0])
		fc.mu.Unlock()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": room, "name": name})
	if err != nil {
		t.Fatal(err)
	}
	var ack struct {
		OK           bool
		ID           string
		ResumeToken  string
		FileMaxBytes int64
	}
	if err := json.Unmarshal(res[0], &ack); err != nil || !ack.OK || ack.FileMaxBytes != 1000 {
		t.Fatalf("join: %s", res[0])
	}
	fc.c, fc.id, fc.token = c, ack.ID, ack.ResumeToken
	return fc
}

func (fc *fileClient) ask(t *testing.T, event string, arg any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := fc.c.EmitWithAck(ctx, event, arg); err != nil {
		t.Fatalf("%s: %v", event, err)
	}
}

func fileRequest(t *testing.T, method, url, token string, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, bytes.NewReader(body))
	if body == nil {
		req.Body = nil
	}
	if token != "" {
		req.Header.Set(files.TokenHeader, token)
	}
	req.Header.Set(files.NameHeader, "r%C3%A9sum%C3%A9.pdf")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b, res.Header
}

// TestWholeServerFiles: A shares a file, B gets the chat message and the
// bytes; an outsider, a file too large and a removed participant are
// refused; when the meeting ends its files leave the disk and are 404.
func TestWholeServerFiles(t *testing.T) {
	dir := t.TempDir()
	r := startReal(t, testConfig(t, "--chat-files-dir", dir, "--chat-file-max-bytes", "1000"))
	a := joinForFiles(t, r.url(), "files-room", "Ann")
	b := joinForFiles(t, r.url(), "files-room", "Ben")
	outsider := joinForFiles(t, r.url(), "other-room", "Olga")

	data := []byte("%PDF-1.4 not really")
	status, body, _ := fileRequest(t, "POST", r.url()+"/files/files-room", a.token, data)
	if status != http.StatusCreated {
		t.Fatalf("upload: %d %s", status, body)
	}
	var up struct{ File files.File }
	_ = json.Unmarshal(body, &up)
	if up.File.Name != "résumé.pdf" || up.File.Size != int64(len(data)) {
		t.Errorf("uploaded %s", body)
	}
	eventually(t, "B got the file's chat message", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.chat) == 1
	})
	var msg struct {
		From string
		File files.File
	}
	_ = json.Unmarshal(b.chat[0], &msg)
	if msg.From != a.id || msg.File.ID != up.File.ID || msg.File.Name != "résumé.pdf" {
		t.Errorf("chat-message %s", b.chat[0])
	}

	if m := scrapeMetrics(t, r.Handler()); !strings.Contains(m, "huddle_chat_files 1\n") || !strings.Contains(m, fmt.Sprintf("huddle_chat_files_bytes %d\n", len(data))) {
		t.Errorf("metrics after one file: %s", grepLines(m, "huddle_chat_files"))
	}
	url := r.url() + "/files/files-room/" + up.File.ID
	status, got, h := fileRequest(t, "GET", url, b.token, nil)
	if status != 200 || !bytes.Equal(got, data) {
		t.Fatalf("B's download: %d %q", status, got)
	}
	if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" ||
		h.Get("Content-Disposition") != `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf` {
		t.Errorf("download headers %v", h)
	}
	if status, body, _ := fileRequest(t, "GET", url, outsider.token, nil); status != 403 {
		t.Errorf("another meeting's participant: %d %s", status, body)
	}
	if status, body, _ := fileRequest(t, "POST", r.url()+"/files/files-room", a.token, make([]byte, 1001)); status != 413 {
		t.Errorf("too large: %d %s", status, body)
	}

	// A (the host) removes B: B's token opens nothing any more.
	a.ask(t, "remove-participant", map[string]string{"id": b.id})
	if status, body, _ := fileRequest(t, "GET", url, b.token, nil); status != 403 {
		t.Errorf("removed participant: %d %s", status, body)
	}

	// The last one leaves: the meeting ends, its files go.
	a.ask(t, "leave-room", map[string]any{})
	eventually(t, "the meeting's files deleted", func() bool {
		roots, _ := filepath.Glob(filepath.Join(dir, "huddle-files-*", "files-room"))
		return len(roots) == 0
	})
	if m := scrapeMetrics(t, r.Handler()); !strings.Contains(m, "huddle_chat_files 0\n") || !strings.Contains(m, "huddle_chat_files_bytes 0\n") {
		t.Errorf("metrics after the meeting ended: %s", grepLines(m, "huddle_chat_files"))
	}
	if csp := h.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "sandbox") {
		t.Errorf("download CSP %q: want the files' sandbox, not the app's policy", csp)
	}
	// A meeting under the same name again: the old file is not there.
	again := joinForFiles(t, r.url(), "files-room", "Ann")
	if status, body, _ := fileRequest(t, "GET", url, again.token, nil); status != 404 {
		t.Errorf("after the meeting ended: %d %s", status, body)
	}
	if status, body, _ := fileRequest(t, "GET", url, a.token, nil); status != 403 && status != 404 {
		t.Errorf("old token after the meeting ended: %d %s", status, body)
	}
	roots, _ := filepath.Glob(filepath.Join(dir, "huddle-files-*"))
	if len(roots) != 1 {
		t.Fatalf("store folders %v", roots)
	}
	r.cancel()
	<-r.done
	r.done <- nil // for the cleanup
	if _, err := os.Stat(roots[0]); !os.IsNotExist(err) {
		t.Errorf("the store's folder outlived the server: %v", err)
	}
}

// TestWholeServerFilesSlowUpload: an upload may take longer than
// --request-timeout (a 25 MB file over a slow link); the files' own
// transfer timeout bounds it instead.
func TestWholeServerFilesSlowUpload(t *testing.T) {
	r := startReal(t, testConfig(t, "--chat-files-dir", t.TempDir(), "--chat-file-max-bytes", "1000", "--request-timeout", "1s"))
	a := joinForFiles(t, r.url(), "slow-room", "Ann")
	pr, pw := io.Pipe()
	go func() {
		for range 6 {
			pw.Write([]byte("0123456789"))
			time.Sleep(300 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", r.url()+"/files/slow-room", pr)
	req.ContentLength = 60
	req.Header.Set(files.TokenHeader, a.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("an upload of 1.8 s with --request-timeout 1s: %d %s", res.StatusCode, body)
	}
}
