package signaling

import (
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	var b tokenBucket
	now := time.Second
	allowed := 0
	for range 300 { // a burst at one instant: exactly the burst passes
		if b.allowAt(now, 50, 200) {
			allowed++
		}
	}
	if allowed != 200 {
		t.Fatalf("burst: %d allowed, want 200", allowed)
	}
	// 100 ms later, 5 tokens have come back: 5 pass, the 6th does not.
	now += 100 * time.Millisecond
	for i := range 6 {
		if got := b.allowAt(now, 50, 200); got != (i < 5) {
			t.Fatalf("after 100 ms, event %d: allowed=%v", i, got)
		}
	}
	// A long pause refills up to the burst, no more.
	now += time.Hour
	allowed = 0
	for range 300 {
		if b.allowAt(now, 50, 200) {
			allowed++
		}
	}
	if allowed != 200 {
		t.Fatalf("after an hour: %d allowed, want 200", allowed)
	}
	// A clock that goes backwards gives nothing back and takes nothing.
	if b.allowAt(now-time.Minute, 50, 200) {
		t.Fatal("an earlier time refilled the bucket")
	}
}
