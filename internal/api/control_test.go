package api

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// codedErr is a refusal with a code, as the meetings give them.
type codedErr struct{ code string }

func (e codedErr) Error() string                     { return e.code }
func (e codedErr) ErrorCode() (code, message string) { return e.code, "refused: " + e.code }

// fakeControl lowers hands and records in a pretend meeting "m" with
// members a and b, a's hand up.
type fakeControl struct {
	hands     []string
	recording bool
	asked     [][]string
}

func (f *fakeControl) LowerHands(room string, ids []string) ([]string, error) {
	f.asked = append(f.asked, ids)
	if room != "m" {
		return nil, codedErr{"not-found"}
	}
	for _, id := range ids {
		if id != "a" && id != "b" {
			return nil, codedErr{"unknown-peer"}
		}
	}
	var out []string
	for _, h := range f.hands {
		if len(ids) == 0 || slices.Contains(ids, h) {
			out = append(out, h)
		}
	}
	f.hands = slices.DeleteFunc(f.hands, func(h string) bool { return slices.Contains(out, h) })
	return append([]string{}, out...), nil
}

func (f *fakeControl) StartRecording(room string) error {
	switch {
	case room == "full":
		return codedErr{"recording-disk-full"}
	case room == "broken":
		return errors.New("the disk caught fire") // no code: a 500 that says nothing of it
	case room != "m":
		return codedErr{"not-found"}
	case f.recording:
		return codedErr{"recording-active"}
	}
	f.recording = true
	return nil
}

func (f *fakeControl) StopRecording(room string) error {
	if room != "m" {
		return codedErr{"not-found"}
	}
	if !f.recording {
		return codedErr{"recording-inactive"}
	}
	f.recording = false
	return nil
}

func (f *fakeControl) ListRecordings(room string) (any, error) {
	if room == "bad room" {
		return nil, codedErr{"invalid-room"}
	}
	return []map[string]string{{"id": "rec-1", "room": room}}, nil
}

func TestLowerHandsRoute(t *testing.T) {
	const k = "key-one-0123456789"
	f := &fakeControl{hands: []string{"a", "b"}}
	a := New(Config{Keys: []string{k}, Hands: f}, fakeRooms{})
	lowered := func(body string) []string {
		t.Helper()
		rec := do(t, a, "POST", "/api/v1/rooms/m/hands/lower", k, body)
		var out struct{ Lowered []string }
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.Lowered == nil {
			t.Fatalf("lower %q: %d %s", body, rec.Code, rec.Body)
		}
		return out.Lowered
	}
	if got := lowered(`{"participants":["b"]}`); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("lowered %v, want b", got)
	}
	for _, tc := range []struct{ path, body, code string }{
		{"/api/v1/rooms/m/hands/lower", `{"participants":["zed"]}`, "unknown-peer"},
		{"/api/v1/rooms/gone/hands/lower", ``, "not-found"},
		{"/api/v1/rooms/m/hands/lower", `{"participant":"a"}`, "bad-request"},
		{"/api/v1/rooms/m/hands/lower", `[1]`, "bad-request"},
	} {
		rec := do(t, a, "POST", tc.path, k, tc.body)
		if got := errorCode(t, rec); got != tc.code || rec.Code != statusOf[tc.code] {
			t.Errorf("%s %s: %d %s, want %s", tc.path, tc.body, rec.Code, rec.Body, tc.code)
		}
	}
	if got := lowered(``); !slices.Equal(got, []string{"a"}) { // no body: every hand
		t.Fatalf("lowered %v, want a", got)
	}
	if got := lowered(`{}`); len(got) != 0 {
		t.Fatalf("lowered %v with every hand down", got)
	}
	if rec := do(t, a, "POST", "/api/v1/rooms/m/hands/lower", "", ""); rec.Code != 401 {
		t.Fatalf("without a key: %d", rec.Code)
	}
	off := New(Config{Keys: []string{k}}, fakeRooms{})
	if rec := do(t, off, "POST", "/api/v1/rooms/m/hands/lower", k, ""); rec.Code != 501 || errorCode(t, rec) != "not-implemented" {
		t.Fatalf("without Hands: %d %s", rec.Code, rec.Body)
	}
}

func TestRecordingRoutes(t *testing.T) {
	const k = "key-one-0123456789"
	f := &fakeControl{}
	a := New(Config{Keys: []string{k}, Recordings: f}, fakeRooms{})
	rec := do(t, a, "POST", "/api/v1/rooms/m/recording", k, "")
	if rec.Code != 201 || rec.Header().Get("Location") != "/api/v1/rooms/m/recordings" || !f.recording {
		t.Fatalf("start: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	for _, tc := range []struct {
		method, path, code string
		status             int
	}{
		{"POST", "/api/v1/rooms/m/recording", "recording-active", 409},
		{"POST", "/api/v1/rooms/gone/recording", "not-found", 404},
		{"POST", "/api/v1/rooms/full/recording", "recording-disk-full", 507},
		{"POST", "/api/v1/rooms/broken/recording", "internal", 500},
		{"DELETE", "/api/v1/rooms/gone/recording", "not-found", 404},
		{"GET", "/api/v1/rooms/bad%20room/recordings", "invalid-room", 400},
		{"PUT", "/api/v1/rooms/m/recording", "method-not-allowed", 405},
	} {
		rec := do(t, a, tc.method, tc.path, k, "")
		if rec.Code != tc.status || errorCode(t, rec) != tc.code {
			t.Errorf("%s %s: %d %s, want %d %s", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.code)
		}
		if tc.code == "internal" && rec.Body.String() != "{\"error\":{\"code\":\"internal\",\"message\":\"internal error\"}}\n" {
			t.Errorf("a recorder's uncoded error leaked: %s", rec.Body)
		}
	}
	if rec := do(t, a, "DELETE", "/api/v1/rooms/m/recording", k, ""); rec.Code != 204 || f.recording {
		t.Fatalf("stop: %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, a, "DELETE", "/api/v1/rooms/m/recording", k, ""); rec.Code != 409 || errorCode(t, rec) != "recording-inactive" {
		t.Fatalf("stop twice: %d %s", rec.Code, rec.Body)
	}
	rec = do(t, a, "GET", "/api/v1/rooms/m/recordings", k, "")
	var list struct{ Recordings []struct{ ID string } }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &list) != nil || len(list.Recordings) != 1 || list.Recordings[0].ID != "rec-1" {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}

	off := New(Config{Keys: []string{k}}, fakeRooms{})
	for _, m := range []string{"POST /api/v1/rooms/m/recording", "DELETE /api/v1/rooms/m/recording", "GET /api/v1/rooms/m/recordings"} {
		method, path, _ := strings.Cut(m, " ")
		if rec := do(t, off, method, path, k, ""); rec.Code != 404 || errorCode(t, rec) != "recording-off" {
			t.Errorf("%s without Recordings: %d %s", m, rec.Code, rec.Body)
		}
	}
}
