package engineio

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"
)

// Errors of the WebSocket frame parser: each ends the connection with the
// close code closeCodeOf gives.
var (
	ErrFrameUnmasked  = errors.New("engineio: client frame not masked")
	ErrFrameReserved  = errors.New("engineio: frame with reserved bits or opcode")
	ErrFrameControl   = errors.New("engineio: control frame fragmented or over 125 bytes")
	ErrFrameSequence  = errors.New("engineio: continuation frame out of sequence")
	ErrFrameTooLarge  = errors.New("engineio: message larger than MaxPayload")
	ErrFrameUTF8      = errors.New("engineio: text message not valid UTF-8")
	ErrFrameCloseCode = errors.New("engineio: bad close frame payload")
)

// WebSocket close codes (RFC 6455, section 7.4.1).
const (
	closeNormal        = 1000
	closeProtocolError = 1002
	closeInvalidData   = 1007
	closeTooBig        = 1009
)

// closeCodeOf is the close code that reports err to the peer.
func closeCodeOf(err error) uint16 {
	switch err {
	case ErrFrameTooLarge:
		return closeTooBig
	case ErrFrameUTF8:
		return closeInvalidData
	}
	return closeProtocolError
}

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// frameKind is what a parsed frame means to the connection.
type frameKind uint8

const (
	kindNone   frameKind = iota // a fragment: the message is not whole yet
	kindText                    // a whole text message
	kindBinary                  // a whole binary message
	kindPing
	kindPong
	kindClose
)

// frameEvent is one parsed frame. data is the unmasked payload (a whole
// message for text and binary), owned by the receiver: it never aliases
// the input.
type frameEvent struct {
	kind frameKind
	data []byte
}

// frameParser reads the frames a client sends on one connection. Its zero
// value is ready; it holds memory only while a fragmented message is
// being received.
type frameParser struct {
	frag   []byte // the fragments so far of an unfinished message
	fragOp byte   // opcode of the unfinished message; 0 when there is none
}

// next parses the frame at the start of b. n is the number of bytes it
// took; when b does not yet hold a whole frame n is 0 and need is the
// frame's full length if the header says it (else 0). Errors are checked
// as soon as the header is in, so a frame that is too large is refused
// before its payload is buffered. max bounds a message's payload.
func (p *frameParser) next(b []byte, max int) (ev frameEvent, n, need int, err error) {
	if len(b) < 2 {
		return ev, 0, 0, nil
	}
	fin, rsv, op := b[0]&0x80 != 0, b[0]&0x70, b[0]&0x0f
	if rsv != 0 {
		return ev, 0, 0, ErrFrameReserved
	}
	if b[1]&0x80 == 0 {
		return ev, 0, 0, ErrFrameUnmasked
	}
	switch op {
	case opContinuation:
		if p.fragOp == 0 {
			return ev, 0, 0, ErrFrameSequence
		}
	case opText, opBinary:
		if p.fragOp != 0 {
			return ev, 0, 0, ErrFrameSequence
		}
	case opClose, opPing, opPong:
		if !fin || b[1]&0x7f > 125 {
			return ev, 0, 0, ErrFrameControl
		}
	default:
		return ev, 0, 0, ErrFrameReserved
	}
	hdr, length := 2, uint64(b[1]&0x7f)
	switch length {
	case 126:
		if len(b) < 4 {
			return ev, 0, 0, nil
		}
		hdr, length = 4, uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return ev, 0, 0, nil
		}
		hdr, length = 10, binary.BigEndian.Uint64(b[2:])
	}
	if length > uint64(max) || (op == opContinuation && uint64(len(p.frag))+length > uint64(max)) {
		return ev, 0, 0, ErrFrameTooLarge
	}
	hdr += 4 // the mask key
	total := hdr + int(length)
	if len(b) < total {
		if len(b) < hdr {
			return ev, 0, 0, nil
		}
		return ev, 0, total, nil
	}
	key := [4]byte(b[hdr-4 : hdr])
	payload := b[hdr:total]

	if op >= opClose {
		data := make([]byte, len(payload))
		unmask(data, payload, key)
		switch op {
		case opPing:
			return frameEvent{kindPing, data}, total, 0, nil
		case opPong:
			return frameEvent{kindPong, data}, total, 0, nil
		}
		if err := checkClosePayload(data); err != nil {
			return ev, 0, 0, err
		}
		return frameEvent{kindClose, data}, total, 0, nil
	}

	if op != opContinuation && fin {
		// The usual case: a whole message in one frame, one copy.
		data := make([]byte, len(payload))
		unmask(data, payload, key)
		return p.message(op, data, total)
	}
	if op != opContinuation {
		p.fragOp = op
	}
	start := len(p.frag)
	p.frag = append(p.frag, payload...)
	unmask(p.frag[start:], payload, key)
	if !fin {
		return frameEvent{}, total, 0, nil
	}
	data, op := p.frag, p.fragOp
	p.frag, p.fragOp = nil, 0
	return p.message(op, data, total)
}

func (p *frameParser) message(op byte, data []byte, n int) (frameEvent, int, int, error) {
	if op == opBinary {
		return frameEvent{kindBinary, data}, n, 0, nil
	}
	if !utf8.Valid(data) {
		return frameEvent{}, 0, 0, ErrFrameUTF8
	}
	return frameEvent{kindText, data}, n, 0, nil
}

// checkClosePayload checks a close frame's status code and reason.
func checkClosePayload(b []byte) error {
	switch {
	case len(b) == 0:
		return nil
	case len(b) == 1:
		return ErrFrameCloseCode
	}
	code := binary.BigEndian.Uint16(b)
	switch {
	case code < 1000, code >= 5000,
		code >= 1016 && code < 3000,
		code == 1004, code == 1005, code == 1006, code == 1015:
		return ErrFrameCloseCode
	}
	if !utf8.Valid(b[2:]) {
		return ErrFrameUTF8
	}
	return nil
}

// unmask writes src XOR the repeated mask key to dst (len(dst) ==
// len(src); they may be the same slice), eight bytes at a time.
func unmask(dst, src []byte, key [4]byte) {
	k := uint64(binary.LittleEndian.Uint32(key[:]))
	k |= k << 32
	i := 0
	for ; i+8 <= len(src); i += 8 {
		binary.LittleEndian.PutUint64(dst[i:], binary.LittleEndian.Uint64(src[i:])^k)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] ^ key[i&3]
	}
}

// appendControlFrame appends an unmasked server control frame.
func appendControlFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op, byte(len(payload)))
	return append(dst, payload...)
}

// closeFrame is a server close frame with code and no reason.
func closeFrame(code uint16) []byte {
	return []byte{0x80 | opClose, 2, byte(code >> 8), byte(code)}
}
