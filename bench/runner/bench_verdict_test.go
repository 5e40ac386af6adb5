package main

import (
	"strings"
	"testing"
)

func TestJoinLatencyVerdict(t *testing.T) {
	for _, tc := range []struct {
		out, want string
	}{
		{"# join-to-first-remote-frame: median 336 ms, p90 407 ms over 10 calls", "median 336 ms, target median < 500 ms ✅"},
		{"# join-to-first-remote-frame: median 500 ms, p90 650 ms over 10 calls", "median 500 ms, target median < 500 ms ❌"},
		{"# join-to-first-remote-frame: median 1234 ms, p90 2000 ms over 10 calls", "❌"},
		{"not ok 1 - no remote frame in 30 s", "no median printed"},
	} {
		got := joinLatencyVerdict([]byte(tc.out))
		if !strings.Contains(got, tc.want) {
			t.Errorf("verdict of %q = %q, want it to contain %q", tc.out, got, tc.want)
		}
		if strings.Contains(tc.want, "❌") || strings.Contains(tc.want, "no median") {
			if !strings.Contains(got, "❌") {
				t.Errorf("verdict of %q passes: %q", tc.out, got)
			}
		}
	}
}
