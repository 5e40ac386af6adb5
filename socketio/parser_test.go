package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in          string
		typ         byte
		attachments int
		nsp         string
		id          int64
		name        string
		args        string // args joined by |
		err         error
	}{
		{in: "0", typ: '0', nsp: "/", id: -1},
		{in: `0{"token":"x"}`, typ: '0', nsp: "/", id: -1},
		{in: `0/admin,{"a":1}`, typ: '0', nsp: "/admin", id: -1},
		{in: "0/admin", typ: '0', nsp: "/admin", id: -1},
		{in: "1", typ: '1', nsp: "/", id: -1},
		{in: `2["hello",1,{"a":"é"}]`, typ: '2', nsp: "/", id: -1, name: "hello", args: `1|{"a":"é"}`},
		{in: `212["hello"]`, typ: '2', nsp: "/", id: 12, name: "hello"},
		{in: `2/chat,3["m","x"]`, typ: '2', nsp: "/chat", id: 3, name: "m", args: `"x"`},
		{in: `31[true,null]`, typ: '3', nsp: "/", id: 1, args: "true|null"},
		{in: `51-["up",{"_placeholder":true,"num":0}]`, typ: '5', attachments: 1, nsp: "/", id: -1, name: "up", args: `{"_placeholder":true,"num":0}`},
		{in: `62-7[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]`, typ: '6', attachments: 2, nsp: "/", id: 7, args: `{"_placeholder":true,"num":0}|{"_placeholder":true,"num":1}`},
		// Malformed.
		{in: "", err: ErrEmptyPacket},
		{in: "9", err: ErrPacketType},
		{in: "x[]", err: ErrPacketType},
		{in: `4{"message":"x"}`, err: ErrPacketType}, // CONNECT_ERROR from a client
		{in: `0"str"`, err: ErrPayload},
		{in: `0{bad`, err: ErrPayload},
		{in: `1[]`, err: ErrPayload},
		{in: `2`, err: ErrPayload},
		{in: `2["a",`, err: ErrPayload},
		{in: `2{"a":1}`, err: ErrPayload},
		{in: `2[]`, err: ErrEventName},
		{in: `2[1,2]`, err: ErrEventName},
		{in: `2[null]`, err: ErrEventName},
		{in: `2["disconnect"]`, err: ErrEventName},
		{in: `2["a\ud800"]`, err: nil, typ: '2', nsp: "/", id: -1, name: "a\ufffd"},
		{in: "2[\"a\xff\"]", err: ErrInvalidUTF8},
		{in: `3[]`, err: ErrPayload}, // ack without id
		{in: `31{}`, err: ErrPayload},
		{in: `2` + strings.Repeat("9", 17) + `["a"]`, err: ErrAckID},
		{in: `29007199254740993["a"]`, err: ErrAckID},
		{in: `5["a"]`, err: ErrAttachments},
		{in: `51["a"]`, err: ErrAttachments},
		{in: `517-["a"]`, err: ErrAttachments},
		{in: `599999999-["a"]`, err: ErrAttachments},
	}
	for _, tt := range tests {
		p, err := decodePacket([]byte(tt.in))
		if !errors.Is(err, tt.err) {
			t.Errorf("decodePacket(%q): error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if err != nil {
			continue
		}
		var args []string
		for _, a := range p.args {
			args = append(args, string(a))
		}
		if p.typ != tt.typ || p.attachments != tt.attachments || p.nsp != tt.nsp || p.id != tt.id ||
			p.name != tt.name || strings.Join(args, "|") != tt.args {
			t.Errorf("decodePacket(%q) = typ %c att %d nsp %q id %d name %q args %q", tt.in,
				p.typ, p.attachments, p.nsp, p.id, p.name, strings.Join(args, "|"))
		}
	}
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name        string
		p           func() (*Packet, error)
		want        string
		attachments int
	}{
		{"event", func() (*Packet, error) { return EncodeEvent("hi", 1, "é😀", map[string]int{"a": 1}) }, `2["hi",1,"é😀",{"a":1}]`, 0},
		{"no args", func() (*Packet, error) { return EncodeEvent("ping") }, `2["ping"]`, 0},
		{"nil arg", func() (*Packet, error) { return EncodeEvent("x", nil) }, `2["x",null]`, 0},
		{"raw args as they are", func() (*Packet, error) {
			return EncodeEvent("r", json.RawMessage(`{"a": [1, "é"]}`), json.RawMessage(nil), json.RawMessage(`7`))
		}, `2["r",{"a": [1, "é"]},null,7]`, 0},
		{"binary", func() (*Packet, error) { return EncodeEvent("bin", []byte{1}, "m", []byte{2, 3}) },
			`52-["bin",{"_placeholder":true,"num":0},"m",{"_placeholder":true,"num":1}]`, 2},
		{"ack", func() (*Packet, error) { return encode(typeAck, 5, nil, []any{true}, "") }, `35[true]`, 0},
		{"empty ack", func() (*Packet, error) { return encode(typeAck, 0, nil, nil, "") }, `30[]`, 0},
		{"binary ack", func() (*Packet, error) { return encode(typeAck, 9, nil, []any{[]byte{1}}, "") }, `61-9[{"_placeholder":true,"num":0}]`, 1},
		{"event with ack id", func() (*Packet, error) { name := "q"; return encode(typeEvent, 3, &name, []any{1}, "") }, `23["q",1]`, 0},
	}
	for _, tt := range tests {
		p, err := tt.p()
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(p.data) != tt.want || len(p.attachments) != tt.attachments {
			t.Errorf("%s: %s (%d attachments), want %s (%d)", tt.name, p.data, len(p.attachments), tt.want, tt.attachments)
		}
		// What we encode, we decode.
		if _, err := decodePacket(p.data); err != nil {
			t.Errorf("%s: encoded packet does not decode: %v", tt.name, err)
		}
	}
	if _, err := EncodeEvent("x", make(chan int)); err == nil {
		t.Error("unmarshallable arg gave no error")
	}
}

