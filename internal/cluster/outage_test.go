package cluster

import (
	"context"
	"testing"
	"time"
)

// With Redis down, a command fails at once rather than at its timeout: a
// join during an outage asks Redis for the room's home before serving the
// meeting alone, and should not wait for it. The connection is refused
// here; go-redis's own dial retries made each command take 1.7 s.
func TestCommandsFailFastWithRedisDown(t *testing.T) {
	r := startRedis(t)
	c := newNode(t, r, "n1", func(cfg *Config) { cfg.OpTimeout = 2 * time.Second })
	r.kill()
	for i := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		_, _, err := c.Owner(ctx, "a-room")
		took := time.Since(start)
		cancel()
		if err == nil {
			t.Fatal("Owner answered with Redis down")
		}
		t.Logf("look-up %d with Redis down failed in %v: %v", i+1, took.Round(time.Millisecond), err)
		if took > time.Second {
			t.Errorf("look-up %d took %v to fail, want well under the 2 s timeout", i+1, took.Round(time.Millisecond))
		}
	}
}
