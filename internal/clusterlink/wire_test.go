package clusterlink

import (
	"testing"

	"github.com/huddlehq/huddle/engineio"
)

func TestPacketFrames(t *testing.T) {
	in := []engineio.Packet{
		{Type: engineio.Message, Data: []byte(`2["x",1]`)},
		{Type: engineio.Message, Data: []byte{0, 1, 2}, Binary: true},
		{Type: engineio.Message, Data: []byte{}},
	}
	conn, out, err := decodePackets(encodePackets("abc", in))
	if err != nil || conn != "abc" || len(out) != 3 {
		t.Fatalf("%q %v %v", conn, out, err)
	}
	for i := range in {
		if string(in[i].Data) != string(out[i].Data) || in[i].Binary != out[i].Binary {
			t.Fatalf("packet %d: %+v, want %+v", i, out[i], in[i])
		}
	}
	for _, bad := range [][]byte{nil, {5, 'a'}, {1, 'a', 2, 1, 'x'}, {1, 'a', 0, 9, 'x'}} {
		if _, _, err := decodePackets(bad); err == nil {
			t.Fatalf("%v decoded", bad)
		}
	}
}
