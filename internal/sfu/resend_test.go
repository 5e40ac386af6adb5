package sfu_test

import (
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// A subscriber that loses packets asks for them again (pion's NACK
// generator, as a browser does) and gets them from the server's packet
// cache, with simulcast and across a layer switch.
func TestLostPacketsAreResentOnNACK(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 50 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	lossy := sfutest.NewLossyNet(t, 10)
	b := sfutest.New(t, "bob", lossy.Option())
	bp := attach(t, room, b)
	a.PublishSimulcast()
	sfutest.WaitFor(t, "bob receives alice's camera", 10*time.Second, func() bool { return b.Received("alice/cam") > 50 })
	sfutest.WaitFor(t, "lost packets come again", 5*time.Second, func() bool { return lossy.Dropped.Load() >= 5 && lossy.Recovered.Load() >= 5 })
	bp.SetView("alice", 1080)
	sfutest.WaitFor(t, "the full layer", 5*time.Second, func() bool { return b.LastSize("alice/cam") == sfutest.SimulcastSizes["f"] })
	before := lossy.Recovered.Load()
	sfutest.WaitFor(t, "lost packets of the new layer come again", 5*time.Second, func() bool { return lossy.Recovered.Load() >= before+5 })
	t.Logf("dropped %d, recovered %d", lossy.Dropped.Load(), lossy.Recovered.Load())
}
