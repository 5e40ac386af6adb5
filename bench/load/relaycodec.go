package main

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// The relay benchmark's own messages are encoded and decoded by hand, with
// encoding/json as the fallback for anything unexpected: with reflection,
// the generator spent more CPU on JSON than the server did on the whole
// relay, and in a closed loop it, not the server, set the pace.

// candidatePrefix is what a pair's candidate holds before its
// bookkeeping: every field but "s" and "t", as json.Marshal writes them.
func candidatePrefix(to string, pair int) []byte {
	b, _ := json.Marshal(outgoing{To: to, Candidate: candidate{
		Candidate: candidateLine, SdpMid: "0", UsernameFragment: "EsAw", Pair: pair,
	}})
	// Cut before `"s":0,"t":0}}` and keep the `"s":`.
	cut := bytes.LastIndex(b, []byte(`"s":`))
	return b[:cut+len(`"s":`)]
}

// appendOutgoing appends the event argument A sends: prefix (from
// candidatePrefix) completed with the sequence number and intended time.
func appendOutgoing(dst, prefix []byte, seq, intended int64) []byte {
	dst = append(dst, prefix...)
	dst = strconv.AppendInt(dst, seq, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, intended, 10)
	return append(dst, "}}"...)
}

// splitIncoming reads a relayed event's argument, {"from":ID,"candidate":C},
// valid JSON already (the client checked the packet).
func splitIncoming(obj []byte) (from string, cand json.RawMessage, ok bool) {
	const head, mid = `{"from":"`, `","candidate":`
	if bytes.HasPrefix(obj, []byte(head)) && obj[len(obj)-1] == '}' {
		rest := obj[len(head) : len(obj)-1]
		q := bytes.IndexByte(rest, '"')
		if q > 0 && bytes.IndexByte(rest[:q], '\\') < 0 && bytes.HasPrefix(rest[q:], []byte(mid)) {
			if c := rest[q+len(mid):]; len(c) > 0 && c[0] == '{' && c[len(c)-1] == '}' {
				return string(rest[:q]), c, true
			}
		}
	}
	var in incoming
	if json.Unmarshal(obj, &in) != nil {
		return "", nil, false
	}
	return in.From, in.Candidate, true
}

// toPeer is the argument {"to":id,field:value} of a relayed event: B's
// echo of a candidate, and the setup's offer, answer and candidates.
func toPeer(id, field string, value json.RawMessage) json.RawMessage {
	b := make([]byte, 0, len(id)+len(field)+len(value)+16)
	b = append(b, `{"to":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"`...)
	b = append(b, field...)
	b = append(b, `":`...)
	b = append(b, value...)
	return append(b, '}')
}

// appendJSONString appends s quoted: socket ids need no escapes, anything
// else goes through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return append(dst, mustJSON(s)...)
		}
	}
	return append(append(append(dst, '"'), s...), '"')
}

// bookkeeping reads the pair, sequence number and intended time at the end
// of a candidate A sent.
func bookkeeping(cand []byte) (pair int, seq, intended int64, ok bool) {
	if i := bytes.LastIndex(cand, []byte(`,"p":`)); i >= 0 {
		rest := cand[i+len(`,"p":`):]
		var p, s, t int64
		var good bool
		if p, rest, good = intField(rest, `,"s":`); good {
			if s, rest, good = intField(rest, `,"t":`); good {
				if t, rest, good = intField(rest, `}`); good && len(rest) == 0 {
					return int(p), s, t, true
				}
			}
		}
	}
	var c candidate
	if json.Unmarshal(cand, &c) != nil {
		return 0, 0, 0, false
	}
	return c.Pair, c.Seq, c.Intended, true
}

// intField parses the decimal integer at the start of b, which must be
// followed by sep, and returns what follows sep.
func intField(b []byte, sep string) (int64, []byte, bool) {
	i := bytes.Index(b, []byte(sep))
	if i <= 0 {
		return 0, nil, false
	}
	v, err := strconv.ParseInt(string(b[:i]), 10, 64)
	return v, b[i+len(sep):], err == nil
}
