package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/admin"
)

const adminPassword = "admin-password-0123"

// adminPost is an action of the dashboard on the real server.
func adminPost(t *testing.T, r *realServer, path string, headers ...string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", r.url()+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// TestAdminOnTheRealServer: two participants of a real meeting appear in
// the dashboard's event stream; removing one and ending the meeting need
// a login and the page's own origin, and reach the participants.
func TestAdminOnTheRealServer(t *testing.T) {
	r := startReal(t, testConfig(t, "--admin-password", adminPassword, "--api-keys", apiKey))
	ada, bob := dialSock(t, r.url()), dialSock(t, r.url())
	if a := join(t, ada.c, map[string]string{"room": "standup", "name": "Ada"}); a.ID == "" {
		t.Fatalf("ada join: %+v", a)
	}
	bAck := join(t, bob.c, map[string]string{"room": "standup", "name": "Bob"})

	// The stream, with the API key.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", r.url()+"/admin/events", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	br := bufio.NewReader(res.Body)
	var snap admin.Snapshot
	for snap.Participants < 2 {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if err := json.Unmarshal([]byte(data), &snap); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(snap.Rooms) != 1 || snap.Rooms[0].ID != "standup" || snap.Rooms[0].Participants[0].Name != "Ada" ||
		snap.Rooms[0].Participants[1].Name != "Bob" || !snap.Rooms[0].Participants[0].Host || snap.Server.WebSocket+snap.Server.Polling < 2 {
		t.Fatalf("snapshot: %+v", snap)
	}

	// Refusals: no key, a wrong one.
	for _, h := range [][]string{nil, {"Authorization", "Bearer wrong-key-0123456789"}} {
		req, _ := http.NewRequest("GET", r.url()+"/admin/snapshot", nil)
		if h != nil {
			req.Header.Set(h[0], h[1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("snapshot with %v: %d", h, res.StatusCode)
		}
	}

	// Log in as a browser would.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login, _ := http.NewRequest("POST", r.url()+"/admin/login", strings.NewReader(url.Values{"password": {adminPassword}}.Encode()))
	login.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	login.Header.Set("Origin", r.url())
	lres, err := noRedirect.Do(login)
	if err != nil {
		t.Fatal(err)
	}
	lres.Body.Close()
	if lres.StatusCode != http.StatusSeeOther || len(lres.Cookies()) != 1 {
		t.Fatalf("login: %d", lres.StatusCode)
	}
	cookie := lres.Cookies()[0].Name + "=" + lres.Cookies()[0].Value

	remove := "/admin/rooms/standup/participants/" + bAck.ID + "/remove"
	if code := adminPost(t, r, remove, "Origin", r.url()); code != 401 {
		t.Errorf("remove without a login: %d", code)
	}
	if code := adminPost(t, r, remove, "Cookie", cookie, "Origin", "https://evil.example"); code != 403 {
		t.Errorf("remove from another site: %d", code)
	}
	if code := adminPost(t, r, remove, "Cookie", cookie, "Origin", r.url()); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	eventually(t, "bob told he was removed", func() bool { return bob.got("removed", `"code":"removed"`) })
	if code := adminPost(t, r, "/admin/rooms/standup/end", "Cookie", cookie, "Origin", r.url()); code != 204 {
		t.Fatalf("end: %d", code)
	}
	eventually(t, "ada told the meeting ended", func() bool { return ada.got("removed", `"code":"meeting-ended"`) })
	if code := adminPost(t, r, "/admin/rooms/standup/end", "Authorization", "Bearer "+apiKey); code != 404 {
		t.Errorf("ending a meeting that is gone: %d", code)
	}
	if strings.Contains(r.logs.String(), adminPassword) || strings.Contains(r.logs.String(), "wrong-key-0123456789") {
		t.Error("a secret is in the logs")
	}
	// The stream stays open until the server stops: its shutdown must not
	// wait for it (startReal's cleanup checks the shutdown's time).
	_, _ = io.CopyN(io.Discard, br, 1)
}

func TestAdminOffWithoutSecrets(t *testing.T) {
	r := startReal(t, testConfig(t))
	res, err := http.Get(r.url() + "/admin")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || !strings.Contains(string(b), "not configured") {
		t.Errorf("/admin without a password or keys: %d %s", res.StatusCode, b)
	}
}

// The stream ends at shutdown rather than holding it up to its timeout.
func TestAdminStreamEndsAtShutdown(t *testing.T) {
	r := startReal(t, testConfig(t, "--api-keys", apiKey, "--shutdown-timeout", "20s"))
	req, _ := http.NewRequest("GET", r.url()+"/admin/events", nil)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for startReal's cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown waited for the event stream")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s with a stream open", d)
	}
}
