package signaling

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// validRoom reports whether id is 1-64 of A-Z a-z 0-9 - _.
func validRoom(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// cleanName trims a display name and checks it: 1..max runes of letters,
// marks, numbers, punctuation, symbols and spaces, at least one of them
// visible. Control and format characters are refused, not stripped: a
// bidi override (U+202E) turns "Ada" + "txt.exe" around, zero-width and tag
// characters make two different names look the same, and a name of only
// invisible characters is no name; the person typing it should know.
func cleanName(name string, max int) (string, bool) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > max {
		return "", false
	}
	visible := false
	for _, r := range name {
		switch {
		case invisibleGraphic(r):
			return "", false
		case unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S):
			visible = true
		case unicode.Is(unicode.M, r) || unicode.Is(unicode.Zs, r):
			// Marks combine with what precedes them; spaces separate.
		default:
			// Cc, Cf (bidi controls, zero-width, BOM, tags), Co, Cs, Cn,
			// line and paragraph separators.
			return "", false
		}
	}
	if !visible {
		return "", false
	}
	return name, true
}

// invisibleGraphic reports letters and symbols that draw nothing: the
// Hangul fillers and the blank Braille pattern, favourites for blank names.
func invisibleGraphic(r rune) bool {
	switch r {
	case '\u115F', '\u1160', '\u3164', '\uFFA0', '\u2800':
		return true
	}
	return false
}

// cleanChat removes from chat text what a terminal or a renderer would
// obey rather than show: control characters but newline and tab (ESC, BEL,
// NUL, CR) and format characters (bidi controls, zero-width, BOM, tags) —
// except the zero-width joiner inside an emoji sequence, which the family
// and profession emoji need. Line and paragraph separators become newlines.
func cleanChat(text string) string {
	if !needsCleaning(text) {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	var prev rune
	for i, r := range text {
		switch {
		case r == '\n' || r == '\t':
		case r == '\u2028' || r == '\u2029':
			r = '\n'
		case r == '\u200D':
			next, size := utf8.DecodeRuneInString(text[i+len("\u200D"):])
			if !emojiPart(prev) || size == 0 || !unicode.Is(unicode.So, next) {
				continue
			}
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// needsCleaning is the fast path of cleanChat: most messages have nothing
// to remove.
func needsCleaning(text string) bool {
	for _, r := range text {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || r >= 0x80 && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029') {
			return true
		}
	}
	return false
}

// emojiPart reports runes that may precede a joiner in an emoji sequence:
// a pictograph, a variation selector or a skin-tone modifier.
func emojiPart(r rune) bool {
	return unicode.Is(unicode.So, r) || r == '\uFE0F' || r >= 0x1F3FB && r <= 0x1F3FF
}
