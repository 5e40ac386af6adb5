package config

import (
	"strings"
	"testing"
	"time"
)

func TestEngineFlags(t *testing.T) {
	c, err := Parse(nil, env(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine.ConnectTimeout != 10*time.Second || c.Engine.MaxSessionsPerIP != 64 {
		t.Fatalf("defaults: connect timeout %v, sessions per IP %d", c.Engine.ConnectTimeout, c.Engine.MaxSessionsPerIP)
	}
	c, err = Parse([]string{"--connect-timeout", "3s"}, env("HUDDLE_MAX_SESSIONS_PER_IP", "5"), nil)
	if err != nil || c.Engine.ConnectTimeout != 3*time.Second || c.Engine.MaxSessionsPerIP != 5 {
		t.Fatalf("set: %v %v %d", err, c.Engine.ConnectTimeout, c.Engine.MaxSessionsPerIP)
	}
	// 0 is no limit, as for --max-conns-per-ip; the engine's no limit is negative.
	c, err = Parse([]string{"--max-sessions-per-ip", "0"}, env(), nil)
	if err != nil || c.Engine.MaxSessionsPerIP >= 0 {
		t.Fatalf("no limit: %v %d", err, c.Engine.MaxSessionsPerIP)
	}
	for _, args := range [][]string{{"--max-sessions-per-ip", "-1"}, {"--connect-timeout", "0s"}, {"--connect-timeout", "-1s"}} {
		if _, err := Parse(args, env(), nil); err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%v: err %v, want one naming the flag", args, err)
		}
	}
}
