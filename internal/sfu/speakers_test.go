package sfu_test

import (
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
)

// The server follows who speaks from the audio levels in the packets
// participants publish (RFC 6464), and says when the dominant speaker
// changes: only for the room it speaks in.
func TestDominantSpeakerFromAudioLevels(t *testing.T) {
	var mu sync.Mutex
	var told []string
	s := newTestSFU(t, sfu.Config{OnSpeaker: func(room, id string) {
		mu.Lock()
		told = append(told, room+"/"+id)
		mu.Unlock()
	}})
	last := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(told) == 0 {
			return ""
		}
		return told[len(told)-1]
	}
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	mics := map[string]*sfutest.RawTrack{}
	for _, c := range []*sfutest.Client{a, b} {
		mic := sfutest.NewRawTrack(webrtc.MimeTypeOpus, "mic", c.Name)
		c.PublishTracks(mic)
		mics[c.Name] = mic
	}
	var levels sync.Map // name -> uint8
	levels.Store("alice", uint8(30))
	levels.Store("bob", uint8(127))
	stop := make(chan struct{})
	defer close(stop)
	for name, mic := range mics {
		go mic.Speak(stop, func() uint8 { v, _ := levels.Load(name); return v.(uint8) })
	}
	sfutest.WaitFor(t, "alice the dominant speaker", 3*time.Second, func() bool { return last() == "r1/alice" })
	levels.Store("alice", uint8(127))
	levels.Store("bob", uint8(25))
	sfutest.WaitFor(t, "bob the dominant speaker", 5*time.Second, func() bool { return last() == "r1/bob" })
	mu.Lock()
	defer mu.Unlock()
	if len(told) != 2 {
		t.Errorf("told %v, want alice then bob once each", told)
	}
}
