package signaling

import (
	"errors"
	"math"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// The limits on guessing a meeting password. A short PIN falls in well under
// a second to an unthrottled client, so every wrong password makes the next
// check from the same address wait (after a couple that are free: people
// mistype), twice as long each time, and a few make it wait minutes. Addresses are counted by iplimit.Key (an IPv6 /64),
// so new sockets or new IPv6 addresses of one host do not start afresh. A
// room also counts failures from every address, for guessers with many
// addresses; its lockout is short, because it also keeps out people who know
// the password.
const (
	guessFree        = 2                // failures that cost no wait: people mistype
	guessBackoff     = time.Second      // wait after the first failure past guessFree; doubles with each
	guessPerIP       = 5                // failures per address and room before the lockout
	guessIPLockout   = 10 * time.Minute // the address's wait from then on, per failure
	guessForget      = time.Hour        // an address's failures are forgotten this long after the last
	guessPerRoom     = 20               // failures per room, from anywhere, in guessRoomWindow
	guessRoomWindow  = 10 * time.Minute //
	guessRoomLockout = time.Minute      // no password is checked in the room for this long
	guessMaxEntries  = 100_000          // address-room pairs remembered (about 100 bytes each)
)

var (
	// ErrTooManyAttempts refuses a join whose password is not checked now;
	// the error carries retryAfter (see retryError).
	ErrTooManyAttempts = &rooms.Error{Code: "too-many-attempts", Message: "too many wrong passwords; wait before trying again"}
	// ErrNameTaken refuses a newcomer whose name is the host's.
	ErrNameTaken = &rooms.Error{Code: "name-taken", Message: "that is the host's name; choose another"}
)

// retryError is a refusal that tells the client when to try again: the
// error body gets retryAfter, in whole seconds.
type retryError struct {
	err   *rooms.Error
	after time.Duration
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// retryAfterSeconds rounds up, so a client that waits that long is let in.
func (e *retryError) retryAfterSeconds() int {
	return max(1, int(math.Ceil(e.after.Seconds())))
}

// passwordGuard remembers wrong meeting passwords per address and room and
// per room. It is safe for concurrent use.
type passwordGuard struct {
	now func() time.Time

	mu     sync.Mutex
	byIP   map[guessKey]*guessRecord
	byRoom map[string]*roomGuesses
	swept  time.Time
}

type guessKey struct {
	ip   netip.Prefix
	room string
}

type guessRecord struct {
	failures int
	last     time.Time // of the last failure
	until    time.Time // no password of this address is checked in the room before
}

type roomGuesses struct {
	start    time.Time // of the counting window
	failures int       // in the window
	total    int       // since the room was first guessed at: what the host is told
	until    time.Time // no password is checked in the room before
}

func newPasswordGuard() *passwordGuard {
	return &passwordGuard{now: time.Now, byIP: map[guessKey]*guessRecord{}, byRoom: map[string]*roomGuesses{}}
}

// wait is how long ip must wait before a password it sends for room is
// checked; 0 means now.
func (g *passwordGuard) wait(ip netip.Addr, room string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var until time.Time
	if rec := g.byIP[guessKey{iplimit.Key(ip), room}]; rec != nil {
		until = rec.until
	}
	if rg := g.byRoom[room]; rg != nil && rg.until.After(until) {
		until = rg.until
	}
	return max(0, until.Sub(now))
}

// failed records a wrong password from ip for room. It returns the
// address's failures in the room, the room's total and how long the
// address must now wait.
func (g *passwordGuard) failed(ip netip.Addr, room string) (failures, total int, wait time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	g.sweep(now)
	key := guessKey{iplimit.Key(ip), room}
	rec := g.byIP[key]
	if rec == nil {
		g.makeRoom(len(g.byIP))
		rec = &guessRecord{}
		g.byIP[key] = rec
	}
	rec.failures++
	rec.last = now
	switch {
	case rec.failures >= guessPerIP:
		rec.until = now.Add(guessIPLockout)
	case rec.failures > guessFree:
		rec.until = now.Add(guessBackoff << (rec.failures - guessFree - 1))
	}

	rg := g.byRoom[room]
	if rg == nil {
		g.makeRoom(len(g.byRoom))
		rg = &roomGuesses{start: now}
		g.byRoom[room] = rg
	}
	if now.Sub(rg.start) >= guessRoomWindow {
		rg.start, rg.failures = now, 0
	}
	rg.failures++
	rg.total++
	if rg.failures >= guessPerRoom {
		rg.until = now.Add(guessRoomLockout)
		rg.start, rg.failures = now, 0
	}
	until := rec.until
	if rg.until.After(until) {
		until = rg.until
	}
	return rec.failures, rg.total, max(0, until.Sub(now))
}

// succeeded forgets ip's failures in room: it knows the password.
func (g *passwordGuard) succeeded(ip netip.Addr, room string) {
	g.mu.Lock()
	delete(g.byIP, guessKey{iplimit.Key(ip), room})
	g.mu.Unlock()
}

// sweep forgets what no longer slows anyone down, at most once a minute.
func (g *passwordGuard) sweep(now time.Time) {
	if now.Sub(g.swept) < time.Minute {
		return
	}
	g.swept = now
	for k, rec := range g.byIP {
		if now.Sub(rec.last) >= guessForget && now.After(rec.until) {
			delete(g.byIP, k)
		}
	}
	for k, rg := range g.byRoom {
		if now.Sub(rg.start) >= guessRoomWindow && now.After(rg.until) {
			delete(g.byRoom, k)
		}
	}
}

// makeRoom keeps a map under guessMaxEntries by forgetting one entry
// when it is full: under an attack from that many addresses a forgotten
// address gets a few more guesses, while the room's own count still holds.
func (g *passwordGuard) makeRoom(n int) {
	if n < guessMaxEntries {
		return
	}
	for k := range g.byIP {
		delete(g.byIP, k)
		break
	}
	for k := range g.byRoom {
		if len(g.byRoom) < guessMaxEntries {
			break
		}
		delete(g.byRoom, k)
	}
}

// guardedJoin is rooms.Join with the password guard and the host-name check
// around it. While an address (or the room) must wait, its password is not
// checked at all: the join is tried without it, so a participant resuming
// with its token still gets back in, and anyone else with a password gets
// too-many-attempts — whether the password was right or not.
func (s *Service) guardedJoin(ss *session, req rooms.JoinRequest) (rooms.JoinResult, error) {
	ip := s.clientIP(ss.sock)
	wait := s.guard.wait(ip, req.Room)
	tried := req.Password != ""
	if wait > 0 {
		req.Password = ""
	}
	res, err := s.rooms.Join(req)
	if errors.Is(err, rooms.ErrWrongPassword) && tried {
		if wait > 0 {
			return res, &retryError{ErrTooManyAttempts, wait}
		}
		return res, s.passwordFailed(ip, req.Room)
	}
	if err != nil {
		return res, err
	}
	if tried && wait == 0 {
		s.guard.succeeded(ip, req.Room)
	}
	if err := s.checkName(res); err != nil {
		return rooms.JoinResult{}, err
	}
	return res, nil
}

// passwordFailed counts a wrong password, logs it (never the password) and
// tells the host.
func (s *Service) passwordFailed(ip netip.Addr, room string) error {
	failures, total, wait := s.guard.failed(ip, room)
	s.log.Warn("wrong meeting password", "room", room, "remote", ip,
		"failures", failures, "roomFailures", total, "wait", wait.Round(time.Second))
	if r := s.rooms.Lookup(room); r != nil {
		if host := r.Member(r.Host()); host != nil {
			if pkt, err := socketio.EncodeEvent("password-failures", map[string]int{"count": total}); err == nil {
				r.Deliver(host, pkt)
			}
		}
	}
	return rooms.ErrWrongPassword
}

// checkName undoes a join whose name is the host's, folded: nobody new
// may pass for the host. A resume keeps its name (it was checked when it
// first joined), the host itself is not compared with itself, and the
// default name is everybody's who gave none.
func (s *Service) checkName(res rooms.JoinResult) error {
	if res.Resumed {
		return nil
	}
	r, p := res.Room, res.Participant
	host := r.Member(r.Host())
	if host == nil || host == p || foldName(host.Name) != foldName(p.Name) || foldName(p.Name) == foldName(defaultName) {
		return nil
	}
	// Nobody has been told of p yet: it leaves as quietly as it came.
	r.Leave(p)
	return ErrNameTaken
}

// foldName is a name as compared for impersonation: case-folded, with
// every run of spaces one space.
func foldName(name string) string {
	return strings.ToLower(strings.Join(strings.Fields(name), " "))
}
