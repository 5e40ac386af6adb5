package socketio

import (
	"bytes"
	"encoding/json"
	"testing"
)

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
