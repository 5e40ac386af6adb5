package signaling

import (
	"strings"
	"testing"
)

func TestValidRoom(t *testing.T) {
	cases := map[string]bool{
		"abc-defg-hij":                         true,
		"123e4567-e89b-12d3-a456-426614174000": true,
		"a_B-9":                                true,
		strings.Repeat("x", 64):                true,
		strings.Repeat("x", 65):                false,
		"":                                     false,
		"has space":                            false,
		"../x":                                 false,
		"émoji":                                false,
		"a/b":                                  false,
	}
	for id, want := range cases {
		if got := validRoom(id); got != want {
			t.Errorf("validRoom(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCleanName(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"Ada", "Ada", true},
		{"  Ada Lovelace  ", "Ada Lovelace", true},
		{"José 会議 👋", "José 会議 👋", true},
		{"<b>bold</b>", "<b>bold</b>", true}, // stored as text; clients render text
		{"", "", false},
		{"   ", "", false},
		{"a\x00b", "", false},
		{"line\nbreak", "", false},
		{"bad\xffutf8", "", false},
		{strings.Repeat("é", 64), strings.Repeat("é", 64), true},
		{strings.Repeat("é", 65), "", false},
		// Issue 18: invisible and bidi-control characters.
		{"Ada\u202Etxt.exe", "", false},        // right-to-left override
		{"Ad\u200Ba", "", false},               // zero-width space
		{"\uFEFFAda", "", false},               // BOM
		{"Ada\U000E0041\U000E0042", "", false}, // tag characters
		{"A\u200Dda", "", false},               // zero-width joiner
		{"\u2066Ada\u2069", "", false},         // isolates
		{"\u200B\u200C\u200D", "", false},      // only invisible
		{"\u3164", "", false},                  // Hangul filler: a blank letter
		{"\u2800\u2800", "", false},            // blank Braille
		{"\u0301\u0301", "", false},            // marks alone draw on nothing
		{"Ada\u2028Bob", "", false},            // line separator
		{"\uE000", "", false},                  // private use
		{"a\x1bb", "", false},                  // ESC
		{"Zoë", "Zoë", true},                   // precomposed
		{"Zoe\u0308", "Zoe\u0308", true},       // combining diaeresis
		{"Ada\u00A0L.", "Ada\u00A0L.", true},   // no-break space
		{"👍🏽 ❤️", "👍🏽 ❤️", true},               // modifier, variation selector
		{"$_€ #1 (ok)", "$_€ #1 (ok)", true},
		{"עדה", "עדה", true}, // right-to-left letters are fine
	}
	for _, c := range cases {
		got, ok := cleanName(c.in, 64)
		if got != c.want || ok != c.ok {
			t.Errorf("cleanName(%q) = %q,%v want %q,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestCleanChat(t *testing.T) {
	cases := []struct{ in, want string }{
		{"hello", "hello"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"crlf\r\nline", "crlf\nline"},
		{"\x1b[31mred\x1b[0m", "[31mred[0m"}, // ESC gone, the rest is text
		{"bell\x07 nul\x00 del\x7f", "bell nul del"},
		{"abc\u202Efed", "abcfed"},
		{"zero\u200Bwidth\uFEFF", "zerowidth"},
		{"tag\U000E0041", "tag"},
		{"a\u2028b\u2029c", "a\nb\nc"},
		{"\u0085next line", "next line"}, // C1 control
		{"👩\u200D💻 family 👨\u200D👩\u200D👧", "👩\u200D💻 family 👨\u200D👩\u200D👧"},
		{"👍🏽\u200D🔥", "👍🏽\u200D🔥"},
		{"a\u200Db", "ab"}, // a joiner between letters joins nothing
		{"👩\u200D", "👩"},   // nor at the end
		{"Grüße, 会議, עדה", "Grüße, 会議, עדה"},
	}
	for _, c := range cases {
		if got := cleanChat(c.in); got != c.want {
			t.Errorf("cleanChat(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
