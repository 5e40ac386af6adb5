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

// In a room of AudioLoudestFrom participants or more only the loudest
// participants' audio is forwarded: a quiet participant's is not, until
// it speaks, and then without a jump in its sequence numbers. In a
// smaller room everyone's audio is.
func TestOnlyTheLoudestAudioInALargeRoom(t *testing.T) {
	s := newTestSFU(t, sfu.Config{AudioLoudest: 1, AudioLoudestFrom: 4})
	for _, tc := range []struct {
		room      string
		listeners []string
		large     bool
	}{
		{"large", []string{"carol", "dave"}, true},
		{"small", []string{"erin"}, false},
	} {
		t.Run(tc.room, func(t *testing.T) {
			room := s.Room(tc.room)
			a, _ := join(t, room, "alice")
			b, _ := join(t, room, "bob")
			var listeners []*sfutest.Client
			for _, name := range tc.listeners {
				c, _ := join(t, room, name)
				listeners = append(listeners, c)
			}
			var levels sync.Map // name -> uint8
			levels.Store("alice", uint8(20))
			levels.Store("bob", uint8(127)) // silence
			stop := make(chan struct{})
			defer close(stop)
			for _, c := range []*sfutest.Client{a, b} {
				mic := sfutest.NewRawTrack(webrtc.MimeTypeOpus, "mic", c.Name)
				c.PublishTracks(mic)
				name := c.Name
				go mic.Speak(stop, func() uint8 { v, _ := levels.Load(name); return v.(uint8) })
			}
			l := listeners[0]
			sfutest.WaitFor(t, "alice heard", 10*time.Second, func() bool { return l.Received("alice/mic") > 50 })
			time.Sleep(300 * time.Millisecond) // a few choices made
			bob0, alice0 := l.Received("bob/mic"), l.Received("alice/mic")
			time.Sleep(time.Second)
			bob, alice := l.Received("bob/mic")-bob0, l.Received("alice/mic")-alice0
			t.Logf("in 1 s: alice's audio %d packets, quiet bob's %d", alice, bob)
			if alice < 35 {
				t.Fatalf("alice, speaking, reached %s with %d packets in 1 s, want about 50", l.Name, alice)
			}
			if tc.large && bob != 0 {
				t.Errorf("quiet bob's audio reached %s in a room of %d: %d packets in 1 s, want none", l.Name, 2+len(listeners), bob)
			}
			if !tc.large && bob < 35 {
				t.Errorf("quiet bob's audio reached %s in a room of %d with %d packets in 1 s, want all (about 50)", l.Name, 2+len(listeners), bob)
			}
			if !tc.large {
				return
			}
			time.Sleep(time.Second) // more than 64 of bob's packets dropped
			levels.Store("alice", uint8(127))
			levels.Store("bob", uint8(20))
			sfutest.WaitFor(t, "bob heard once he speaks", 2*time.Second, func() bool { return l.Received("bob/mic") > bob0+bob+20 })
			if j := l.Jumps("bob/mic"); j != 0 {
				t.Errorf("%d jumps in bob's sequence numbers: his silence looks like loss", j)
			}
		})
	}
}
