package sfu

import "testing"

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
