package sioclient

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeEvent(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		args []string
	}{
		{`["a",1,{"x":[true]}]`, "a", []string{`1`, `{"x":[true]}`}},
		{`["ice-candidate"]`, "ice-candidate", nil},
		{` [ "q\"x" , null ] `, `q"x`, []string{`null`}},
		{`["\u00e9"]`, "é", nil},
	} {
		name, args, err := decodeEvent([]byte(tc.in))
		if err != nil || name != tc.name || len(args) != len(tc.args) {
			t.Fatalf("%s: got %q %q %v, want %q %q", tc.in, name, args, err, tc.name, tc.args)
		}
		for i := range args {
			if string(args[i]) != tc.args[i] {
				t.Errorf("%s: arg %d is %s, want %s", tc.in, i, args[i], tc.args[i])
			}
		}
	}
	for _, bad := range []string{``, `[]`, `[1]`, `["a",]`, `["a"`, `{"a":1}`, `["a"] x`, `["\x"]`} {
		if _, _, err := decodeEvent([]byte(bad)); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: err %v, want ErrProtocol", bad, err)
		}
	}
}

func TestEncodeRawEventMatchesEncodeEvent(t *testing.T) {
	args := []json.RawMessage{json.RawMessage(`{"to":"x","candidate":{"a":[1,2]}}`), json.RawMessage(`"é"`)}
	for _, event := range []string{"ice-candidate", `quo"te`} {
		raw, err := encodeRawEvent(event, args)
		if err != nil {
			t.Fatal(err)
		}
		want, err := encodeEvent(-1, event, []any{args[0], args[1]})
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != string(want) {
			t.Errorf("%q: encodeRawEvent %s, encodeEvent %s", event, raw, want)
		}
	}
}

// TestParseHandshakeMatchesEncodingJSON: the one-pass decoder and
// encoding/json agree, including where it hands over to encoding/json.
func TestParseHandshakeMatchesEncodingJSON(t *testing.T) {
	for _, in := range []string{
		`{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		`{"sid":"abc"}`, `{}`, `{"sid":"a\"b","pingInterval":1}`, `{"s\u0069d":"escaped key"}`,
		`{"sid":"x","sid":"last wins"}`, `{"pingInterval":-5}`, `{"x":{"sid":"nested"},"sid":"top"}`,
		// refused by both
		`{"sid":1}`, `{"pingInterval":2.5}`, `{"pingInterval":"1"}`, `{"sid":"a"`, `[]`, `x`, ``,
	} {
		var want handshake
		wantErr := json.Unmarshal([]byte(in), &want)
		got, err := parseHandshake([]byte(in))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, encoding/json %v", in, err, wantErr)
			continue
		}
		if err == nil && got != want {
			t.Errorf("%s: %+v, encoding/json %+v", in, got, want)
		}
	}
}