// FuzzDecodePacket checks that no input panics, and that a decoded event
// re-encodes to a packet that decodes to the same event.
func FuzzDecodePacket(f *testing.F) {
	for _, s := range []string{
		"0", `0{"token":"x"}`, "0/admin,", "1", `2["a",1]`, `2 [ "a" , {"b":[1,"]"]} , -1.5e3 , true ] `, `2["\u0061b",null]`, `212["a"]`, `31[1]`, `2/x,5["a"]`,
		`51-["a",{"_placeholder":true,"num":0}]`, `61-2[{}]`, `2[1]`, "5-", "5999-", "2[\"\xff\"]", `2`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := decodePacket(b)
		if err != nil || p.typ != typeEvent {
			return
		}
		// The light splitter agrees with encoding/json.
		var want []json.RawMessage
		if err := json.Unmarshal(p.data, &want); err != nil {
			t.Fatalf("%q decoded but encoding/json refuses it: %v", b, err)
		}
		var name string
		if err := json.Unmarshal(want[0], &name); err != nil || name != p.name || len(want) != len(p.args)+1 {
			t.Fatalf("%q: name %q args %d, encoding/json: %q %d", b, p.name, len(p.args), name, len(want)-1)
		}
		for i, a := range p.args {
			if !bytes.Equal(a, want[i+1]) {
				t.Fatalf("%q: arg %d is %q, encoding/json: %q", b, i, a, want[i+1])
			}
		}
		args := make([]any, len(p.args))
		for i, a := range p.args {
			args[i] = a
		}
		enc, err := encode(typeEvent, p.id, &p.name, args, "")
		if err != nil {
			t.Fatalf("re-encode of %q: %v", b, err)
		}
		q, err := decodePacket(enc.data)
		if err != nil || q.name != p.name || q.id != p.id || len(q.args) != len(p.args) {
			t.Fatalf("%q -> %q -> %+v, %v", b, enc.data, q, err)
		}
	})
}
