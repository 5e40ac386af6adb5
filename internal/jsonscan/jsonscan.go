// Package jsonscan checks and splits JSON arrays and objects in one pass,
// with encoding/json's grammar and limits. The server uses it on every
// event it receives and the Go test client on every event it reads: a
// message is scanned once, not validated by encoding/json and then split
// again.
package jsonscan

import "encoding/json"

// maxJSONDepth is encoding/json's nesting limit; deeper input is refused,
// as json.Valid refuses it.
const maxJSONDepth = 10000

// SplitArray checks that arr is one JSON array, with json.Valid's grammar
// and limits, and appends its elements to out as slices of arr.
func SplitArray(arr []byte, out []json.RawMessage) ([]json.RawMessage, bool) {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return out, false
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return out, skipSpace(arr, i+1) == len(arr)
	}
	for {
		end, ok := scanValue(arr, i, 1)
		if !ok {
			return out, false
		}
		out = append(out, json.RawMessage(arr[i:end:end]))
		i = skipSpace(arr, end)
		if i >= len(arr) {
			return out, false
		}
		switch arr[i] {
		case ',':
			i = skipSpace(arr, i+1)
		case ']':
			return out, skipSpace(arr, i+1) == len(arr)
		default:
			return out, false
		}
	}
}

// ObjectFields checks that obj is one JSON object, with json.Valid's
// grammar and limits, and calls fn with each of its members in order: the
// key as written between its quotes (escapes not decoded) and the value as
// a slice of obj. fn is called before the whole object is checked; only a
// true result says that it was valid.
func ObjectFields(obj []byte, fn func(key, value []byte)) bool {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return false
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return skipSpace(obj, i+1) == len(obj)
	}
	for {
		keyEnd, v, ok := scanKey(obj, i)
		if !ok {
			return false
		}
		end, ok := scanValue(obj, v, 1)
		if !ok {
			return false
		}
		fn(obj[i+1:keyEnd-1], obj[v:end:end])
		i = skipSpace(obj, end)
		if i >= len(obj) {
			return false
		}
		switch obj[i] {
		case ',':
			i = skipSpace(obj, i+1)
		case '}':
			return skipSpace(obj, i+1) == len(obj)
		default:
			return false
		}
	}
}

// scanValue returns the index after the JSON value that starts at b[i]
// (no space before it), checking it, at depth containers deep already.
// Containers are walked with a stack of one bit per level (set: object),
// not by recursion, so deep input costs no stack.
func scanValue(b []byte, i, depth int) (end int, ok bool) {
	var small [4]uint64
	stack := small[:]
	level := 0 // open containers of this value
	for {
		// A value starts at b[i].
		if i >= len(b) {
			return 0, false
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth+level+1 > maxJSONDepth {
				return 0, false
			}
			if level/64 == len(stack) {
				stack = append(stack, 0)
			}
			bit := uint64(1) << (level % 64)
			if c == '{' {
				stack[level/64] |= bit
			} else {
				stack[level/64] &^= bit
			}
			level++
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' and ']' are 2 after '{' and '['
				level--
				i++
				break
			}
			if c == '{' {
				if _, i, ok = scanKey(b, i); !ok {
					return 0, false
				}
			}
			continue
		case '"':
			if i, ok = scanString(b, i); !ok {
				return 0, false
			}
		case 't':
			if i, ok = scanLiteral(b, i, "true"); !ok {
				return 0, false
			}
		case 'f':
			if i, ok = scanLiteral(b, i, "false"); !ok {
				return 0, false
			}
		case 'n':
			if i, ok = scanLiteral(b, i, "null"); !ok {
				return 0, false
			}
		default:
			if i, ok = scanNumber(b, i); !ok {
				return 0, false
			}
		}
		// After a value: close containers or go on to the next element.
		for {
			if level == 0 {
				return i, true
			}
			object := stack[(level-1)/64]&(uint64(1)<<((level-1)%64)) != 0
			i = skipSpace(b, i)
			if i >= len(b) {
				return 0, false
			}
			if c := b[i]; c == '}' && object || c == ']' && !object {
				level--
				i++
				continue
			}
			if b[i] != ',' {
				return 0, false
			}
			i = skipSpace(b, i+1)
			if object {
				if _, i, ok = scanKey(b, i); !ok {
					return 0, false
				}
			}
			break
		}
	}
}

// scanKey scans `"key" :` and the space after it, up to the value. It
// returns the index after the key's closing quote and that of the value.
func scanKey(b []byte, i int) (keyEnd, value int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	keyEnd, ok = scanString(b, i)
	if !ok {
		return 0, 0, false
	}
	i = skipSpace(b, keyEnd)
	if i >= len(b) || b[i] != ':' {
		return 0, 0, false
	}
	return keyEnd, skipSpace(b, i+1), true
}

// scanString returns the index after the string starting at b[i] ('"').
func scanString(b []byte, i int) (int, bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return 0, false
		case c == '\\':
			i++
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return 0, false
					}
				}
				i += 4
			default:
				return 0, false
			}
		}
	}
	return 0, false
}

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func scanLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// scanNumber returns the index after the number starting at b[i]:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return 0, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
