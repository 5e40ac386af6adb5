package media

import (
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// A member that renegotiates in a loop (sfu-publish, or sfu-subscribe and
// sfu-leave, as fast as it can) is refused with rate-limited once past
// its burst; the others' media keeps flowing, and nothing of it is left
// once it leaves.
func TestRenegotiationStormIsRateLimited(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	a := joinWire(t, m, "r", "alice")
	b := joinWire(t, m, "r", "bob")
	// Both publish, so that both have their receiving connections up
	// before the count of goroutines: mallory's tracks add none.
	a.client.Publish()
	b.client.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.client.Received("alice/cam") > 20 })
	sfutest.WaitFor(t, "alice receives bob", 10*time.Second, func() bool { return a.client.Received("bob/cam") > 20 })
	time.Sleep(500 * time.Millisecond) // goroutines of the two settle
	baseline := runtime.NumGoroutine()

	mal := joinWire(t, m, "r", "mallory")
	mal.client.Publish() // a valid first offer
	offer := description{Type: "offer", SDP: mal.client.Pub.LocalDescription().SDP}
	before := b.client.Received("alice/cam")
	start := time.Now()
	allowed, limited := 0, 0
	storm := func(event string, v any) {
		_, err := mal.call(event, v)
		var e *Error
		switch {
		case err == nil:
			allowed++
		case errors.As(err, &e) && e.Code == "rate-limited":
			limited++
		case errors.As(err, &e) && (e.Code == "bad-sdp" || e.Code == "not-in-sfu"):
			allowed++ // let through to the SFU, which refused it
		default:
			t.Fatalf("%s: %v", event, err)
		}
	}
	for i := 0; i < 100; i++ {
		storm("sfu-publish", offer)
	}
	for i := 0; i < 50; i++ {
		storm("sfu-leave", struct{}{})
		storm("sfu-subscribe", struct{}{})
	}
	elapsed := time.Since(start)
	// The first offer, the burst of 10 and one a second.
	most := 10 + int(elapsed.Seconds()) + 1
	if allowed > most || limited < 200-most {
		t.Errorf("storm of 200 renegotiations in %s: %d let through, %d rate-limited; want at most %d through", elapsed.Round(time.Millisecond), allowed, limited, most)
	}
	sfutest.WaitFor(t, "bob still receives alice", 5*time.Second, func() bool { return b.client.Received("alice/cam") > before+50 })

	m.Left("r", "mallory")
	mal.client.Close()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+5 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after mallory left, %d before she came:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}
