package signaling

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRateLimitRuns walks one socket through a run over its limit: one
// answer, then silence, then the end of the socket — by count, by time —
// and a fresh answer after a quiet second.
func TestRateLimitRuns(t *testing.T) {
	s := NewService(Config{EventsPerSecond: 10, EventBurst: 5}, nil, nil, nil)
	at := time.Second
	step := func(ss *session, want error) {
		t.Helper()
		if err := s.rateLimit(ss, at); err != want {
			t.Fatalf("at %v (refused %d): %v, want %v", at, ss.flood.refused, err, want)
		}
	}

	ss := &session{}
	for range 5 {
		step(ss, nil) // the burst
	}
	step(ss, ErrRateLimited) // the first refusal is answered
	for range 4 {
		step(ss, errDropped) // the others are not
	}
	step(ss, errFlood) // more refusals in the run than a burst: gone

	// Quiet for a second: the bucket refills and the run is over.
	ss = &session{}
	for range 5 {
		step(ss, nil)
	}
	step(ss, ErrRateLimited)
	step(ss, errDropped)
	at += floodQuiet
	for range 5 {
		step(ss, nil) // the bucket is full again
	}
	step(ss, ErrRateLimited) // a new run is answered again

	// Slightly over the limit (12 events a second against 10) for
	// floodTime: one answer, then the end, though fewer events than a
	// burst were refused.
	s = NewService(Config{EventsPerSecond: 10, EventBurst: 100}, nil, nil, nil)
	ss = &session{}
	for range 100 {
		step(ss, nil)
	}
	step(ss, ErrRateLimited)
	for {
		at += time.Second / 12
		err := s.rateLimit(ss, at)
		if err == errFlood {
			break
		}
		if err == ErrRateLimited {
			t.Fatalf("at %v: a second answer in one run", at)
		}
		if at > time.Minute {
			t.Fatal("never disconnected")
		}
	}
	if lasted := at - ss.flood.since; lasted < floodTime || lasted > floodTime+time.Second {
		t.Fatalf("disconnected after %v over the limit, want about floodTime", lasted)
	}
	if ss.flood.refused >= 100 {
		t.Fatalf("%d refused: the count, not the time, ended the run", ss.flood.refused)
	}
}

// TestFloodIsDisconnected floods a real server from one socket: the
// first refusal is answered with rate-limited, the rest are not, the
// socket is disconnected and its participant leaves. On the old code every
// refused event was answered and the socket stayed.
func TestFloodIsDisconnected(t *testing.T) {
	ts := newTestServer(t, Config{})
	peer := ts.dial()
	peerID := peer.join("flood", "Peer", "").ID
	flooder := ts.dial()
	flooder.join("flood", "Flooder", "")

	candidate := json.RawMessage(`{"to":"` + peerID + `","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`)
	// A hundred events over the burst: one answer, the rest dropped
	// without one.
	for range 300 {
		if err := flooder.c.EmitRaw("ice-candidate", candidate); err != nil {
			t.Fatal(err)
		}
	}
	flooder.waitFor("signaling-error", 1)
	time.Sleep(100 * time.Millisecond)
	if errs := flooder.received("signaling-error"); len(errs) != 1 {
		t.Fatalf("flooder got %d signaling-error answers, want 1 (the first refusal)", len(errs))
	} else if e := string(errs[0]); !strings.Contains(e, `"code":"rate-limited"`) {
		t.Fatalf("the answer was %s, want rate-limited", e)
	}
	// Staying over the limit ends the socket.
	sent := 0
	for ; sent < 5000; sent++ {
		if err := flooder.c.EmitRaw("ice-candidate", candidate); err != nil {
			break
		}
	}
	select {
	case err := <-flooder.gone:
		// The client may see its own write fail before it reads the
		// DISCONNECT; the server's log says why.
		t.Logf("flooder disconnected after 300+%d events: %v", sent, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("flooder still connected after 300+%d events", sent)
	}
	peer.waitFor("user-left", 1)
	if !strings.Contains(ts.logs.String(), "socket disconnected for flooding") {
		t.Fatalf("no flood in the logs:\n%s", ts.logs.String())
	}
	// Every refused event is counted, answered or not: 1 answered and 199
	// dropped in the run that ends with the disconnect (more if a slow
	// machine let the run end between the two floods).
	if ts.metrics.refusals("ice-candidate/rate-limited") < 200 || ts.metrics.refusals("ice-candidate/flood") != 1 {
		t.Fatalf("metrics: %v, want at least 200 rate-limited (1 answered, 199 dropped) and 1 flood", ts.metrics.refused)
	}
}

// TestICEBurstPasses: a browser trickles its candidates in a burst; the
// default limits let 200 of them through at once, unanswered by any
// refusal. (Lowering the default burst to 20 fails here.)
func TestICEBurstPasses(t *testing.T) {
	ts := newTestServer(t, Config{})
	peer := ts.dial()
	peerID := peer.join("burst", "Peer", "").ID
	sender := ts.dial()
	sender.join("burst", "Sender", "")
	time.Sleep(100 * time.Millisecond) // the join's token comes back
	for i := range 200 {
		if err := sender.c.Emit("ice-candidate", map[string]any{"to": peerID, "candidate": map[string]any{"candidate": i}}); err != nil {
			t.Fatal(err)
		}
	}
	peer.waitFor("ice-candidate", 200)
	sender.sync()
	if errs := sender.received("signaling-error"); len(errs) != 0 {
		t.Fatalf("burst refused: %s", errs[0])
	}
	select {
	case err := <-sender.gone:
		t.Fatalf("sender disconnected: %v", err)
	default:
	}
}
