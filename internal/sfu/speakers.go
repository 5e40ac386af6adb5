package sfu

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/speaker"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// speakerTick is how often a room asks its detector who speaks.
const speakerTick = 200 * time.Millisecond

// registerAudioLevel negotiates RFC 6464 audio levels on the publishing
// connections: browsers then put each packet's level in it, which is how
// the server knows who speaks without decoding anything.
func registerAudioLevel(m *webrtc.MediaEngine) error {
	return m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio)
}

// audioLevelID is the id the publisher's connection gave the audio-level
// extension, or 0 when it was not negotiated.
func audioLevelID(r *webrtc.RTPReceiver) uint8 {
	if r == nil {
		return 0
	}
	for _, e := range r.GetParameters().HeaderExtensions {
		if e.URI == sdp.AudioLevelURI {
			return uint8(e.ID)
		}
	}
	return 0
}

// speakers follows who speaks in a room and tells Config.OnSpeaker when
// the dominant speaker changes. Its goroutine runs while the room has
// audio with levels.
type speakers struct {
	room   *Room
	detect *speaker.Detector

	// started says the goroutine runs: read without the lock on every
	// packet, changed under mu.
	started atomic.Bool
	mu      sync.Mutex
	stop    chan struct{}
}

func newSpeakers(r *Room) *speakers {
	return &speakers{room: r, detect: speaker.New(speaker.Config{})}
}

// observe records one packet's level (the extension's low 7 bits).
func (s *speakers) observe(id string, ext []byte) {
	if len(ext) == 0 {
		return
	}
	s.detect.Observe(id, ext[0]&0x7f, time.Now())
	if s.started.Load() {
		return // the usual case, without a lock per packet
	}
	s.mu.Lock()
	if !s.started.Load() && s.room.sfu.cfg.OnSpeaker != nil {
		s.started.Store(true)
		s.stop = make(chan struct{})
		go s.run(s.stop)
	}
	s.mu.Unlock()
}

func (s *speakers) run(stop chan struct{}) {
	t := time.NewTicker(speakerTick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			if id, changed := s.detect.Dominant(now); changed {
				s.room.sfu.cfg.OnSpeaker(s.room.id, id)
			}
		}
	}
}

// left forgets a participant; the goroutine ends with the room's last.
func (s *speakers) left(id string, empty bool) {
	s.detect.Remove(id)
	if !empty {
		return
	}
	s.mu.Lock()
	if s.started.Load() {
		close(s.stop)
		s.started.Store(false)
	}
	s.mu.Unlock()
}
