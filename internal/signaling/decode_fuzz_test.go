package signaling

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzDecoders feeds one JSON argument to every event payload decoder. None
// may panic, and whatever a decoder accepts must satisfy the protocol's
// rules. The seed corpus runs in `make test`; `make fuzz` runs it longer.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		`"abc-defg-hij"`, `{"room":"r","name":"Ada","password":"p","resume":"id.tok","state":{"audio":false}}`,
		`{"email":"a@b.c","room":"r"}`, `{"to":"x","offer":{"type":"offer","sdp":"v=0"}}`,
		`{"to":"x","candidate":null}`, `{"text":"<img src=x onerror=alert(1)>"}`, `{"text":"   "}`,
		`{"audio":true,"screen":"yes"}`, `{"locked":true,"password":""}`, `{"id":"abc"}`,
		`[[[[[[[[[[]]]]]]]]]]`, `1e999999`, `"\ud800"`, `{"room":"\u0000"}`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args := []json.RawMessage{data}
		if req, err := parseJoin(args, 64); err == nil {
			if !validRoom(req.Room) || req.Name == "" || utf8.RuneCountInString(req.Name) > 64 {
				t.Fatalf("parseJoin accepted %q -> %+v", data, req)
			}
		}
		if req, err := parseLobbyJoin(args, 64); err == nil {
			if !validRoom(req.Room) || req.Name == "" {
				t.Fatalf("parseLobbyJoin accepted %q -> %+v", data, req)
			}
		}
		for _, field := range []string{"offer", "answer", "candidate", "ans"} {
			if to, body, err := parseRelay(args, field); err == nil {
				if to == "" || !json.Valid(body) {
					t.Fatalf("parseRelay accepted %q -> %q %q", data, to, body)
				}
			}
		}
		if text, err := parseChat(args, 2000); err == nil {
			if !utf8.ValidString(text) || utf8.RuneCountInString(text) > 2000 {
				t.Fatalf("parseChat accepted %q", data)
			}
		}
		_, _ = parseMediaState(args)
		_, _ = parseSettings(args)
		if url, key, err := parseStreamStart(args); err == nil && (len(url) > maxStreamURL || len(key) > maxStreamKey) {
			t.Fatalf("parseStreamStart accepted %q -> %d, %d bytes", data, len(url), len(key))
		}
		if id, err := decodeID(args); err == nil && (id == "" || len(id) > 64) {
			t.Fatalf("decodeID accepted %q", data)
		}
	})
}
