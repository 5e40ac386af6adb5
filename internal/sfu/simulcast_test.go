package sfu_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// A view given before the publisher's track exists applies once it does.
func TestViewBeforeTheTrack(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 50 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	bp.SetView("alice", 120)
	a.PublishSimulcast()
	sfutest.WaitFor(t, "the low layer the early view asked for", 10*time.Second, func() bool {
		return b.LastSize("alice/cam") == sfutest.SimulcastSizes["q"]
	})
}

// A subscriber gets one simulcast layer, chosen by the height of the tile
// it shows the publisher in; a hidden tile gets no video (audio goes on);
// the stream it receives stays continuous across every switch.
func TestSimulcastLayerFollowsTheView(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 50 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, bp := join(t, room, "bob")
	a.PublishSimulcast()
	sfutest.WaitFor(t, "bob receives alice's camera", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })

	layer := func(rid string) func() bool {
		return func() bool { return b.LastSize("alice/cam") == sfutest.SimulcastSizes[rid] }
	}
	sfutest.WaitFor(t, "the medium layer by default", 3*time.Second, layer("h"))
	for _, step := range []struct {
		height int
		rid    string
	}{{180, "q"}, {720, "f"}, {360, "h"}, {120, "q"}} {
		bp.SetView("alice", step.height)
		sfutest.WaitFor(t, "layer "+step.rid+" for a tile of "+strconv.Itoa(step.height), 2*time.Second, layer(step.rid))
	}

	// Hidden: no video bytes within a second, audio goes on.
	bp.SetView("alice", 0)
	time.Sleep(time.Second)
	video, audio := b.Received("alice/cam"), b.Received("alice/mic")
	time.Sleep(500 * time.Millisecond)
	if n := b.Received("alice/cam") - video; n != 0 {
		t.Errorf("%d video packets of a hidden tile", n)
	}
	if b.Received("alice/mic") == audio {
		t.Error("audio stopped with the video")
	}
	// Shown again: video comes back, at the layer of the new tile.
	bp.SetView("alice", 720)
	sfutest.WaitFor(t, "video back at the high layer", 2*time.Second, layer("f"))

	// Every switch kept the sequence numbers continuous; the pause is a
	// gap only if packets were skipped, and none are sent while paused.
	if j := b.Jumps("alice/cam"); j != 0 {
		t.Errorf("%d sequence jumps across layer switches", j)
	}
}
