package signaling

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/huddlehq/huddle/internal/rooms"
)

// fakeStreamer records what signaling asks of the streamer, and tells the
// service of status changes as internal/live does, through svc.
type fakeStreamer struct {
	mu     sync.Mutex
	calls  []string
	status map[string]StreamStatus
	fail   error
	svc    *Service
}

func (f *fakeStreamer) Start(room, by, url, key string) (StreamStatus, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "start "+room+" "+by+" "+url)
	if f.fail != nil {
		f.mu.Unlock()
		return StreamStatus{}, f.fail
	}
	st := StreamStatus{State: "starting", Target: url + "/****"}
	f.status[room] = st
	f.mu.Unlock()
	f.svc.StreamStatusChanged(room, st)
	return st, nil
}

func (f *fakeStreamer) Stop(room string) error {
	f.mu.Lock()
	f.calls = append(f.calls, "stop "+room)
	_, ok := f.status[room]
	delete(f.status, room)
	f.mu.Unlock()
	if !ok {
		return &rooms.Error{Code: "stream-inactive", Message: "the meeting is not being streamed"}
	}
	f.svc.StreamStatusChanged(room, StreamStatus{State: "stopped", Reason: "stopped"})
	return nil
}

func (f *fakeStreamer) Status(room string) (StreamStatus, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[room]
	return st, ok
}

func (f *fakeStreamer) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func statusOf(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

const streamKey = "sk-secret-4242"

// The host starts and stops the stream; everyone hears each status, never
// the key or the target; a late joiner hears the current one; a guest may
// not start or stop; bad payloads and the streamer's refusals are answered
// with their codes.
func TestStreamHostOnly(t *testing.T) {
	fs := &fakeStreamer{status: map[string]StreamStatus{}}
	ts := newTestServer(t, Config{Streamer: fs})
	fs.svc = ts.svc
	host, guest := ts.dial(), ts.dial()
	host.join("r1", "Host", "")
	guest.join("r1", "Guest", "")
	start := map[string]any{"url": "rtmp://example.com/live", "key": streamKey}

	for _, ev := range []string{"stream-start", "stream-stop"} {
		if r := guest.ask(ev, start); r.OK || r.Error.Code != "not-host" {
			t.Errorf("guest %s: %s, want not-host", ev, r.raw)
		}
	}
	if n := fs.callCount(); n != 0 {
		t.Fatalf("a guest's events reached the streamer %d times", n)
	}
	for _, bad := range []struct {
		arg  any
		code string
	}{
		{map[string]any{}, "bad-request"},
		{map[string]any{"url": 5}, "bad-request"},
		{"rtmp://example.com/live", "bad-request"},
		{map[string]any{"url": "rtmp://x/" + strings.Repeat("a", 600)}, "too-large"},
		{map[string]any{"url": "rtmp://x/live", "key": strings.Repeat("k", 300)}, "too-large"},
	} {
		if r := host.ask("stream-start", bad.arg); r.OK || r.Error.Code != bad.code {
			t.Errorf("stream-start %v: %s, want %s", bad.arg, r.raw, bad.code)
		}
	}
	if n := fs.callCount(); n != 0 {
		t.Fatalf("bad payloads reached the streamer %d times", n)
	}

	r := host.ask("stream-start", start)
	if !r.OK {
		t.Fatalf("host start: %s", r.raw)
	}
	if st := statusOf(t, r.raw)["status"].(map[string]any); st["state"] != "starting" || st["target"] != "rtmp://example.com/live/****" {
		t.Errorf("start ack %s", r.raw)
	}
	for _, c := range []*testClient{host, guest} {
		m := statusOf(t, c.waitFor("stream-status", 1)[0])
		if m["state"] != "starting" || m["target"] != nil {
			t.Errorf("stream-status %v", m)
		}
	}
	late := ts.dial()
	late.join("r1", "Late", "")
	if m := statusOf(t, late.waitFor("stream-status", 1)[0]); m["state"] != "starting" {
		t.Errorf("late joiner told %v", m)
	}
	// A status change from the streamer reaches everyone.
	ts.svc.StreamStatusChanged("r1", StreamStatus{State: "reconnecting", Reason: "Connection refused", Target: "x"})
	if m := statusOf(t, guest.waitFor("stream-status", 2)[1]); m["state"] != "reconnecting" || m["reason"] != "Connection refused" || m["target"] != nil {
		t.Errorf("reconnecting told as %v", m)
	}
	if r := host.ask("stream-stop", map[string]any{}); !r.OK {
		t.Fatalf("host stop: %s", r.raw)
	}
	if m := statusOf(t, guest.waitFor("stream-status", 3)[2]); m["state"] != "stopped" {
		t.Errorf("stop told as %v", m)
	}
	if r := host.ask("stream-stop", map[string]any{}); r.OK || r.Error.Code != "stream-inactive" {
		t.Errorf("second stop: %s", r.raw)
	}
	fs.mu.Lock()
	fs.fail = errors.New("live: the stream URL must be rtmp:// or rtmps://")
	fs.mu.Unlock()
	if r := host.ask("stream-start", start); r.OK || r.Error.Code != "stream-failed" || !strings.Contains(r.Error.Message, "rtmp://") {
		t.Errorf("a refused start: %s", r.raw)
	}
	for _, c := range []*testClient{host, guest, late} {
		for _, raw := range c.received("stream-status") {
			if strings.Contains(string(raw), streamKey) {
				t.Errorf("a status shows the key: %s", raw)
			}
		}
	}
	if strings.Contains(ts.logs.String(), streamKey) {
		t.Error("the logs show the key")
	}
}

// Without a streamer the events are refused as stream-off.
func TestStreamOff(t *testing.T) {
	ts := newTestServer(t, Config{})
	host := ts.dial()
	host.join("r1", "Host", "")
	if r := host.ask("stream-start", map[string]any{"url": "rtmp://x/live"}); r.OK || r.Error.Code != "stream-off" {
		t.Errorf("start without a streamer: %s", r.raw)
	}
}
