package sfu

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/speaker"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// speakerTick is how often a room asks its detector who speaks: who is
// dominant, and whose audio it forwards. A participant who starts to
// speak in a large room is heard once an interval of its speech is
// complete (100 ms) and the next tick comes.
const speakerTick = 100 * time.Millisecond

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
	if cfg := s.room.sfu.cfg; !s.started.Load() && (cfg.OnSpeaker != nil || cfg.AudioLoudest > 0) {
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
			id, changed := s.detect.Dominant(now)
			if changed && s.room.sfu.cfg.OnSpeaker != nil {
				s.room.sfu.cfg.OnSpeaker(s.room.id, id)
			}
			s.chooseAudio(id, now)
		}
	}
}

// chooseAudio lets through the audio of the loudest participants and of
// the dominant one when the room is large, everyone's when it is not.
func (s *speakers) chooseAudio(dominant string, now time.Time) {
	cfg := s.room.sfu.cfg
	if cfg.AudioLoudest <= 0 {
		return
	}
	s.room.mu.Lock()
	peers := make([]*Peer, 0, len(s.room.peers))
	for _, p := range s.room.peers {
		peers = append(peers, p)
	}
	s.room.mu.Unlock()
	limited := len(peers) >= cfg.AudioLoudestFrom
	var loud []string
	if limited {
		loud = append(s.detect.Loudest(cfg.AudioLoudest, now), dominant)
	}
	for _, p := range peers {
		heard := !limited || slices.Contains(loud, p.id)
		for _, t := range p.tracks() {
			if t.kind == webrtc.RTPCodecTypeAudio {
				// Without levels nobody can tell: always heard.
				t.quiet.Store(!heard && t.levelID != 0)
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
