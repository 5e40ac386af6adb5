package engineio

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// clientFrame encodes a masked client frame; lenBytes forces the 16- or
// 64-bit length form (0: the shortest).
func clientFrame(fin bool, op byte, payload []byte, key [4]byte, lenBytes int) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	n := len(payload)
	switch {
	case lenBytes == 8 || (lenBytes == 0 && n > 0xFFFF):
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	case lenBytes == 2 || (lenBytes == 0 && n >= 126):
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|byte(n))
	}
	b = append(b, key[:]...)
	masked := make([]byte, n)
	for i := range payload {
		masked[i] = payload[i] ^ key[i%4]
	}
	return append(b, masked...)
}

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// parseAll feeds b to a parser in chunks of size chunk (0: all at once)
// the way a connection does, and returns the events and the first error.
func parseAll(b []byte, chunk, max int) ([]frameEvent, error) {
	var p frameParser
	var pending, events []frameEvent
	var buf []byte
	for len(b) > 0 {
		step := len(b)
		if chunk > 0 && chunk < step {
			step = chunk
		}
		buf = append(buf, b[:step]...)
		b = b[step:]
		for {
			ev, n, need, err := p.next(buf, max)
			if err != nil {
				return append(events, pending...), err
			}
			if n == 0 {
				if need != 0 && need <= len(buf) {
					return events, fmt.Errorf("need %d with %d bytes buffered", need, len(buf))
				}
				break
			}
			buf = buf[n:]
			if ev.kind != kindNone {
				events = append(events, ev)
			}
		}
	}
	if len(buf) > 0 {
		return events, fmt.Errorf("%d bytes left over", len(buf))
	}
	return events, nil
}

