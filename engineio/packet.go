package engineio

import (
	"bytes"
	"encoding/base64"
	"errors"
)

// PacketType is the first character of an Engine.IO packet.
type PacketType byte

// The Engine.IO v4 packet types.
const (
	Open    PacketType = '0'
	Close   PacketType = '1'
	Ping    PacketType = '2'
	Pong    PacketType = '3'
	Message PacketType = '4'
	Upgrade PacketType = '5'
	Noop    PacketType = '6'
)

// recordSeparator joins packets in a polling payload.
const recordSeparator = 0x1e

// Errors of the packet codec.
var (
	ErrEmptyPacket  = errors.New("engineio: empty packet")
	ErrPacketType   = errors.New("engineio: unknown packet type")
	ErrBase64Packet = errors.New("engineio: bad base64 in binary packet")
)

// Packet is one Engine.IO packet. Binary packets are always messages.
type Packet struct {
	Type   PacketType
	Data   []byte
	Binary bool
}

func (t PacketType) valid() bool { return t >= Open && t <= Noop }

// DecodePacket decodes one text packet as sent in a WebSocket text frame or
// between separators of a polling payload (where a leading 'b' marks base64
// binary). Data aliases b except for base64 packets.
func DecodePacket(b []byte, polling bool) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, ErrEmptyPacket
	}
	if polling && b[0] == 'b' {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(b)-1))
		n, err := base64.StdEncoding.Decode(data, b[1:])
		if err != nil {
			return Packet{}, ErrBase64Packet
		}
		return Packet{Type: Message, Data: data[:n], Binary: true}, nil
	}
	t := PacketType(b[0])
	if !t.valid() {
		return Packet{}, ErrPacketType
	}
	return Packet{Type: t, Data: b[1:]}, nil
}

// DecodePayload splits a polling request body into packets.
func DecodePayload(body []byte) ([]Packet, error) {
	n := bytes.Count(body, []byte{recordSeparator}) + 1
	packets := make([]Packet, 0, n)
	for len(body) > 0 || n > 0 {
		n--
		var part []byte
		if i := bytes.IndexByte(body, recordSeparator); i >= 0 {
			part, body = body[:i], body[i+1:]
		} else {
			part, body = body, nil
			n = 0
		}
		p, err := DecodePacket(part, true)
		if err != nil {
			return nil, err
		}
		packets = append(packets, p)
	}
	return packets, nil
}

// AppendPacket appends the polling encoding of p to dst.
func AppendPacket(dst []byte, p Packet) []byte {
	if p.Binary {
		dst = append(dst, 'b')
		return base64.StdEncoding.AppendEncode(dst, p.Data)
	}
	dst = append(dst, byte(p.Type))
	return append(dst, p.Data...)
}

// EncodePayload joins packets for a polling response.
func EncodePayload(packets []Packet) []byte {
	size := 0
	for _, p := range packets {
		size += len(p.Data) + 2
		if p.Binary {
			size += len(p.Data)/3 + 4
		}
	}
	out := make([]byte, 0, size)
	for i, p := range packets {
		if i > 0 {
			out = append(out, recordSeparator)
		}
		out = AppendPacket(out, p)
	}
	return out
}
