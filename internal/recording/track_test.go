package recording

import (
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// oneSink is a Source that keeps the sink the recording adds.
type oneSink struct{ sink chan sfu.Sink }

func (oneSink) Require(string, bool) error { return nil }
func (s oneSink) AddSink(_ string, k sfu.Sink) func() {
	s.sink <- k
	return func() {}
}

// A track starts in the recording when its first frame came, not when
// the next one came: the sample builder lets a frame out only then, a
// frame later, which put video (15 fps) 47 ms behind its audio (20 ms
// frames) in the composition. Here the second frame comes 300 ms after
// the first.
func TestTrackStartsWhenItsFirstFrameCame(t *testing.T) {
	src := oneSink{make(chan sfu.Sink, 1)}
	m := newManager(t, Config{FFmpeg: "-"}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w := (<-src.sink).TrackAdded(sfu.TrackInfo{
		PublisherID: "alice", TrackID: "cam", Kind: webrtc.RTPCodecTypeVideo,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
	})
	frame := func(seq uint16, ts uint32, key bool) *rtp.Packet {
		// VP8 payload descriptor (start of partition 0), then the frame,
		// whose first bit is 0 for a keyframe.
		payload := []byte{0x10, 0x01, 0, 0, 0, 0}
		if key {
			payload[1] = 0x00
		}
		return &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: seq, Timestamp: ts}, Payload: payload}
	}
	first := time.Now()
	if err := w.WriteRTP(frame(1, 1000, true)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := w.WriteRTP(frame(2, 1000+27000, false)); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	man = readMan(t, m, man.ID)
	if len(man.Tracks) != 1 || man.Tracks[0].Frames != 2 {
		t.Fatalf("tracks %+v", man.Tracks)
	}
	tr := man.Tracks[0]
	if d := tr.Start.Sub(first); d < 0 || d > 100*time.Millisecond {
		t.Errorf("the track starts %v after its first frame came, want at once", d)
	}
	if want := first.Sub(man.Started).Milliseconds(); tr.OffsetMs < want || tr.OffsetMs > want+100 {
		t.Errorf("offset %d ms, want %d", tr.OffsetMs, want)
	}
}

// A track's first packets often come late and together: the start is
// when the packets that came on time say the first one was sent. Here
// Opus packets of 20 ms are due every 20 ms from due; the first six come
// together 100 ms late, the rest on time.
func TestTrackStartIgnoresLateFirstPackets(t *testing.T) {
	src := oneSink{make(chan sfu.Sink, 1)}
	m := newManager(t, Config{FFmpeg: "-"}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	w := (<-src.sink).TrackAdded(sfu.TrackInfo{
		PublisherID: "alice", TrackID: "mic", Kind: webrtc.RTPCodecTypeAudio,
		Codec: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
	})
	due := time.Now()
	for i := range 30 {
		if i == 0 {
			time.Sleep(100 * time.Millisecond)
		} else if i >= 6 {
			time.Sleep(time.Until(due.Add(time.Duration(i) * 20 * time.Millisecond)))
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: true, SequenceNumber: uint16(100 + i), Timestamp: uint32(5000 + i*960)}, Payload: []byte{0xfc, 1, 2, 3}}
		if err := w.WriteRTP(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	man = readMan(t, m, man.ID)
	if len(man.Tracks) != 1 || man.Tracks[0].Frames != 30 {
		t.Fatalf("tracks %+v", man.Tracks)
	}
	// On time within the scheduler's slack (a loaded machine's sleeps
	// overshoot), far from the 100 ms of the late first packet.
	if d := man.Tracks[0].Start.Sub(due); d < 0 || d > 40*time.Millisecond {
		t.Errorf("the track starts %v after its first packet was due, want at once", d)
	}
}
