package signaling

import (
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a guard clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func guardWithClock() (*passwordGuard, *fakeClock) {
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	g := newPasswordGuard()
	g.now = clock.Now
	return g, clock
}

// TestPasswordGuardSchedule checks the waits: two free failures, then
// doubling from a second, a lockout at the fifth failure, per address
// block and room.
func TestPasswordGuardSchedule(t *testing.T) {
	g, clock := guardWithClock()
	ip := netip.MustParseAddr("2001:db8::1")
	sameBlock := netip.MustParseAddr("2001:db8::ffff") // same /64: same count
	other := netip.MustParseAddr("192.0.2.7")
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, guessIPLockout, guessIPLockout}
	for i, w := range want {
		from := ip
		if i%2 == 1 {
			from = sameBlock
		}
		if d := g.wait(from, "r"); d != 0 {
			t.Fatalf("failure %d: still waiting %v before it", i+1, d)
		}
		n, _, d := g.failed(from, "r")
		if n != i+1 || d != w {
			t.Fatalf("failure %d: count %d wait %v, want %d and %v", i+1, n, d, i+1, w)
		}
		if got := g.wait(ip, "r"); got != w {
			t.Fatalf("after failure %d: wait %v, want %v", i+1, got, w)
		}
		if g.wait(other, "r") != 0 || g.wait(ip, "other-room") != 0 {
			t.Fatalf("after failure %d: another address or room must not wait", i+1)
		}
		clock.Add(w)
	}
	// A right password forgets the address's failures.
	g.failed(ip, "r")
	g.succeeded(ip, "r")
	if d := g.wait(ip, "r"); d != 0 {
		t.Fatalf("after success: wait %v", d)
	}
}

// TestPasswordGuardRoomLockout: many addresses together lock the room
// briefly; the room's count is what the host is told.
func TestPasswordGuardRoomLockout(t *testing.T) {
	g, clock := guardWithClock()
	fresh := netip.MustParseAddr("198.51.100.200")
	for i := range guessPerRoom {
		ip := netip.AddrFrom4([4]byte{203, 0, 113, byte(i)})
		_, total, _ := g.failed(ip, "r")
		if total != i+1 {
			t.Fatalf("room total %d, want %d", total, i+1)
		}
		if i < guessPerRoom-1 && g.wait(fresh, "r") != 0 {
			t.Fatalf("room locked after %d failures", i+1)
		}
	}
	if d := g.wait(fresh, "r"); d != guessRoomLockout {
		t.Fatalf("room wait %v, want %v", d, guessRoomLockout)
	}
	clock.Add(guessRoomLockout)
	if d := g.wait(fresh, "r"); d != 0 {
		t.Fatalf("room still locked after its lockout: %v", d)
	}
}

// TestPasswordGuardForgets: entries are swept, and the maps stay bounded.
func TestPasswordGuardForgets(t *testing.T) {
	g, clock := guardWithClock()
	g.failed(netip.MustParseAddr("192.0.2.1"), "r")
	clock.Add(guessForget + time.Minute)
	g.failed(netip.MustParseAddr("192.0.2.2"), "s") // sweeps
	if len(g.byIP) != 1 || len(g.byRoom) != 1 {
		t.Fatalf("after the sweep: %d address entries, %d rooms; want 1 and 1", len(g.byIP), len(g.byRoom))
	}
	for i := range guessMaxEntries + 10 {
		g.failed(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), "r")
	}
	if len(g.byIP) > guessMaxEntries {
		t.Fatalf("%d address entries, cap %d", len(g.byIP), guessMaxEntries)
	}
}

// TestPasswordGuessingIsSlowedDown is the attack of issue 18 on a real
// server: wrong passwords from one address. The second guess at once is
// refused with too-many-attempts and a retryAfter — even when it is the
// right password —, the host hears of each failure, the server logs them
// at warn without the password, and a participant who knows the password
// gets in once the wait is over. On the old code every guess was checked.
func TestPasswordGuessingIsSlowedDown(t *testing.T) {
	ts := newTestServer(t, Config{})
	clock := &fakeClock{now: time.Now()}
	ts.svc.guard.now = clock.Now

	host := ts.dial()
	host.join("pinroom", "Host", "")
	if r := host.ask("room-settings", map[string]any{"password": "4711"}); !r.OK {
		t.Fatalf("set password: %s", r.raw)
	}

	guesser := ts.dial()
	var r reply
	// Two wrong passwords are free: people mistype.
	for _, pw := range []string{"0000", "0001"} {
		r = guesser.ask("join-room", map[string]string{"room": "pinroom", "name": "G", "password": pw})
		if r.OK || r.Error.Code != "wrong-password" {
			t.Fatalf("guess %s: %s", pw, r.raw)
		}
	}
	// The third failure makes the next check wait a second.
	r = guesser.ask("join-room", map[string]string{"room": "pinroom", "name": "G", "password": "0002"})
	if r.OK || r.Error.Code != "wrong-password" {
		t.Fatalf("third guess: %s", r.raw)
	}
	for _, pw := range []string{"0003", "4711"} { // the right one is not checked either
		r = guesser.ask("join-room", map[string]string{"room": "pinroom", "name": "G", "password": pw})
		if r.OK || r.Error.Code != "too-many-attempts" || r.Error.RetryAfter != 1 {
			t.Fatalf("guess %s right after a failure: %s", pw, r.raw)
		}
	}
	// No password at all guesses nothing: it is told the room needs one.
	r = guesser.ask("join-room", map[string]string{"room": "pinroom", "name": "G"})
	if r.OK || r.Error.Code != "wrong-password" {
		t.Fatalf("join without a password while waiting: %s", r.raw)
	}
	// A second socket from the same address waits too.
	if r := ts.dial().ask("join-room", map[string]string{"room": "pinroom", "password": "0004"}); r.Error.Code != "too-many-attempts" {
		t.Fatalf("another socket of the guesser: %s", r.raw)
	}

	var fail struct{ Count int }
	got := host.waitFor("password-failures", 1)
	if err := json.Unmarshal(got[0], &fail); err != nil || fail.Count != 1 {
		t.Fatalf("host told %s, want count 1", got[0])
	}

	// Two more failures, each after its wait, then the lockout.
	for i, w := range []time.Duration{time.Second, 2 * time.Second} {
		clock.Add(w)
		r = guesser.ask("join-room", map[string]string{"room": "pinroom", "name": "G", "password": "9999"})
		if r.Error.Code != "wrong-password" {
			t.Fatalf("guess %d after waiting %v: %s", i+4, w, r.raw)
		}
	}
	r = guesser.ask("join-room", map[string]string{"room": "pinroom", "name": "G", "password": "4711"})
	if r.Error.Code != "too-many-attempts" || r.Error.RetryAfter != int(guessIPLockout/time.Second) {
		t.Fatalf("after 5 failures: %s, want too-many-attempts with retryAfter %d", r.raw, int(guessIPLockout/time.Second))
	}
	host.waitFor("password-failures", 5)
	logs := ts.logs.String()
	if strings.Count(logs, "level=WARN msg=\"wrong meeting password\"") != 5 {
		t.Fatalf("want 5 warnings of wrong passwords, logs:\n%s", logs)
	}
	for _, pw := range []string{"0000", "9999", "4711"} {
		if strings.Contains(logs, pw) {
			t.Fatalf("a password (%s) is in the logs:\n%s", pw, logs)
		}
	}

	// After the lockout the right password lets the guesser in.
	clock.Add(guessIPLockout)
	guesser.join("pinroom", "G", "4711")
}
