package sioclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/huddlehq/huddle/internal/jsonscan"
)

// Engine.IO v4 packet types, the first character of every packet.
const (
	engineOpen    = '0'
	engineClose   = '1'
	enginePing    = '2'
	enginePong    = '3'
	engineMessage = '4'
	engineNoop    = '6'
)

// Socket.IO v5 packet types, the character after engineMessage.
const (
	packetConnect      = '0'
	packetDisconnect   = '1'
	packetEvent        = '2'
	packetAck          = '3'
	packetConnectError = '4'
	packetBinaryEvent  = '5'
	packetBinaryAck    = '6'
)

// packet is a decoded Socket.IO packet of the main namespace.
type packet struct {
	typ   byte
	ackID int64 // -1 when absent
	data  []byte
}

// decodePacket parses a Socket.IO packet (the engine message without its
// leading '4').
func decodePacket(b []byte) (packet, error) {
	p := packet{ackID: -1}
	if len(b) == 0 {
		return p, fmt.Errorf("%w: empty packet", ErrProtocol)
	}
	p.typ = b[0]
	b = b[1:]
	if p.typ == packetBinaryEvent || p.typ == packetBinaryAck {
		return p, ErrBinaryUnsupported
	}
	if len(b) > 0 && b[0] == '/' {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			return p, fmt.Errorf("%w: namespace without comma", ErrProtocol)
		}
		if ns := string(b[:i]); ns != "/" {
			return p, fmt.Errorf("%w: packet for namespace %q", ErrProtocol, ns)
		}
		b = b[i+1:]
	}
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	if i > 0 {
		id, err := strconv.ParseInt(string(b[:i]), 10, 64)
		if err != nil {
			return p, fmt.Errorf("%w: ack id: %v", ErrProtocol, err)
		}
		p.ackID = id
	}
	p.data = b[i:]
	return p, nil
}

// decodeEvent splits an event payload ["name", args...].
func decodeEvent(data []byte) (string, []json.RawMessage, error) {
	arr, ok := jsonscan.SplitArray(data, make([]json.RawMessage, 0, 4))
	if !ok || len(arr) == 0 {
		return "", nil, fmt.Errorf("%w: event payload %.64q", ErrProtocol, data)
	}
	if raw := arr[0]; len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), arr[1:], nil // no escapes: the JSON string is the name
	}
	var name string
	if err := json.Unmarshal(arr[0], &name); err != nil {
		return "", nil, fmt.Errorf("%w: event name %.64q", ErrProtocol, arr[0])
	}
	return name, arr[1:], nil
}

// encodeEvent builds the engine message 42[id]["event",args...].
func encodeEvent(ackID int64, event string, args []any) ([]byte, error) {
	raw := make([]json.RawMessage, len(args))
	for i, a := range args {
		if _, ok := a.([]byte); ok {
			return nil, ErrBinaryUnsupported
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("sioclient: argument of %q: %w", event, err)
		}
		raw[i] = b
	}
	return appendEvent(ackID, event, raw)
}

// encodeRawEvent builds the engine message 42["event",args...] from args
// that are JSON already.
func encodeRawEvent(event string, args []json.RawMessage) ([]byte, error) {
	return appendEvent(-1, event, args)
}

func appendEvent(ackID int64, event string, args []json.RawMessage) ([]byte, error) {
	name, err := json.Marshal(event)
	if err != nil {
		return nil, err
	}
	n := len(name) + 24
	for _, a := range args {
		n += len(a) + 1
	}
	buf := append(make([]byte, 0, n), "42"...)
	if ackID >= 0 {
		buf = strconv.AppendInt(buf, ackID, 10)
	}
	buf = append(append(buf, '['), name...)
	for _, a := range args {
		buf = append(append(buf, ','), a...)
	}
	return append(buf, ']'), nil
}

// encodeConnect builds the engine message 40[auth].
func encodeConnect(auth any) ([]byte, error) {
	if auth == nil {
		return []byte("40"), nil
	}
	b, err := json.Marshal(auth)
	if err != nil {
		return nil, fmt.Errorf("sioclient: auth: %w", err)
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("%w: auth must be a JSON object", ErrBadOptions)
	}
	return append([]byte("40"), b...), nil
}

// handshake is the Engine.IO open packet's payload.
type handshake struct {
	SID          string `json:"sid"`
	PingInterval int    `json:"pingInterval"` // milliseconds
	PingTimeout  int    `json:"pingTimeout"`  // milliseconds
	MaxPayload   int    `json:"maxPayload"`
}

// parseHandshake decodes an open packet's payload, or a CONNECT's
// ({"sid":...}, the other fields zero). It scans it once with jsonscan and
// leaves to encoding/json only what has escapes or is not a plain integer:
// a load generator reads thousands of these a second.
func parseHandshake(data []byte) (handshake, error) {
	var hs handshake
	plain := true
	valid := jsonscan.ObjectFields(data, func(k, v []byte) {
		switch string(k) {
		case "sid":
			plain = plainString(v, &hs.SID) && plain
		case "pingInterval":
			plain = plainInt(v, &hs.PingInterval) && plain
		case "pingTimeout":
			plain = plainInt(v, &hs.PingTimeout) && plain
		case "maxPayload":
			plain = plainInt(v, &hs.MaxPayload) && plain
		default:
			plain = bytes.IndexByte(k, '\\') < 0 && plain // an escaped key may be one of these
		}
	})
	if !valid {
		return handshake{}, fmt.Errorf("%w: handshake %.64q", ErrProtocol, data)
	}
	if !plain {
		hs = handshake{}
		if err := json.Unmarshal(data, &hs); err != nil {
			return handshake{}, fmt.Errorf("%w: handshake %.64q: %v", ErrProtocol, data, err)
		}
	}
	return hs, nil
}

// plainString sets dst to v, a JSON string without escapes.
func plainString(v []byte, dst *string) bool {
	if len(v) < 2 || v[0] != '"' || bytes.IndexByte(v, '\\') >= 0 {
		return false
	}
	*dst = string(v[1 : len(v)-1])
	return true
}

// plainInt sets dst to v, a JSON integer.
func plainInt(v []byte, dst *int) bool {
	n, err := strconv.Atoi(string(v))
	if err != nil {
		return false
	}
	*dst = n
	return true
}
