package signaling

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzRelayArgsAgreesWithParseRelay checks the relay's one-pass fast path
// against encoding/json (parseRelay) on every valid JSON object: both must
// accept the same payloads and find the same `to` and body.
func FuzzRelayArgsAgreesWithParseRelay(f *testing.F) {
	for _, seed := range []string{
		`{"to":"abc","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`,
		`{"to":"abc","offer":{"type":"offer","sdp":"v=0\r\n"}}`,
		` { "offer" : [1, {"a":"}"}] , "to" : "x" } `,
		`{"to":"a","to":"b","offer":1}`, `{"TO":"a","offer":1}`, `{"to":"\u0061","offer":1}`,
		`{"t\u006f":"a","offer":1}`, `{"to":5,"offer":1}`, `{"to":"a","offer":null}`, `{"to":"a"}`,
		`{"to":"","offer":{}}`, `[]`, `"x"`, `{}`,
	} {
		f.Add([]byte(seed), "offer")
		f.Add([]byte(seed), "candidate")
	}
	f.Fuzz(func(t *testing.T, data []byte, field string) {
		if !json.Valid(data) {
			return // the socketio decoder refuses invalid JSON before any handler
		}
		args := []json.RawMessage{data}
		to1, body1, err1 := relayArgs(args, field)
		to2, body2, err2 := parseRelay(args, field)
		if (err1 == nil) != (err2 == nil) || to1 != to2 || !bytes.Equal(body1, body2) {
			t.Fatalf("%q field %q: fast (%q, %q, %v) vs encoding/json (%q, %q, %v)", data, field, to1, body1, err1, to2, body2, err2)
		}
	})
}