func TestFrameParser(t *testing.T) {
	big := bytes.Repeat([]byte("é"), 40000) // 80,000 bytes: 64-bit length
	cat := func(frames ...[]byte) []byte { return bytes.Join(frames, nil) }
	tests := []struct {
		name  string
		in    []byte
		max   int
		want  []frameEvent
		err   error
		close uint16
	}{
		{"text", clientFrame(true, opText, []byte("4hello"), testKey, 0), 100,
			[]frameEvent{{kindText, []byte("4hello")}}, nil, 0},
		{"empty binary", clientFrame(true, opBinary, nil, testKey, 0), 100,
			[]frameEvent{{kindBinary, []byte{}}}, nil, 0},
		{"16-bit length", clientFrame(true, opBinary, bytes.Repeat([]byte{7}, 300), testKey, 0), 1000,
			[]frameEvent{{kindBinary, bytes.Repeat([]byte{7}, 300)}}, nil, 0},
		{"16-bit length form for a short payload", clientFrame(true, opText, []byte("4a"), testKey, 2), 100,
			[]frameEvent{{kindText, []byte("4a")}}, nil, 0},
		{"64-bit length", clientFrame(true, opText, big, testKey, 0), 100000,
			[]frameEvent{{kindText, big}}, nil, 0},
		{"fragmented text with a stray continuation byte",
			cat(clientFrame(false, opText, []byte("4hé"), testKey, 0),
				clientFrame(false, opContinuation, []byte{0xb1}, testKey, 0),
				clientFrame(true, opContinuation, []byte("lo"), testKey, 0)), 100,
			nil, ErrFrameUTF8, closeInvalidData},
		{"fragmented text", cat(clientFrame(false, opText, []byte("4h\xc3"), testKey, 0),
			clientFrame(true, opPing, []byte("p"), testKey, 0),
			clientFrame(false, opContinuation, []byte("\xa9l"), testKey, 0),
			clientFrame(true, opContinuation, []byte("lo"), testKey, 0)), 100,
			[]frameEvent{{kindPing, []byte("p")}, {kindText, []byte("4héllo")}}, nil, 0},
		{"fragmented binary", cat(clientFrame(false, opBinary, []byte{1}, testKey, 0),
			clientFrame(true, opContinuation, []byte{2, 3}, testKey, 0)), 100,
			[]frameEvent{{kindBinary, []byte{1, 2, 3}}}, nil, 0},
		{"pong and close", cat(clientFrame(true, opPong, []byte("x"), testKey, 0),
			clientFrame(true, opClose, []byte{0x03, 0xe8, 'o', 'k'}, testKey, 0)), 100,
			[]frameEvent{{kindPong, []byte("x")}, {kindClose, []byte{0x03, 0xe8, 'o', 'k'}}}, nil, 0},
		{"empty close", clientFrame(true, opClose, nil, testKey, 0), 100,
			[]frameEvent{{kindClose, []byte{}}}, nil, 0},
		{"unmasked", []byte{0x81, 0x02, '4', 'a'}, 100, nil, ErrFrameUnmasked, closeProtocolError},
		{"rsv1", func() []byte { b := clientFrame(true, opText, []byte("4"), testKey, 0); b[0] |= 0x40; return b }(), 100,
			nil, ErrFrameReserved, closeProtocolError},
		{"reserved opcode", clientFrame(true, 0x3, []byte("4"), testKey, 0), 100, nil, ErrFrameReserved, closeProtocolError},
		{"reserved control opcode", clientFrame(true, 0xB, nil, testKey, 0), 100, nil, ErrFrameReserved, closeProtocolError},
		{"fragmented ping", clientFrame(false, opPing, nil, testKey, 0), 100, nil, ErrFrameControl, closeProtocolError},
		{"long ping", clientFrame(true, opPing, make([]byte, 126), testKey, 0), 1000, nil, ErrFrameControl, closeProtocolError},
		{"continuation first", clientFrame(true, opContinuation, []byte("x"), testKey, 0), 100, nil, ErrFrameSequence, closeProtocolError},
		{"new message inside a fragmented one", cat(clientFrame(false, opText, []byte("4"), testKey, 0),
			clientFrame(true, opText, []byte("4"), testKey, 0)), 100, nil, ErrFrameSequence, closeProtocolError},
		{"bad UTF-8", clientFrame(true, opText, []byte("4\xff"), testKey, 0), 100, nil, ErrFrameUTF8, closeInvalidData},
		{"too large", clientFrame(true, opText, make([]byte, 101), testKey, 0), 100, nil, ErrFrameTooLarge, closeTooBig},
		{"exactly max", clientFrame(true, opBinary, make([]byte, 100), testKey, 0), 100,
			[]frameEvent{{kindBinary, make([]byte, 100)}}, nil, 0},
		{"fragments too large together", cat(clientFrame(false, opBinary, make([]byte, 60), testKey, 0),
			clientFrame(true, opContinuation, make([]byte, 41), testKey, 0)), 100, nil, ErrFrameTooLarge, closeTooBig},
		{"64-bit length with the top bit", []byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}, 100,
			nil, ErrFrameTooLarge, closeTooBig},
		{"close with a one-byte payload", clientFrame(true, opClose, []byte{3}, testKey, 0), 100, nil, ErrFrameCloseCode, closeProtocolError},
		{"close with code 1005", clientFrame(true, opClose, []byte{0x03, 0xed}, testKey, 0), 100, nil, ErrFrameCloseCode, closeProtocolError},
		{"close with a bad reason", clientFrame(true, opClose, []byte{0x03, 0xe8, 0xff}, testKey, 0), 100, nil, ErrFrameUTF8, closeInvalidData},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 1, 3, 7} {
			t.Run(fmt.Sprintf("%s/chunk=%d", tt.name, chunk), func(t *testing.T) {
				got, err := parseAll(tt.in, chunk, tt.max)
				if err != tt.err {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if err != nil {
					if c := closeCodeOf(err); c != tt.close {
						t.Fatalf("close code %d, want %d", c, tt.close)
					}
					return
				}
				if len(got) != len(tt.want) {
					t.Fatalf("%d events, want %d", len(got), len(tt.want))
				}
				for i := range got {
					if got[i].kind != tt.want[i].kind || !bytes.Equal(got[i].data, tt.want[i].data) {
						t.Fatalf("event %d: kind %d %q, want kind %d %q", i, got[i].kind,
							trim(got[i].data), tt.want[i].kind, trim(tt.want[i].data))
					}
				}
			})
		}
	}
}

