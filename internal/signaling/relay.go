package signaling

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// relay forwards {to, field} as the same event {from, field}.
func (s *Service) relay(event, field string) handler {
	return s.relayAs(event, field, field)
}

// relayAs forwards {to, in} to the member `to` of the sender's room as
// event {from, out}. The payload is passed through untouched.
func (s *Service) relayAs(event, in, out string) handler {
	prefix := `{"from":`
	return func(ss *session, ev *socketio.Event) error {
		start := time.Now()
		to, body, err := relayArgs(ev.Args, in)
		if err != nil {
			return err
		}
		// Membership is checked under the same room lock as the delivery.
		r, p := ss.member()
		if r == nil {
			return rooms.ErrNotInRoom
		}
		// The packet is built in one buffer: {from, out} is the event's
		// one argument.
		buf := socketio.StartEvent(event, len(prefix)+len(p.ID)+len(out)+len(body)+8)
		buf = append(buf, prefix...)
		buf = appendID(buf, p.ID)
		buf = append(buf, ',', '"')
		buf = append(buf, out...)
		buf = append(buf, '"', ':')
		buf = append(buf, body...)
		buf = append(buf, '}')
		if err := r.DeliverFrom(p, to, socketio.FinishEvent(buf)); err != nil {
			return err
		}
		ack(ev, ackOK{OK: true})
		s.metrics.ObserveRelay(time.Since(start))
		return nil
	}
}

// appendID appends a participant id as a JSON string. Ids are plain
// ASCII, copied between quotes; anything else is quoted by strconv, which
// agrees with JSON on ASCII.
func appendID(dst []byte, id string) []byte {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return strconv.AppendQuote(dst, id)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, id...)
	return append(dst, '"')
}

// relayArgs is parseRelay with a fast path for the common payload: one
// pass over the object, which the socketio decoder has already checked is
// valid JSON, instead of encoding/json validating and decoding it again.
// Payloads that need encoding/json's finer rules (escaped or case-folded
// keys, an escaped "to") take parseRelay, so both agree on every input.
func relayArgs(args []json.RawMessage, field string) (to string, body json.RawMessage, err error) {
	if len(args) > 0 {
		if to, body, ok := relayFields(args[0], field); ok {
			if to == "" || len(to) > 64 || len(body) == 0 {
				return "", nil, ErrBadRequest
			}
			return to, body, nil
		}
	}
	return parseRelay(args, field)
}

// relayFields finds the top-level "to" string and field's value in obj,
// valid JSON. ok is false when parseRelay must decide.
func relayFields(obj []byte, field string) (to string, body []byte, ok bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return "", nil, false
	}
	var toRaw []byte
	for i = skipSpace(obj, i+1); i < len(obj) && obj[i] != '}'; i = skipSpace(obj, i) {
		if obj[i] == ',' {
			i = skipSpace(obj, i+1)
		}
		end := stringEnd(obj, i)
		key := obj[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return "", nil, false
		}
		i = skipSpace(obj, skipSpace(obj, end)+1) // past ':'
		vEnd := valueEnd(obj, i)
		switch k := string(key); {
		case k == "to":
			if toRaw != nil {
				return "", nil, false // a repeated key: encoding/json's rules
			}
			toRaw = obj[i:vEnd]
		case k == field:
			body = obj[i:vEnd]
		case strings.EqualFold(k, "to") || strings.EqualFold(k, field):
			return "", nil, false // encoding/json matches keys without case
		}
		i = vEnd
	}
	if toRaw == nil {
		return "", body, true
	}
	if toRaw[0] != '"' {
		return "", nil, true // not a string: refused as parseRelay does
	}
	if bytes.IndexByte(toRaw, '\\') >= 0 || !utf8.Valid(toRaw) {
		return "", nil, false // escapes and bad UTF-8: encoding/json's rules
	}
	return string(toRaw[1 : len(toRaw)-1]), body, true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the JSON string starting at b[i]. It
// jumps from quote to quote (bytes.IndexByte is vectorised: SDP strings
// are long); a quote after an odd run of backslashes is escaped.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		q := i + j
		k := q
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
	return len(b)
}

// valueEnd returns the index after the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	default:
		for i < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[i])) {
			i++
		}
		return i
	}
}
