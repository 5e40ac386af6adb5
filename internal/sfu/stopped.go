package sfu

import "time"

// A browser short of CPU or bandwidth stops sending its top simulcast
// layers, and starts them again later. A subscriber on a layer that
// stopped sees its tile freeze until it is moved to one that flows. The
// layers' measured rates (bandwidth.go) show a stop within one to two
// allocation intervals, 0.5-1 s; the packets' own arrival shows it
// sooner: a track's layers carry the same frames, so a layer that has had
// no packet for layerStoppedAfter while the others have had several
// (stoppedAfterOthers) has stopped. A slow video (a camera turned off
// sends a black frame a second, a packet per layer) is not taken for
// stopped: its layers' packets come together, rarely.
const (
	layerStoppedAfter  = 300 * time.Millisecond
	stoppedAfterOthers = 4
	// stoppedCheckEvery bounds how often a track's layers are looked at:
	// once per interval, by whichever layer's packet comes first.
	stoppedCheckEvery = 100 * time.Millisecond
	// stoppedAtLeast keeps a stopped layer out of the choice that long,
	// even if it flows again sooner: subscribers are not switched away
	// and back at every stutter, each switch costing a keyframe.
	stoppedAtLeast = time.Second
)

// seen records a packet of l that came at now (Unix nanoseconds) and, at
// most every stoppedCheckEvery, looks for layers of t that stopped or
// flow again; the subscribers choose again when one did.
func (t *track) seen(l *layer, now int64) {
	if !t.simulcast {
		return
	}
	n := t.packets.Add(1)
	l.lastPacket.Store(now)
	l.packetsAtLast.Store(n)
	last := t.stopCheck.Load()
	if now-last < int64(stoppedCheckEvery) || !t.stopCheck.CompareAndSwap(last, now) {
		return
	}
	if t.checkStopped(now, n) {
		if t.owner != nil && t.owner.log != nil {
			t.owner.log.Debug("simulcast layers changed", "stream", t.streamID(), "flowing", t.qualities())
		}
		t.layersChanged()
	}
}

// checkStopped marks the layers that stopped, and unmarks those that flow
// again after stoppedAtLeast; it reports whether any changed. n is the
// number of the track's packets so far.
func (t *track) checkStopped(now int64, n uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.layers) < 2 {
		return false
	}
	changed := false
	for _, l := range t.layers {
		idle := now - l.lastPacket.Load()
		others := n - l.packetsAtLast.Load() // the other layers' since its last
		stopped := l.stoppedAt.Load()
		switch {
		case stopped == 0 && idle > int64(layerStoppedAfter) && others >= stoppedAfterOthers:
			l.stoppedAt.Store(now)
			changed = true
		case stopped != 0 && idle < int64(stoppedCheckEvery) && now-stopped > int64(stoppedAtLeast):
			l.stoppedAt.Store(0)
			changed = true
		}
	}
	return changed
}
