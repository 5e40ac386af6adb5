package sfu_test

import (
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/rtp"
)

// testSink records what a room's sink receives, per "publisher/track".
type testSink struct {
	mu     sync.Mutex
	tracks map[string]*sinkWriter
}

type sinkWriter struct {
	mu         sync.Mutex
	info       sfu.TrackInfo
	packets    int
	lastLen    int
	lastSeq    uint16
	jumps      int
	closed     int
	afterClose int
}

func (s *testSink) TrackAdded(info sfu.TrackInfo) sfu.TrackWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tracks == nil {
		s.tracks = map[string]*sinkWriter{}
	}
	w := &sinkWriter{info: info}
	s.tracks[info.PublisherID+"/"+info.TrackID] = w
	return w
}

func (s *testSink) get(key string) *sinkWriter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tracks[key]
}

func (s *testSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tracks)
}

func (w *sinkWriter) WriteRTP(p *rtp.Packet) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed > 0 {
		w.afterClose++
	}
	if w.packets > 0 && p.SequenceNumber != w.lastSeq+1 {
		w.jumps++
	}
	w.packets++
	w.lastLen, w.lastSeq = len(p.Payload), p.SequenceNumber
	return nil
}

func (w *sinkWriter) Close() {
	w.mu.Lock()
	w.closed++
	w.mu.Unlock()
}

func (w *sinkWriter) stats() (packets, lastLen, jumps, closed, afterClose int) {
	if w == nil {
		return 0, 0, 0, 0, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.packets, w.lastLen, w.jumps, w.closed, w.afterClose
}

// A sink added before anybody publishes gets every track as it comes, and
// its writers are closed once when the publisher leaves.
func TestSinkGetsTracksPublishedLater(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	sink := &testSink{}
	remove := room.AddSink(sink)
	defer remove()
	a, ap := join(t, room, "alice")
	a.Publish()
	for _, key := range []string{"alice/cam", "alice/mic"} {
		sfutest.WaitFor(t, "the sink receives "+key, 10*time.Second, func() bool {
			n, _, _, _, _ := sink.get(key).stats()
			return n > 20
		})
	}
	if k := sink.get("alice/cam").info.Kind.String(); k != "video" {
		t.Errorf("camera kind %q", k)
	}
	ap.Close()
	for _, key := range []string{"alice/cam", "alice/mic"} {
		sfutest.WaitFor(t, key+" closed", 5*time.Second, func() bool {
			_, _, _, closed, _ := sink.get(key).stats()
			return closed > 0
		})
	}
	time.Sleep(200 * time.Millisecond)
	for _, key := range []string{"alice/cam", "alice/mic"} {
		if _, _, _, closed, after := sink.get(key).stats(); closed != 1 || after != 0 {
			t.Errorf("%s: closed %d times, %d packets after close", key, closed, after)
		}
	}
}

// A sink added while tracks run gets them at once; it takes the highest
// simulcast layer with continuous sequence numbers; after remove its
// writers are closed and get nothing more, and the subscribers go on.
func TestSinkTakesBestLayerAndRemoves(t *testing.T) {
	s := newTestSFU(t, sfu.Config{KeyframeInterval: 50 * time.Millisecond})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.PublishSimulcast()
	sfutest.WaitFor(t, "bob receives alice's camera", 10*time.Second, func() bool { return b.Received("alice/cam") > 10 })

	sink := &testSink{}
	remove := room.AddSink(sink)
	sfutest.WaitFor(t, "the sink gets the full layer", 5*time.Second, func() bool {
		n, size, _, _, _ := sink.get("alice/cam").stats()
		return n > 20 && size == sfutest.SimulcastSizes["f"]
	})
	if sink.count() != 2 {
		t.Errorf("sink got %d tracks, want 2 (camera and microphone)", sink.count())
	}
	if _, _, jumps, _, _ := sink.get("alice/cam").stats(); jumps != 0 {
		t.Errorf("%d sequence jumps in the sink's stream", jumps)
	}
	remove()
	remove() // twice is harmless
	time.Sleep(200 * time.Millisecond)
	for _, key := range []string{"alice/cam", "alice/mic"} {
		if _, _, _, closed, after := sink.get(key).stats(); closed != 1 || after != 0 {
			t.Errorf("%s: closed %d times, %d packets after close", key, closed, after)
		}
	}
	before := b.Received("alice/cam")
	sfutest.WaitFor(t, "bob still receives", 3*time.Second, func() bool { return b.Received("alice/cam") > before+10 })
}

// A room whose only user is a sink stays, so a recording started before
// the participants' media keeps its room.
func TestRoomWithSinkIsKept(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	remove := room.AddSink(&testSink{})
	_, p := join(t, room, "alice")
	p.Close()
	if s.Room("r1") != room {
		t.Fatal("the room with a sink was dropped when its last participant left")
	}
	remove()
	if s.Rooms() != 0 {
		t.Errorf("%d rooms after the sink went", s.Rooms())
	}
}
