package socketio

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// checkAgreesWithEncodingJSON fails t when splitValidArray and
// encoding/json disagree on b: accepted or not, and the elements.
func checkAgreesWithEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	got, ok := splitValidArray(b, nil)
	var want []json.RawMessage
	wantOK := json.Valid(b) && json.Unmarshal(b, &want) == nil
	if ok != wantOK {
		t.Fatalf("%q: splitValidArray ok=%v, encoding/json ok=%v", b, ok, wantOK)
	}
	if !ok {
		return
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d elements, encoding/json %d", b, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("%q: element %d is %q, encoding/json %q", b, i, got[i], want[i])
		}
	}
}

func TestSplitValidArray(t *testing.T) {
	for _, s := range []string{
		`[]`, ` [ ] `, `["a"]`, `["a",1,-0.5e+3,true,false,null,{},[],{"a":[1,{"b":"c"}]}]`,
		`["\u00e9\n\"\\\/\b\f\r\t"]`, `[ "a" , { "k" : "v" , "l" : [ 1 , 2 ] } ]`,
		// refused
		``, `[`, `]`, `{}`, `"a"`, `["a",]`, `[,"a"]`, `["a" "b"]`, `["a"]x`, `["a"]]`,
		`[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `[+1]`, `[1.5e+]`, `[tru]`, `[nul]`, `[True]`,
		`["\x"]`, `["\u12g4"]`, `["\u12"]`, "[\"a\x01\"]", `["a]`, `[{"a"}]`, `[{"a":}]`,
		`[{1:2}]`, `[{"a":1,}]`, `[{"a":1]`, `[[1}]`, `[{]`, `[1 2]`, "[\v1]",
	} {
		checkAgreesWithEncodingJSON(t, []byte(s))
	}
}

func TestSplitValidArrayDepthLimit(t *testing.T) {
	for _, depth := range []int{9999, 10000, 10001, 20000} {
		deepArr := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		deepObj := "[" + strings.Repeat(`{"a":`, depth-1) + "1" + strings.Repeat("}", depth-1) + "]"
		checkAgreesWithEncodingJSON(t, []byte(deepArr))
		checkAgreesWithEncodingJSON(t, []byte(deepObj))
	}
}

func FuzzSplitValidArray(f *testing.F) {
	for _, s := range []string{
		`[]`, `["a",1,-0.5e+3,true,false,null,{},[],{"a":[1,{"b":"c"}]}]`, `["\u00e9\n"]`,
		`[01]`, `["a",]`, `[{"a":1,}]`, "[\"\xff\"]", `[[[[[[{"a":[]}]]]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgreesWithEncodingJSON(t, b)
	})
}

// relayEvent is a typical relayed event: an ICE candidate.
var relayEvent = []byte(`2["ice-candidate",{"to":"4hTq0cJxW2lVb9YkPz3aRg","candidate":{"candidate":"candidate:842163049 1 udp 1677729535 192.0.2.10 49152 typ srflx raddr 10.0.0.2 rport 49152 generation 0 ufrag EsAw network-cost 999","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":"EsAw"}}]`)

func BenchmarkDecodeEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(relayEvent)))
	for b.Loop() {
		if _, err := decodePacket(relayEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func TestStartEventAgreesWithEncodeEvent(t *testing.T) {
	arg := `{"from":"a","candidate":{"x":[1,2]}}`
	for _, name := range []string{"ice-candidate", "incomming:call", `quo"te`, `back\slash`, "tab\t", "é", "<&>"} {
		want, err := EncodeEvent(name, json.RawMessage(arg))
		if err != nil {
			t.Fatal(err)
		}
		got := FinishEvent(append(StartEvent(name, len(arg)), arg...))
		if !bytes.Equal(got.data, want.data) {
			t.Errorf("%q: StartEvent gives %q, EncodeEvent %q", name, got.data, want.data)
		}
		p, err := decodePacket(got.data)
		if err != nil || p.name != name || len(p.args) != 1 || string(p.args[0]) != arg {
			t.Errorf("%q: %q decodes to %q %q, %v", name, got.data, p.name, p.args, err)
		}
	}
}
