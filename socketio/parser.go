package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"

	"github.com/huddlehq/huddle/internal/jsonscan"
)

// Socket.IO v5 packet types.
const (
	typeConnect      = '0'
	typeDisconnect   = '1'
	typeEvent        = '2'
	typeAck          = '3'
	typeConnectError = '4'
	typeBinaryEvent  = '5'
	typeBinaryAck    = '6'
)

// maxAttachments bounds the binary attachments of one packet, so a header
// cannot make the server wait for (and buffer) an unbounded number.
const maxAttachments = 16

// maxAckID is the largest id a JavaScript number holds exactly.
const maxAckID = 1<<53 - 1

// Errors of the packet decoder. Any of them closes the client's connection.
var (
	ErrEmptyPacket    = errors.New("socketio: empty packet")
	ErrPacketType     = errors.New("socketio: unknown packet type")
	ErrAttachments    = errors.New("socketio: bad attachment count")
	ErrAckID          = errors.New("socketio: bad ack id")
	ErrPayload        = errors.New("socketio: invalid payload")
	ErrEventName      = errors.New("socketio: event name must be a non-reserved string")
	ErrInvalidUTF8    = errors.New("socketio: packet is not valid UTF-8")
	ErrUnexpectedData = errors.New("socketio: binary data without a binary packet")
	ErrTooMuchData    = errors.New("socketio: attachments exceed the payload limit")
	ErrSocketClosed   = errors.New("socketio: socket is disconnected")
)

// reserved event names cannot be emitted by clients (as in socket.io-parser).
var reserved = map[string]bool{
	"connect": true, "connect_error": true, "disconnect": true,
	"disconnecting": true, "newListener": true, "removeListener": true,
}

