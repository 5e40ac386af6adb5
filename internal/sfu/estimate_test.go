package sfu

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// feedbackBytes marshals what pion's TWCC recorder (the one pion clients
// use) reports.
func feedbackBytes(t testing.TB, r *twcc.Recorder) [][]byte {
	t.Helper()
	var out [][]byte
	for _, p := range r.BuildFeedbackPacket() {
		if _, ok := p.(*rtcp.TransportLayerCC); !ok {
			continue
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// The walk reads pion's feedback as pion's parser does: every packet
// received with its arrival time (to the 250 µs the format keeps), every
// one missing as lost, through run-length and vector chunks and small,
// large and negative deltas.
func TestWalkTWCCReadsPionsFeedback(t *testing.T) {
	rec := twcc.NewRecorder(1)
	arrivals := map[uint16]int64{}
	at := int64(5_000_000)
	for seq := uint16(65000); seq != 400; seq++ { // across the wrap
		switch {
		case seq%7 == 3 || (seq >= 100 && seq < 130):
			continue // lost; the run of 30 makes a run-length chunk
		case seq%50 == 0:
			at += 90_000 // a large delta
		case seq%31 == 0:
			at -= 2_000 // reordered: a negative delta
		default:
			at += int64(seq%4) * 1000
		}
		rec.Record(2, seq, at)
		arrivals[seq] = at
	}
	got := map[uint16]int64{}
	lost := map[uint16]bool{}
	for _, b := range feedbackBytes(t, rec) {
		var ref rtcp.TransportLayerCC
		if err := ref.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		seen := 0
		ok := walkTWCC(b, func(seq uint16, received bool, at int64) {
			seen++
			if received {
				got[seq] = at
			} else {
				lost[seq] = true
			}
		})
		if !ok || seen != int(ref.PacketStatusCount) {
			t.Fatalf("walk: ok %v, %d packets, pion's parser says %d", ok, seen, ref.PacketStatusCount)
		}
	}
	for seq, want := range arrivals {
		g, ok := got[seq]
		if !ok {
			t.Fatalf("packet %d arrived but the walk did not report it", seq)
		}
		if d := g - want; d < -250 || d > 250 {
			t.Fatalf("packet %d arrived at %d µs, the walk says %d", seq, want, g)
		}
	}
	for seq := range lost {
		if _, ok := arrivals[seq]; ok {
			t.Fatalf("packet %d arrived but the walk reports it lost", seq)
		}
	}
	if len(lost) < 30 {
		t.Fatalf("the walk reports %d lost packets, want the 30 of the run and more", len(lost))
	}
}

// A cut feedback or noise is refused or read short, never read past its
// end.
func TestWalkTWCCMalformed(t *testing.T) {
	rec := twcc.NewRecorder(1)
	for seq := range uint16(200) {
		rec.Record(2, seq, int64(seq)*3000)
	}
	b := feedbackBytes(t, rec)[0]
	for n := range len(b) {
		walkTWCC(b[:n], func(uint16, bool, int64) {})
	}
	if walkTWCC(b[:len(b)-8], func(uint16, bool, int64) {}) {
		t.Error("a feedback cut short was read whole")
	}
	r := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 64)
	for range 10000 {
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		walkTWCC(junk[:r.IntN(len(junk))], func(uint16, bool, int64) {})
	}
}

// link is a simulated bottleneck in front of a subscriber: a rate, a
// drop-tail queue of 200 ms (like the netem test's tbf), 20 ms on the
// wire, and optionally random loss.
type link struct {
	bps      float64
	loss     float64
	busy     int64 // when the queue empties, µs
	rec      *twcc.Recorder
	r        *rand.Rand
	sent     int
	dropped  int
	inFlight []flight
}

type flight struct {
	seq uint16
	at  int64
}

func (l *link) send(seq uint16, at int64, size int) {
	l.sent++
	if l.r.Float64() < l.loss {
		l.dropped++
		return
	}
	start := max(at, l.busy)
	if start-at > 200_000 {
		l.dropped++ // the queue is full
		return
	}
	l.busy = start + int64(float64(size*8)/l.bps*1e6)
	l.inFlight = append(l.inFlight, flight{seq, l.busy + 20_000})
}

// deliver records the packets arrived by now.
func (l *link) deliver(now int64) {
	i := 0
	for ; i < len(l.inFlight) && l.inFlight[i].at <= now; i++ {
		l.rec.Record(2, l.inFlight[i].seq, l.inFlight[i].at)
	}
	l.inFlight = l.inFlight[i:]
}

// simLayers are the netem test's layers, bits per second.
var simLayers = []float64{130_000, 420_000, 950_000}

// simulate runs the estimator over l for d from *now: the sender sends
// the best layer the estimate allows, chosen every 500 ms (as
// allocationInterval) and at once on a decrease, in 1000-byte packets;
// the subscriber's feedback comes every 100 ms, and what the feedback
// says reaches the estimator 20 ms later. It returns the layer chosen
// at each 100 ms.
func simulate(t *testing.T, e *sendEstimator, l *link, now *int64, seq *uint16, layer *int, d time.Duration) []int {
	t.Helper()
	var chosen []int
	credit := 0.0
	end := *now + int64(d/time.Microsecond)
	for ; *now < end; *now += 1000 { // 1 ms steps
		if *now%500_000 == 0 {
			*layer = pickLayer(e.GetTargetBitrate())
		}
		select {
		case <-e.lowered:
			*layer = pickLayer(e.GetTargetBitrate())
		default:
		}
		credit += simLayers[*layer] / 8 / 1000
		for credit >= 1000 {
			credit -= 1000
			e.history[*seq&historyMask].Store(historyEntry(*seq, *now, 1000))
			l.send(*seq, *now, 1000)
			*seq++
		}
		l.deliver(*now - 20_000) // the feedback's way back
		if *now%100_000 == 0 {
			for _, b := range feedbackBytes(t, l.rec) {
				e.feedback(b, *now)
			}
			chosen = append(chosen, *layer)
		}
	}
	return chosen
}

func pickLayer(bps int) int {
	q := 0
	for i, r := range simLayers {
		if float64(bps) >= r {
			q = i
		}
	}
	return q
}

// On a link that narrows to 600 kbit/s the estimate takes the video to a
// lower layer within 2 s, loses under 2 % once settled, and goes back to
// the top layer within 10 s of the link widening again.
func TestEstimatorFollowsACappedLink(t *testing.T) {
	e := newSendEstimator()
	l := &link{bps: 5e6, rec: twcc.NewRecorder(1), r: rand.New(rand.NewPCG(1, 2))}
	var now int64 = 100_000
	var seq uint16
	layer := pickLayer(e.GetTargetBitrate())
	if got := simulate(t, e, l, &now, &seq, &layer, 5*time.Second); got[len(got)-1] != 2 {
		t.Fatalf("on a wide link the video is on layer %d, want 2", got[len(got)-1])
	}
	l.bps = 600_000
	got := simulate(t, e, l, &now, &seq, &layer, 2*time.Second)
	if got[len(got)-1] == 2 {
		t.Fatalf("2 s after the link narrowed to 600 kbit/s the video is still on the top layer (estimate %d)", e.GetTargetBitrate())
	}
	simulate(t, e, l, &now, &seq, &layer, 3*time.Second)
	l.sent, l.dropped = 0, 0
	got = simulate(t, e, l, &now, &seq, &layer, 5*time.Second)
	if loss := float64(l.dropped) / float64(l.sent); loss > 0.02 {
		t.Errorf("from 5 s to 10 s under the cap %.1f %% lost (layers %v), want under 2 %%", loss*100, got)
	}
	l.bps = 5e6
	got = simulate(t, e, l, &now, &seq, &layer, 10*time.Second)
	if got[len(got)-1] != 2 {
		t.Errorf("10 s after the link widened the video is on layer %d (estimate %d), want 2", got[len(got)-1], e.GetTargetBitrate())
	}
}

// Random loss of 5 % alone does not take the video down: it is not
// congestion, and NACKs make up for it.
func TestEstimatorKeepsTheLayerUnderRandomLoss(t *testing.T) {
	e := newSendEstimator()
	l := &link{bps: 5e6, loss: 0.05, rec: twcc.NewRecorder(1), r: rand.New(rand.NewPCG(3, 4))}
	var now int64 = 100_000
	var seq uint16
	layer := pickLayer(e.GetTargetBitrate())
	got := simulate(t, e, l, &now, &seq, &layer, 10*time.Second)
	for i, q := range got[10:] {
		if q != 2 {
			t.Fatalf("under 5 %% random loss the video went to layer %d at %d ms", q, (i+10)*100)
		}
	}
	if e.congested() {
		t.Error("5 % random loss counts as congestion: retransmissions would stop")
	}
}

// Stamping a packet and judging a feedback allocate nothing.
func TestEstimatorAllocatesNothing(t *testing.T) {
	e := newSendEstimator()
	e.setStamping(true)
	info := &interceptor.StreamInfo{MimeType: "video/VP8", RTPHeaderExtensions: []interceptor.RTPHeaderExtension{{URI: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", ID: 5}}}
	w := e.BindLocalStream(info, interceptor.RTPWriterFunc(func(*rtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	exts := make([]rtp.Extension, 0, 2)
	h := rtp.Header{Version: 2, SSRC: 1}
	payload := make([]byte, 1000)
	if n := testing.AllocsPerRun(1000, func() {
		h.Extensions = exts[:0]
		_, _ = w.Write(&h, payload, nil)
	}); n != 0 {
		t.Errorf("stamping allocates %.1f times a packet", n)
	}
	if len(h.GetExtension(5)) != 2 {
		t.Error("the packet left without its transport-wide number")
	}
	rec := twcc.NewRecorder(1)
	for seq := range uint16(1000) {
		rec.Record(2, seq, int64(seq)*1000)
	}
	fb := feedbackBytes(t, rec)
	var now int64
	if n := testing.AllocsPerRun(100, func() {
		now += 6e6 // past the duplicate check
		for _, b := range fb {
			e.feedback(b, now)
		}
	}); n != 0 {
		t.Errorf("judging a feedback allocates %.1f times", n)
	}
	if _, ok := e.BindLocalStream(&interceptor.StreamInfo{MimeType: "audio/opus", RTPHeaderExtensions: info.RTPHeaderExtensions}, nil).(*estimatedStream); ok {
		t.Error("audio goes through the estimator")
	}
}
