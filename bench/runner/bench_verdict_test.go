package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestJoinLatencyVerdict(t *testing.T) {
	const all = "# join-to-first-remote-frame (2nd of 2, peer to peer): median %d ms, p90 %d ms, max %d ms over 10 joins\n" +
		"# join-to-first-remote-frame (3rd of 3, mesh): median 600 ms, p90 700 ms, max 800 ms over 10 joins\n" +
		"# join-to-first-remote-frame (3rd of 3, SFU): median 350 ms, p90 380 ms, max 390 ms over 10 joins\n"
	for _, tc := range []struct {
		out, want string
	}{
		{fmt.Sprintf(all, 336, 407, 450), "| 2nd of 2, peer to peer | 336 ms | 407 ms | 450 ms | median < 500 ms, max < 1000 ms ✅ |"},
		{fmt.Sprintf(all, 500, 650, 700), "| 2nd of 2, peer to peer | 500 ms | 650 ms | 700 ms | median < 500 ms, max < 1000 ms ❌ |"},
		{fmt.Sprintf(all, 336, 407, 1200), "max < 1000 ms ❌"},
		{"# join-to-first-remote-frame (3rd of 3, SFU): median 450 ms, p90 500 ms, max 600 ms over 10 joins", "| 3rd of 3, SFU | 450 ms | 500 ms | 600 ms | median < 400 ms, max < 1000 ms ❌ |"},
		{"not ok 1 - no remote frame in 30 s", "none printed"},
	} {
		got := joinLatencyVerdict([]byte(tc.out))
		if !strings.Contains(got, tc.want) {
			t.Errorf("verdict of %q = %q, want it to contain %q", tc.out, got, tc.want)
		}
		if strings.Contains(tc.want, "❌") || strings.Contains(tc.want, "none printed") {
			if !strings.Contains(got, "❌") {
				t.Errorf("verdict of %q passes: %q", tc.out, got)
			}
		}
	}
}
