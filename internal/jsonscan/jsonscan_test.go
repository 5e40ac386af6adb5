package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// checkAgreesWithEncodingJSON fails t when SplitArray and
// encoding/json disagree on b: accepted or not, and the elements.
func checkAgreesWithEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	got, ok := SplitArray(b, nil)
	var want []json.RawMessage
	wantOK := json.Valid(b) && json.Unmarshal(b, &want) == nil
	if ok != wantOK {
		t.Fatalf("%q: SplitArray ok=%v, encoding/json ok=%v", b, ok, wantOK)
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

// checkObjectAgreesWithEncodingJSON fails t when ObjectFields and
// encoding/json disagree on b: accepted or not, and the members.
func checkObjectAgreesWithEncodingJSON(t *testing.T, b []byte) {
	t.Helper()
	var keys []string
	var values []json.RawMessage
	ok := ObjectFields(b, func(k, v []byte) {
		keys = append(keys, string(k))
		values = append(values, v)
	})
	var want map[string]json.RawMessage
	wantOK := json.Valid(b) && json.Unmarshal(b, &want) == nil
	if ok != wantOK {
		t.Fatalf("%q: ObjectFields ok=%v, encoding/json ok=%v", b, ok, wantOK)
	}
	if !ok {
		return
	}
	got := map[string]json.RawMessage{}
	for i, k := range keys {
		var key string
		if err := json.Unmarshal([]byte(`"`+k+`"`), &key); err != nil {
			t.Fatalf("%q: key %q is not a JSON string body", b, k)
		}
		got[key] = values[i] // the last of a repeated key, as encoding/json
	}
	if len(got) != len(want) {
		t.Fatalf("%q: %d members, encoding/json %d", b, len(got), len(want))
	}
	for k, v := range want {
		if !bytes.Equal(got[k], v) {
			t.Fatalf("%q: member %q is %q, encoding/json %q", b, k, got[k], v)
		}
	}
}

func TestObjectFields(t *testing.T) {
	for _, s := range []string{
		`{}`, ` { } `, `{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`,
		`{"a":1,"a":2}`, `{"k\u0041y":"v","x":{"y":[1,{"z":null}]}}`, `{ "a" : true , "b" : "\"" }`,
		// refused
		``, `{`, `}`, `[]`, `"a"`, `{"a"}`, `{"a":}`, `{1:2}`, `{"a":1,}`, `{"a":1]`, `{"a":1}x`,
		`{"a":1}}`, `{"a":01}`, `{"a" 1}`, `{"a":1 "b":2}`, "{\"a\x01\":1}",
	} {
		checkObjectAgreesWithEncodingJSON(t, []byte(s))
	}
}

func FuzzObjectFields(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":[1,{"b":"c"}],"a":2}`, `{"a":1,}`, `{"\u0041":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkObjectAgreesWithEncodingJSON)
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
