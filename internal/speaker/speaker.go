// Package speaker finds who is speaking in a meeting from the audio levels
// that browsers put in every Opus packet (RFC 6464: 0 is the loudest, 127
// silence, in -dBov).
//
// Two questions are answered, each on its own time scale:
//
//   - Dominant: the one person the meeting is listening to, for the big
//     tile. It changes only when someone else has spoken for most of the
//     last seconds and the current speaker has not, so a cough, a laugh or
//     a door does not move the stage; and it is held for a while after a
//     change so the stage does not flicker between two people talking over
//     each other.
//   - Loudest: the few people speaking now, for forwarding only their audio
//     in a large meeting. This follows the last half second.
//
// Levels are grouped into short intervals; a participant's interval counts
// as speech when its loudest packet is above the threshold. That makes the
// detector cheap (a few integers per participant) and independent of the
// packet rate.
package speaker

import (
	"sort"
	"sync"
	"time"
)

// Config tunes a Detector. The zero value of every field means the default
// given beside it.
type Config struct {
	// Threshold is the RFC 6464 level at or below which (that is, at least
	// as loud as -Threshold dBov) a packet counts as speech. 0: 50.
	Threshold uint8
	// Interval is the length of one interval. 0: 100 ms.
	Interval time.Duration
	// Window is how many intervals the dominant speaker is judged on.
	// 0: 20 (2 s with the default interval).
	Window int
	// Recent is how many of the last intervals Loudest looks at. 0: 5.
	Recent int
	// MinSpeech is the share of the window a participant must have spoken
	// to become dominant. 0: 0.3, so a burst shorter than 0.6 s never does.
	MinSpeech float64
	// Hold is how long a new dominant speaker keeps the stage at least.
	// 0: 1.5 s.
	Hold time.Duration
}

func (c Config) withDefaults() Config {
	if c.Threshold == 0 {
		c.Threshold = 50
	}
	if c.Interval <= 0 {
		c.Interval = 100 * time.Millisecond
	}
	if c.Window <= 0 {
		c.Window = 20
	}
	if c.Recent <= 0 || c.Recent > c.Window {
		c.Recent = min(5, c.Window)
	}
	if c.MinSpeech <= 0 {
		c.MinSpeech = 0.3
	}
	if c.Hold <= 0 {
		c.Hold = 1500 * time.Millisecond
	}
	return c
}

// Detector follows the audio levels of a meeting's participants. It is
// safe for concurrent use: each published audio track reports its packets
// from its own goroutine.
type Detector struct {
	cfg Config

	mu       sync.Mutex
	people   map[string]*history
	dominant string
	since    time.Time // when dominant got the stage
}

// history is one participant's recent intervals: bit i of speech says
// whether interval (current-i) had speech; loudness is the loudest level
// (127 minus the RFC 6464 value) of each of the last Recent intervals.
type history struct {
	current  int64  // index of the current interval since the Unix epoch
	speech   uint64 // bit 0 is the current interval
	loudness []uint8
}

// New returns a Detector for one meeting.
func New(cfg Config) *Detector {
	cfg = cfg.withDefaults()
	if cfg.Window > 64 {
		cfg.Window = 64 // one bit per interval in a uint64
	}
	return &Detector{cfg: cfg, people: map[string]*history{}}
}

// Observe records one audio packet's level from participant id.
func (d *Detector) Observe(id string, level uint8, now time.Time) {
	if level > 127 {
		level = 127
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	h := d.people[id]
	if h == nil {
		h = &history{loudness: make([]uint8, d.cfg.Recent)}
		d.people[id] = h
	}
	d.advance(h, now)
	loud := 127 - level
	if loud > h.loudness[0] {
		h.loudness[0] = loud
	}
	if level <= d.cfg.Threshold {
		h.speech |= 1
	}
}

// Remove forgets a participant who left.
func (d *Detector) Remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.people, id)
	if d.dominant == id {
		d.dominant = ""
	}
}

// advance moves h's intervals forward to now; intervals without packets
// (a muted or silent participant sends few or none) count as silence.
func (d *Detector) advance(h *history, now time.Time) {
	cur := now.UnixNano() / int64(d.cfg.Interval)
	steps := cur - h.current
	if steps <= 0 {
		return
	}
	h.current = cur
	if steps >= 64 {
		h.speech = 0
	} else {
		h.speech <<= uint(steps)
	}
	n := len(h.loudness)
	if steps >= int64(n) {
		clear(h.loudness)
		return
	}
	copy(h.loudness[steps:], h.loudness[:n-int(steps)])
	clear(h.loudness[:steps])
}

// share is the part of the window in which h had speech, not counting the
// current, unfinished interval.
func (d *Detector) share(h *history) float64 {
	mask := uint64(1)<<uint(d.cfg.Window) - 1
	if d.cfg.Window == 64 {
		mask = ^uint64(0)
	}
	bits := (h.speech >> 1) & mask
	n := 0
	for ; bits != 0; bits &= bits - 1 {
		n++
	}
	return float64(n) / float64(d.cfg.Window)
}

// Dominant returns the dominant speaker at now ("" before anyone spoke)
// and whether it changed since the last call that reported a change.
func (d *Detector) Dominant(now time.Time) (id string, changed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	best, bestShare := "", 0.0
	for pid, h := range d.people {
		d.advance(h, now)
		if s := d.share(h); s > bestShare || (s == bestShare && pid < best) {
			best, bestShare = pid, s
		}
	}
	if best == "" || best == d.dominant || bestShare < d.cfg.MinSpeech {
		return d.dominant, false
	}
	if d.dominant != "" {
		if now.Sub(d.since) < d.cfg.Hold {
			return d.dominant, false
		}
		// The current speaker keeps the stage while still speaking about
		// as much: two people talking over each other do not swap it.
		if cur := d.people[d.dominant]; cur != nil && d.share(cur) >= d.cfg.MinSpeech && d.share(cur)+0.15 >= bestShare {
			return d.dominant, false
		}
	}
	d.dominant, d.since = best, now
	return best, true
}

// Loudest returns up to n participants who spoke in the last intervals,
// loudest first. Participants who did not speak are never in it.
func (d *Detector) Loudest(n int, now time.Time) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	type entry struct {
		id   string
		loud uint8
	}
	var speaking []entry
	recent := uint64(1)<<uint(d.cfg.Recent) - 1
	for id, h := range d.people {
		d.advance(h, now)
		if h.speech&recent == 0 {
			continue
		}
		var loud uint8
		for _, l := range h.loudness {
			loud = max(loud, l)
		}
		speaking = append(speaking, entry{id, loud})
	}
	sort.Slice(speaking, func(i, j int) bool {
		if speaking[i].loud != speaking[j].loud {
			return speaking[i].loud > speaking[j].loud
		}
		return speaking[i].id < speaking[j].id
	})
	out := make([]string, 0, min(n, len(speaking)))
	for _, e := range speaking[:min(n, len(speaking))] {
		out = append(out, e.id)
	}
	return out
}
