package sfu

import (
	"testing"
	"time"
)

func TestIsVP8Keyframe(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		want    bool
	}{
		{"start of a keyframe", []byte{0x10, 0x00}, true},
		{"start of an interframe", []byte{0x10, 0x01}, false},
		{"not the start of a partition", []byte{0x00, 0x00}, false},
		{"partition 1", []byte{0x11, 0x00}, false},
		{"7-bit picture id, keyframe", []byte{0x90, 0x80, 0x05, 0x00}, true},
		{"15-bit picture id, keyframe", []byte{0x90, 0x80, 0x85, 0x01, 0x00}, true},
		{"15-bit picture id, interframe", []byte{0x90, 0x80, 0x85, 0x01, 0x01}, false},
		{"picture id, tl0picidx, tid", []byte{0x90, 0xE0, 0x05, 0x07, 0x40, 0x00}, true},
		{"descriptor only", []byte{0x90, 0xE0, 0x05, 0x07, 0x40}, false},
		{"truncated extension", []byte{0x90}, false},
		{"empty", nil, false},
	} {
		if got := isVP8Keyframe(tc.payload); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestPickQuality(t *testing.T) {
	for _, tc := range []struct {
		have       []int
		want, pick int
	}{
		{[]int{0, 1, 2}, 1, 1},
		{[]int{0, 1, 2}, 2, 2},
		{[]int{0, 2}, 1, 0},
		{[]int{1, 2}, 0, 1}, // all above: the lowest
		{[]int{0}, 2, 0},
		{nil, 1, 1},
	} {
		if got := pickQuality(tc.have, tc.want); got != tc.pick {
			t.Errorf("pickQuality(%v, %d) = %d, want %d", tc.have, tc.want, got, tc.pick)
		}
	}
	for h, q := range map[int]int{90: 0, 180: 0, 240: 1, 360: 1, 480: 2, 1080: 2} {
		if got := qualityForHeight(h); got != q {
			t.Errorf("qualityForHeight(%d) = %d, want %d", h, got, q)
		}
	}
	if ridQuality("q") >= ridQuality("h") || ridQuality("h") >= ridQuality("f") || ridQuality("f") >= ridQuality("x") {
		t.Error("rids out of order")
	}
}

// A layer the publisher stopped sending (a browser short of CPU drops its
// top layers) is not aimed at: a subscriber would wait for its keyframe
// forever. With every layer stopped, all are kept.
func TestStoppedLayerIsNotChosen(t *testing.T) {
	tr := testTrack() // layers q and h
	tr.rates()        // the first measurement: no rates yet
	if got := tr.qualities(); len(got) != 2 {
		t.Fatalf("before any rate is known: %v, want both layers", got)
	}
	tr.layers[0].bytes.Add(5000) // q flows, h has stopped
	time.Sleep(allocationInterval + 20*time.Millisecond)
	if got := tr.qualities(); len(got) != 1 || got[0] != qualityLow {
		t.Errorf("with h stopped: %v, want only q", got)
	}
	if q := pickQuality(tr.qualities(), qualityHigh); q != qualityLow {
		t.Errorf("a big tile aims at %d, want q", q)
	}
	time.Sleep(allocationInterval + 20*time.Millisecond)
	if got := tr.qualities(); len(got) != 2 {
		t.Errorf("with every layer stopped: %v, want both", got)
	}
}

// A layer without a packet for layerStoppedAfter while the other layers of
// its track have them is taken for stopped at once, not at the next rate
// measurement: its subscribers move to a layer that flows. It comes back
// only after stoppedAtLeast, and once it flows again. A slow video, whose
// layers' packets come together once a second, is not taken for stopped.
func TestLayerWithoutPacketsIsStopped(t *testing.T) {
	// Layers q and h, of a publisher that can be asked for keyframes.
	tr := testTrack()
	tr.owner = &Peer{room: &Room{sfu: &SFU{cfg: Config{KeyframeInterval: time.Second}}}}
	q, h := tr.layers[0], tr.layers[1]
	d := testDownTrack(tr, qualityMedium, nil)
	tr.attach(d)
	start := time.Now().UnixNano()
	ms := int64(time.Millisecond)
	// One second of a black frame a second: a packet of each layer.
	for at := int64(0); at <= 3000; at += 1000 {
		tr.seen(q, start+at*ms)
		tr.seen(h, start+(at+2)*ms)
	}
	if got := tr.qualities(); len(got) != 2 {
		t.Fatalf("a frame a second: %v, want both layers", got)
	}
	// Then q every 50 ms, h no more.
	start += 3002 * ms
	for at := int64(50); at <= 250; at += 50 {
		tr.seen(q, start+at*ms)
	}
	if got := tr.qualities(); len(got) != 2 {
		t.Fatalf("h quiet for 250 ms: %v, want both layers", got)
	}
	tr.seen(q, start+300*ms)
	tr.seen(q, start+350*ms)
	tr.seen(q, start+400*ms) // h has had nothing for 400 ms (checks: 100 ms apart)
	if got := tr.qualities(); len(got) != 1 || got[0] != qualityLow {
		t.Fatalf("h quiet for 400 ms: %v, want only q", got)
	}
	if d.gate.target != qualityLow {
		t.Errorf("the subscriber of h aims at %d, want q", d.gate.target)
	}
	tr.seen(h, start+500*ms) // h again, soon after its stop
	tr.seen(q, start+1200*ms)
	if got := tr.qualities(); len(got) != 1 {
		t.Errorf("h back 100 ms after its stop: %v, want it still out", got)
	}
	tr.seen(h, start+1500*ms)
	if got := tr.qualities(); len(got) != 2 {
		t.Errorf("h flowing again 1.1 s after its stop: %v, want both layers", got)
	}
	if d.gate.target != qualityMedium {
		t.Errorf("the subscriber aims at %d, want h again", d.gate.target)
	}
}

// Before its first picture a subscriber starts on a keyframe of a layer
// below its target (a browser that has just started publishing sends
// only its lowest), never above it, and moves to the target at the
// target's keyframe; once started, only the target's keyframe switches.
func TestFirstPictureFromALowerLayer(t *testing.T) {
	key, delta := []byte{0x10, 0x00}, []byte{0x10, 0x01}
	g := newLayerGate(qualityMedium, true)
	for _, step := range []struct {
		what    string
		quality int
		payload []byte
		want    bool
		current int
	}{
		{"a delta of the low layer", qualityLow, delta, false, -1},
		{"a keyframe above the target", qualityHigh, key, false, -1},
		{"a keyframe of the low layer starts the picture", qualityLow, key, true, qualityLow},
		{"the low layer goes on", qualityLow, delta, true, qualityLow},
		{"the target's keyframe switches", qualityMedium, key, true, qualityMedium},
		{"the low layer's next keyframe does not switch back", qualityLow, key, false, qualityMedium},
	} {
		if got := g.admit(step.quality, step.payload); got != step.want || g.current != step.current {
			t.Fatalf("%s: admitted %v, current %d; want %v, %d", step.what, got, g.current, step.want, step.current)
		}
	}
}
