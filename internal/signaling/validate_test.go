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
	}
	for _, c := range cases {
		got, ok := cleanName(c.in, 64)
		if got != c.want || ok != c.ok {
			t.Errorf("cleanName(%q) = %q,%v want %q,%v", c.in, got, ok, c.want, c.ok)
		}
	}
}
