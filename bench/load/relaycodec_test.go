package main

import (
	"encoding/json"
	"testing"
)

func TestAppendOutgoingMatchesEncodingJSON(t *testing.T) {
	for _, tc := range []struct {
		to            string
		pair          int
		seq, intended int64
	}{{"4hTq0cJxW2lVb9YkPz3aRg", 0, 1, 0}, {"x", 4999, 123456, 98765432101}} {
		got := appendOutgoing(nil, candidatePrefix(tc.to, tc.pair), tc.seq, tc.intended)
		want, _ := json.Marshal(outgoing{To: tc.to, Candidate: candidate{
			Candidate: candidateLine, SdpMid: "0", UsernameFragment: "EsAw",
			Pair: tc.pair, Seq: tc.seq, Intended: tc.intended,
		}})
		if string(got) != string(want) {
			t.Errorf("appendOutgoing:\n%s\nencoding/json:\n%s", got, want)
		}
	}
}

func TestSplitIncomingAndEcho(t *testing.T) {
	cand := `{"candidate":"c","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"u","p":3,"s":7,"t":9}`
	for _, obj := range []string{
		`{"from":"AbC-_1","candidate":` + cand + `}`, // as both servers write it
		`{"candidate":` + cand + `,"from":"AbC-_1"}`, // another order: encoding/json reads it
		`{ "from" : "AbC-_1", "candidate" : ` + cand + ` }`,
	} {
		from, c, ok := splitIncoming([]byte(obj))
		if !ok || from != "AbC-_1" || string(c) != cand {
			t.Fatalf("%s: got %q %s %v", obj, from, c, ok)
		}
		got := toPeer(from, "candidate", c)
		want, _ := json.Marshal(echo{To: from, Candidate: c})
		if string(got) != string(want) {
			t.Errorf("toPeer %s, encoding/json %s", got, want)
		}
		pair, seq, intended, ok := bookkeeping(c)
		if !ok || pair != 3 || seq != 7 || intended != 9 {
			t.Errorf("%s: bookkeeping %d %d %d %v", c, pair, seq, intended, ok)
		}
	}
	if _, _, ok := splitIncoming([]byte(`[1]`)); ok {
		t.Error("an array passed for an object")
	}
	for _, bad := range []string{`{"p":"x","s":1,"t":2}`, `{"candidate":"c","p":1,"s":2,"t":3`, `{"candidate":"c","p":1,"s":2,"t":3}x`} {
		if p, s, i, ok := bookkeeping([]byte(bad)); ok {
			t.Errorf("%s: read %d %d %d", bad, p, s, i)
		}
	}
}

// TestAckOKMatchesEncodingJSON: the one-pass ack check and encoding/json
// agree on whether a join was acknowledged.
func TestAckOKMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"ok":true,"id":"x","peers":[{"id":"y","name":"n"}]}`, `{"ok":false,"error":{"code":"room-full"}}`,
		`{"id":"x"}`, `{"ok":1}`, `{"ok":"true"}`, `{"ok":true,"ok":false}`, `{"ok":false,"ok":true}`,
		`{"OK":true}`, `{"\u006fk":true}`, `{"x":{"ok":true}}`, `{"ok":true`, `[true]`, `null`,
	} {
		var a struct {
			OK bool `json:"ok"`
		}
		want := json.Unmarshal([]byte(in), &a) == nil && a.OK
		if got := ackOK([]byte(in)); got != want {
			t.Errorf("%s: ackOK %v, encoding/json %v", in, got, want)
		}
	}
}
