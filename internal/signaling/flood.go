package signaling

import (
	"errors"
	"time"

	"github.com/huddlehq/huddle/socketio"
)

// A socket over its event rate gets one rate-limited answer; what it sends
// while it stays over is dropped without an answer (an answer per event
// cost the server a core against one client sending a million events), and
// a socket that stays over is disconnected. "Stays over" ends once it has
// sent nothing refused for floodQuiet; it lasts too long after floodTime,
// or after the socket's burst (EventBurst) of refused events.
const (
	floodQuiet = time.Second
	floodTime  = 10 * time.Second
)

var (
	// errDropped: a refused event that is not answered.
	errDropped = errors.New("signaling: over the rate limit; dropped")
	// errFlood: the socket stayed over its limit; it is disconnected.
	errFlood = errors.New("signaling: flooding; disconnect")
)

// floodState is a socket's current run over its rate limit.
type floodState struct {
	over    bool
	since   time.Duration // of the first refusal of the run (clockBase time)
	last    time.Duration // of the latest refusal
	refused int           // in the run
}

// rateLimit takes a token for one event at now and decides what a refusal
// does: ErrRateLimited (answered) for the first of a run, errDropped after
// it, errFlood when the run has gone on too long. Called with ss.mu held.
func (s *Service) rateLimit(ss *session, now time.Duration) error {
	f := &ss.flood
	if ss.limit.allowAt(now, s.cfg.EventsPerSecond, s.cfg.EventBurst) {
		if f.over && now-f.last >= floodQuiet {
			*f = floodState{}
		}
		return nil
	}
	if !f.over || now-f.last >= floodQuiet {
		*f = floodState{over: true, since: now, last: now, refused: 1}
		return ErrRateLimited
	}
	f.last = now
	f.refused++
	if f.refused > s.cfg.EventBurst || now-f.since >= floodTime {
		return errFlood
	}
	return errDropped
}

// floodDisconnect ends a socket that stayed over its rate limit. Its
// participant leaves at once: keeping its place for a reconnect would
// invite the same flood back under the same identity.
func (s *Service) floodDisconnect(ss *session, ev *socketio.Event) {
	ss.mu.Lock()
	refused, lasted := ss.flood.refused, ss.flood.last-ss.flood.since
	ss.mu.Unlock()
	s.metrics.EventRefused(ev.Name, "flood")
	s.log.Warn("socket disconnected for flooding", "socket", ss.sock.ID(), "remote", ss.sock.RemoteAddr(),
		"refused", refused, "over", lasted.Round(time.Millisecond), "event", ev.Name)
	s.leave(ss, "flooding")
	ss.sock.Disconnect()
}
