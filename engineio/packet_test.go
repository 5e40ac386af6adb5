package engineio

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecodePacket(t *testing.T) {
	tests := []struct {
		in      string
		polling bool
		want    Packet
		err     error
	}{
		{"4hello", false, Packet{Type: Message, Data: []byte("hello")}, nil},
		{"2", false, Packet{Type: Ping, Data: []byte{}}, nil},
		{"2probe", false, Packet{Type: Ping, Data: []byte("probe")}, nil},
		{"6", true, Packet{Type: Noop, Data: []byte{}}, nil},
		{"bAQID", true, Packet{Type: Message, Data: []byte{1, 2, 3}, Binary: true}, nil},
		{"bAQID", false, Packet{}, ErrPacketType}, // no base64 over WebSocket
		{"b!!!", true, Packet{}, ErrBase64Packet},
		{"", false, Packet{}, ErrEmptyPacket},
		{"7", false, Packet{}, ErrPacketType},
		{"x", true, Packet{}, ErrPacketType},
	}
	for _, tt := range tests {
		got, err := DecodePacket([]byte(tt.in), tt.polling)
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodePacket(%q) error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if err == nil && (got.Type != tt.want.Type || got.Binary != tt.want.Binary || !bytes.Equal(got.Data, tt.want.Data)) {
			t.Errorf("DecodePacket(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestDecodePayload(t *testing.T) {
	tests := []struct {
		in   string
		want []Packet
		err  error
	}{
		{"4a", []Packet{{Type: Message, Data: []byte("a")}}, nil},
		{"4a\x1e4b\x1e3", []Packet{{Type: Message, Data: []byte("a")}, {Type: Message, Data: []byte("b")}, {Type: Pong}}, nil},
		{"4é😀\x1ebAAE=", []Packet{{Type: Message, Data: []byte("é😀")}, {Type: Message, Data: []byte{0, 1}, Binary: true}}, nil},
		{"", nil, ErrEmptyPacket},
		{"4a\x1e", nil, ErrEmptyPacket},
		{"\x1e4a", nil, ErrEmptyPacket},
		{"4a\x1e9", nil, ErrPacketType},
		{"4a\x1eb%%", nil, ErrBase64Packet},
	}
	for _, tt := range tests {
		got, err := DecodePayload([]byte(tt.in))
		if !errors.Is(err, tt.err) {
			t.Errorf("DecodePayload(%q) error %v, want %v", tt.in, err, tt.err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("DecodePayload(%q) = %d packets, want %d", tt.in, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if got[i].Type != tt.want[i].Type || got[i].Binary != tt.want[i].Binary || !bytes.Equal(got[i].Data, tt.want[i].Data) {
				t.Errorf("DecodePayload(%q)[%d] = %+v, want %+v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestEncodePayload(t *testing.T) {
	tests := []struct {
		in   []Packet
		want string
	}{
		{[]Packet{{Type: Noop}}, "6"},
		{[]Packet{{Type: Message, Data: []byte("a")}, {Type: Ping}}, "4a\x1e2"},
		{[]Packet{{Type: Message, Data: []byte{1, 2, 3}, Binary: true}, {Type: Close}}, "bAQID\x1e1"},
	}
	for _, tt := range tests {
		if got := string(EncodePayload(tt.in)); got != tt.want {
			t.Errorf("EncodePayload(%+v) = %q, want %q", tt.in, got, tt.want)
		}
		// And back.
		back, err := DecodePayload([]byte(tt.want))
		if err != nil || len(back) != len(tt.in) {
			t.Errorf("round trip of %q: %v, %d packets", tt.want, err, len(back))
		}
	}
}

// FuzzDecodePayload checks that no input panics and that what decodes
// encodes back to a payload that decodes to the same packets.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range []string{"4hello", "4a\x1e4b", "bAQID", "2probe", "", "\x1e", "b", "4\x1eb====", "6\x1e6\x1e3", "1"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		packets, err := DecodePayload(body)
		if err != nil {
			return
		}
		again, err := DecodePayload(EncodePayload(packets))
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if len(again) != len(packets) {
			t.Fatalf("%d packets became %d", len(packets), len(again))
		}
		for i := range again {
			if again[i].Type != packets[i].Type || !bytes.Equal(again[i].Data, packets[i].Data) {
				t.Fatalf("packet %d changed: %+v -> %+v", i, packets[i], again[i])
			}
		}
	})
}
