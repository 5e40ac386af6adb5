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

// cleanName trims a display name and checks it: printable, 1..max runes.
func cleanName(name string, max int) (string, bool) {
	name = strings.TrimSpace(name)
	if name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > max {
		return "", false
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return "", false
		}
	}
	return name, true
}
