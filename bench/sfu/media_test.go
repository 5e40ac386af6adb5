package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// rtpBytes is a packet as a receiver reads it, with a header extension
// as the servers add one (mid, abs-send-time).
func rtpBytes(t *testing.T, payload []byte) []byte {
	t.Helper()
	h := rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: 1, SSRC: 5}
	if err := h.SetExtension(1, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	b, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestIsKeyframe(t *testing.T) {
	buf := make([]byte, 1500)
	for _, c := range []struct {
		name string
		key  bool
		off  int
		want bool
	}{
		{"first packet of a keyframe", true, 0, true},
		{"later packet of a keyframe", true, 1000, false},
		{"first packet of a delta frame", false, 0, false},
	} {
		b := rtpBytes(t, append([]byte(nil), vp8Payload(buf, keyframeSize, c.off, 1000, c.key, 0x1234)...))
		if got := isKeyframe(b); got != c.want {
			t.Errorf("%s: isKeyframe = %v, want %v", c.name, got, c.want)
		}
	}
	if isKeyframe([]byte{0x80, 96}) {
		t.Error("a truncated packet is a keyframe")
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h histogram
	for i := 1; i <= 100; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 51 * time.Millisecond}, {0.99, 100 * time.Millisecond}} {
		got := h.quantile(c.q)
		if d := got - c.want; d < -20*time.Microsecond || d > 20*time.Microsecond {
			t.Errorf("quantile(%v) = %v, want about %v", c.q, got, c.want)
		}
	}
	h.add(time.Hour) // past the last bucket: kept, at 1 s
	if got := h.quantile(1); got < time.Second-20*time.Microsecond {
		t.Errorf("overflow bucket: quantile(1) = %v", got)
	}
}

func TestWindow(t *testing.T) {
	var w window
	if w.in(5) {
		t.Error("in before open")
	}
	w.open(10)
	if !w.in(10) || !w.in(1e18) || w.in(9) {
		t.Error("open window")
	}
	w.close(20)
	if !w.in(19) || w.in(20) {
		t.Error("closed window")
	}
}

func TestDropsIn(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  1: 0100007F:9C40 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17
  2: 0100007F:9C41 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 5
  3: 0100007F:9C42 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 9999 2 0000000000000000 1000
`
	p := filepath.Join(t.TempDir(), "udp")
	if err := os.WriteFile(p, []byte(table), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := dropsIn(p, map[string]bool{"4242": true, "4243": true})
	if err != nil || got != 22 {
		t.Errorf("dropsIn = %d, %v; want 22 (the other process's socket not counted)", got, err)
	}
	if _, err := udpDrops(os.Getpid()); err != nil {
		t.Errorf("udpDrops of this process: %v", err)
	}
}

func TestMedianRun(t *testing.T) {
	rs := []*result{{cpuPerPkt: 9}, {cpuPerPkt: 0, err: "failed"}, {cpuPerPkt: 3}, {cpuPerPkt: 5}}
	if got := medianRun(rs).cpuPerPkt; got != 5 {
		t.Errorf("median of 9, 3, 5 and a failed run = %v, want 5", got)
	}
	if got := medianRun(rs[1:2]); got != rs[1] {
		t.Error("all failed: want the failed run")
	}
	lossy := []*result{{cpuPerPkt: 30, loss: 80}, {cpuPerPkt: 12, loss: 0}, {cpuPerPkt: 14, loss: 0.5}}
	if got := medianRun(lossy).cpuPerPkt; got != 12 {
		t.Errorf("median with a disturbed run = %v, want 12 (of the two clean runs, the lower middle)", got)
	}
	allLossy := []*result{{cpuPerPkt: 30, loss: 80}, {cpuPerPkt: 12, loss: 5}, {cpuPerPkt: 20, loss: 3}}
	if got := medianRun(allLossy).cpuPerPkt; got != 20 {
		t.Errorf("median when every run lost = %v, want 20", got)
	}
}

func TestParsePerfCounts(t *testing.T) {
	out := "\n1234,,syscalls:sys_enter_sendto,10002345,100.00,,\n0,,syscalls:sys_enter_sendmsg,10002345,100.00,,\n6,,syscalls:sys_enter_sendmmsg,10002345,100.00,,\n"
	if got := parsePerfCounts(out); got != 1240 {
		t.Errorf("sum = %d, want 1240", got)
	}
	if got := parsePerfCounts("<not counted>,,syscalls:sys_enter_sendto,0,100.00,,\n"); got != -1 {
		t.Errorf("not counted = %d, want -1", got)
	}
	if got := parsePerfCounts("perf: permission denied\n"); got != -1 {
		t.Errorf("no events = %d, want -1", got)
	}
}
