package server

import (
	"strings"
	"testing"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestIPSlotReleasesOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps string // t: taken, g: socket gone
		want  int
	}{
		{"taken then gone", "tg", 1},
		{"gone before taken", "gt", 1},
		{"refused: never taken", "g", 0},
		{"gone twice", "tgg", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			released := 0
			s := &ipSlot{release: func() { released++ }}
			for _, step := range tc.steps {
				if step == 't' {
					s.taken()
				} else {
					s.gone()
				}
			}
			if released != tc.want {
				t.Errorf("released %d times, want %d", released, tc.want)
			}
		})
	}
}