func trim(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

// TestFrameParserTooLargeEarly: a frame over the limit is refused from its
// header alone, before the payload is there to be buffered.
func TestFrameParserTooLargeEarly(t *testing.T) {
	var p frameParser
	hdr := clientFrame(true, opBinary, make([]byte, 70000), testKey, 0)[:14]
	if _, _, _, err := p.next(hdr, 65536); err != ErrFrameTooLarge {
		t.Fatalf("error %v, want ErrFrameTooLarge", err)
	}
	_, n, need, err := p.next(hdr, 1<<20)
	if n != 0 || need != 14+70000 || err != nil {
		t.Fatalf("n %d need %d err %v", n, need, err)
	}
}

// TestFrameParserDoesNotAlias: delivered data never aliases the input,
// which the connection reuses.
func TestFrameParserDoesNotAlias(t *testing.T) {
	in := clientFrame(true, opText, []byte("4abc"), testKey, 0)
	var p frameParser
	ev, _, _, err := p.next(in, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		in[i] = 0
	}
	if string(ev.data) != "4abc" {
		t.Fatalf("data changed with the input: %q", ev.data)
	}
}

func TestUnmask(t *testing.T) {
	for n := range 40 {
		src := make([]byte, n)
		for i := range src {
			src[i] = byte(i * 7)
		}
		dst := make([]byte, n)
		unmask(dst, src, testKey)
		for i := range src {
			if dst[i] != src[i]^testKey[i%4] {
				t.Fatalf("n=%d: byte %d is %x", n, i, dst[i])
			}
		}
	}
}

// FuzzFrameParser: whatever the input, the parser neither panics nor
// depends on how the bytes are split, text is valid UTF-8, and messages
// stay within the limit. The second input is a message that must round
// trip through a frame, possibly fragmented.
func FuzzFrameParser(f *testing.F) {
	f.Add(clientFrame(true, opText, []byte("4hello"), testKey, 0), []byte("4x"), uint8(1))
	f.Add(bytes.Join([][]byte{clientFrame(false, opText, []byte("4h"), testKey, 0),
		clientFrame(true, opPing, nil, testKey, 0), clientFrame(true, opContinuation, []byte("i"), testKey, 0)}, nil),
		[]byte("héllo"), uint8(3))
	f.Add(clientFrame(true, opBinary, make([]byte, 300), testKey, 0), []byte{0, 1, 2}, uint8(2))
	f.Add([]byte{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4}, []byte(strings.Repeat("z", 200)), uint8(0))
	f.Add(clientFrame(true, opClose, []byte{0x03, 0xe8}, testKey, 0), []byte{}, uint8(5))
	const max = 1 << 12
	f.Fuzz(func(t *testing.T, in, message []byte, parts uint8) {
		whole, errWhole := parseAll(in, 0, max)
		bytewise, errBytes := parseAll(in, 1, max)
		if fmt.Sprint(errWhole) != fmt.Sprint(errBytes) && !(isNeedErr(errWhole) || isNeedErr(errBytes)) {
			t.Fatalf("errors differ with the split: %v / %v", errWhole, errBytes)
		}
		if isNeedErr(errWhole) || isNeedErr(errBytes) {
			t.Fatalf("parser asked for bytes it had: %v %v", errWhole, errBytes)
		}
		if len(whole) != len(bytewise) {
			t.Fatalf("%d events whole, %d byte by byte", len(whole), len(bytewise))
		}
		for i := range whole {
			if whole[i].kind != bytewise[i].kind || !bytes.Equal(whole[i].data, bytewise[i].data) {
				t.Fatalf("event %d differs with the split", i)
			}
			if whole[i].kind == kindText && !utf8.Valid(whole[i].data) {
				t.Fatalf("invalid UTF-8 delivered as text")
			}
			if len(whole[i].data) > max {
				t.Fatalf("%d-byte message over the %d limit", len(whole[i].data), max)
			}
		}

		// Round trip: message split into up to parts+1 fragments.
		if len(message) > max {
			return
		}
		var enc []byte
		k := int(parts%8) + 1
		step := (len(message) + k - 1) / k
		op := byte(opBinary)
		if step == 0 {
			enc = clientFrame(true, op, message, testKey, 0)
		}
		for i := 0; i < len(message); i += step {
			end := min(i+step, len(message))
			fop := op
			if i > 0 {
				fop = opContinuation
			}
			enc = append(enc, clientFrame(end == len(message), fop, message[i:end], testKey, 0)...)
		}
		got, err := parseAll(enc, int(parts), max)
		if err != nil || len(got) != 1 || got[0].kind != kindBinary || !bytes.Equal(got[0].data, message) {
			t.Fatalf("round trip of %d bytes in %d parts: %v, %d events", len(message), k, err, len(got))
		}
	})
}

func isNeedErr(err error) bool {
	return err != nil && strings.Contains(err.Error(), "need ")
}