// packet is a decoded Socket.IO packet.
type packet struct {
	typ         byte
	attachments int
	nsp         string
	id          int64 // -1 when absent
	data        []byte
	name        string            // events only
	args        []json.RawMessage // events (after the name) and acks
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decodePacket parses `<type>[<attachments>-][<nsp>,][<ackId>][JSON]`.
func decodePacket(b []byte) (packet, error) {
	p := packet{nsp: "/", id: -1}
	if len(b) == 0 {
		return p, ErrEmptyPacket
	}
	if !utf8.Valid(b) {
		return p, ErrInvalidUTF8
	}
	p.typ = b[0]
	if p.typ < typeConnect || p.typ > typeBinaryAck {
		return p, ErrPacketType
	}
	i := 1
	if p.typ == typeBinaryEvent || p.typ == typeBinaryAck {
		start := i
		for i < len(b) && isDigit(b[i]) && i-start < 4 {
			i++
		}
		if i == start || i >= len(b) || b[i] != '-' {
			return p, ErrAttachments
		}
		n, _ := strconv.Atoi(string(b[start:i]))
		if n > maxAttachments {
			return p, ErrAttachments
		}
		p.attachments = n
		i++
	}
	if i < len(b) && b[i] == '/' {
		end := bytes.IndexByte(b[i:], ',')
		if end < 0 {
			p.nsp, i = string(b[i:]), len(b)
		} else {
			p.nsp, i = string(b[i:i+end]), i+end+1
		}
	}
	if start := i; i < len(b) && isDigit(b[i]) {
		for i < len(b) && isDigit(b[i]) {
			i++
		}
		if i-start > 16 {
			return p, ErrAckID
		}
		id, err := strconv.ParseInt(string(b[start:i]), 10, 64)
		if err != nil || id > maxAckID {
			return p, ErrAckID
		}
		p.id = id
	}
	p.data = b[i:]
	return p, p.validate()
}

func (p *packet) validate() error {
	data := bytes.TrimSpace(p.data)
	switch p.typ {
	case typeConnect:
		if len(data) == 0 {
			p.data = nil
			return nil
		}
		if data[0] != '{' || !json.Valid(data) {
			return ErrPayload
		}
	case typeDisconnect:
		if len(data) != 0 {
			return ErrPayload
		}
	case typeEvent, typeBinaryEvent:
		var ok bool
		// Room for the name and a few args: one allocation usually.
		if p.args, ok = jsonscan.SplitArray(data, make([]json.RawMessage, 0, 4)); !ok {
			return ErrPayload
		}
		if len(p.args) == 0 || len(p.args[0]) == 0 || p.args[0][0] != '"' {
			return ErrEventName
		}
		if name := p.args[0][1 : len(p.args[0])-1]; bytes.IndexByte(name, '\\') < 0 {
			p.name = string(name) // no escape: the JSON string is the name
		} else {
			var unquoted string // a local: p stays off the heap
			if err := json.Unmarshal(p.args[0], &unquoted); err != nil {
				return ErrEventName
			}
			p.name = unquoted
		}
		if reserved[p.name] {
			return ErrEventName
		}
		p.args = p.args[1:]
	case typeAck, typeBinaryAck:
		if p.id < 0 {
			return ErrPayload
		}
		var ok bool
		if p.args, ok = jsonscan.SplitArray(data, nil); !ok {
			return ErrPayload
		}
	default: // CONNECT_ERROR only goes from server to client
		return ErrPacketType
	}
	return nil
}

// appendJSONString appends s as a JSON string: as it is between quotes
// when that is valid (event names usually are), else quoted by
// encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			b, _ := json.Marshal(s) // a string always marshals
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// placeholder marks where attachment num goes in a binary packet.
type placeholder struct {
	Placeholder bool `json:"_placeholder"`
	Num         int  `json:"num"`
}

// appendArgs appends the JSON array [name?, args...] to dst, replacing each
// []byte arg by a placeholder and returning it as an attachment. A
// json.RawMessage arg must be valid JSON: it is copied without a check.
func appendArgs(dst []byte, name *string, args []any) ([]byte, [][]byte, error) {
	var attachments [][]byte
	dst = append(dst, '[')
	if name != nil {
		dst = appendJSONString(dst, *name)
	}
	for i, a := range args {
		if i > 0 || name != nil {
			dst = append(dst, ',')
		}
		if raw, ok := a.(json.RawMessage); ok && len(raw) > 0 {
			// Appended as is, not re-validated: RawMessage args come from
			// this program (an event's checked args, or JSON it built).
			dst = append(dst, raw...)
			continue
		}
		if bin, ok := a.([]byte); ok {
			dst = append(dst, `{"_placeholder":true,"num":`...)
			dst = strconv.AppendInt(dst, int64(len(attachments)), 10)
			dst = append(dst, '}')
			attachments = append(attachments, bin)
			continue
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, nil, err
		}
		dst = append(dst, b...)
	}
	return append(dst, ']'), attachments, nil
}

// encode builds a packet of type plain (or its binary twin when an arg is
// []byte) with an optional ack id (id < 0: none), in the namespace nsp
// ("" for "/").
func encode(plain byte, id int64, name *string, args []any, nsp string) (*Packet, error) {
	body, attachments, err := appendArgs(make([]byte, 0, 64), name, args)
	if err != nil {
		return nil, err
	}
	head := make([]byte, 0, len(body)+len(nsp)+24)
	if len(attachments) == 0 {
		head = append(head, plain)
	} else {
		head = append(head, plain+3) // EVENT->BINARY_EVENT, ACK->BINARY_ACK
		head = strconv.AppendInt(head, int64(len(attachments)), 10)
		head = append(head, '-')
	}
	head = appendNamespace(head, nsp)
	if id >= 0 {
		head = strconv.AppendInt(head, id, 10)
	}
	return &Packet{data: append(head, body...), attachments: attachments}, nil
}

// appendNamespace appends the namespace part of a packet's head: nothing
// for "/" (nsp ""), else the name and a comma.
func appendNamespace(dst []byte, nsp string) []byte {
	if nsp == "" {
		return dst
	}
	dst = append(dst, nsp...)
	return append(dst, ',')
}

// inNamespace returns a copy of data, a packet of no namespace, in nsp
// ("" for "/": data itself). The namespace goes after the type and, in a
// binary packet, the attachment count.
func inNamespace(data []byte, nsp string) []byte {
	if nsp == "" || len(data) == 0 {
		return data
	}
	i := 1
	if data[0] == typeBinaryEvent || data[0] == typeBinaryAck {
		if j := bytes.IndexByte(data, '-'); j > 0 {
			i = j + 1
		}
	}
	out := make([]byte, 0, len(data)+len(nsp)+1)
	out = append(out, data[:i]...)
	out = appendNamespace(out, nsp)
	return append(out, data[i:]...)
}
