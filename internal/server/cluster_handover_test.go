package server

import (
	"context"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// A home shutting down gives its meetings up as soon as its signaling
// sessions are closed, not after the rest of its teardown (the SFU's
// connections and the relay take seconds): its participants are
// reconnecting through other nodes by then, and those wait for the room.
func TestClusterShutdownGivesRoomsUpBeforeTheSlowTeardown(t *testing.T) {
	nodes := startClusterNodes(t, startRedis(t), 2)
	m := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	const room = "handed-over"
	m.ask(nil, "join-room", map[string]string{"room": room, "name": "Ada"})
	home := nodes[homeOf(t, nodes, room)]
	other := nodes[0]
	if home == other {
		other = nodes[1]
	}

	// A part that takes long to stop, as an SFU with many connections.
	const slow = 4 * time.Second
	home.parts.close = append([]func() error{func() error { time.Sleep(slow); return nil }}, home.parts.close...)
	stopping := time.Now()
	home.cancel()
	eventually(t, "the room given up while the slow part still stops", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		owner, _, err := other.cluster.Owner(ctx, room)
		return err == nil && owner == ""
	})
	if took := time.Since(stopping); took > slow/2 {
		t.Fatalf("the room was held %v after the shutdown began, until its slow teardown", took)
	}
	t.Logf("room given up %v after the shutdown began", time.Since(stopping).Round(time.Millisecond))
}
