package live

import "time"

// Layout notes a stream takes (Manager.Note): the kinds of
// recording.LayoutEvent that move a screen on and off the stage.
const (
	NoteScreenOn  = "screen-on"
	NoteScreenOff = "screen-off"
)

// A shared screen has a slot of its own, on the stage. Several screens
// may be published at once; the newest share is shown. When a share
// begins and ends is known two ways:
//
//   - by its frames: a screen track arrives, or its frames come back after
//     a pause, and it is the newest share; it sends nothing for
//     occupiedFillAfter and it is not shown (a browser that stops sharing
//     keeps the track published, with nothing on it);
//   - by the meeting's notes (Manager.Note, from the participants'
//     media-state): screen-on shows it at once and keeps it shown while
//     it sends nothing (a still picture: its last keyframe is written
//     again, so that ffmpeg need not wait for it), screen-off takes it off
//     at once and its frames are ignored until the next screen-on.

func (f *feed) isScreen() bool { return f != nil && f.video && f.info.Screen }

// active reports whether a screen is being shared.
func (f *feed) active(now time.Time) bool {
	return !f.off && (f.noted || now.Sub(f.lastFrame) < occupiedFillAfter)
}

// note gives a layout note to the loop; a note that finds the queue full
// is dropped (the frames still say when a share begins and ends) rather
// than make the meeting's signaling wait for ffmpeg.
func (c *compositor) note(kind, participant string) {
	select {
	case c.events <- event{note: kind, participant: participant}:
	default:
	}
}

func (c *compositor) noted(kind, participant string, now time.Time) {
	if kind != NoteScreenOn && kind != NoteScreenOff {
		return
	}
	on := kind == NoteScreenOn
	c.notes[participant] = on
	for _, f := range c.screens {
		if f.info.PublisherID != participant {
			continue
		}
		f.noted, f.off = on, !on
		if on {
			f.onAt = now
		}
	}
	c.pickScreen(now)
}

func (c *compositor) addScreen(f *feed, now time.Time) {
	// A new track is a new share: an older screen-off is not about it.
	f.onAt, f.lastFrame, f.noted = now, now, c.notes[f.info.PublisherID]
	c.screens = append(c.screens, f)
	c.pickScreen(now)
}

func (c *compositor) endScreen(f *feed, now time.Time) {
	for i, x := range c.screens {
		if x == f {
			c.screens = append(c.screens[:i:i], c.screens[i+1:]...)
			break
		}
	}
	if c.screen.feed == f {
		c.screen.feed = nil
	}
	c.pickScreen(now)
}

// pickScreen puts the newest share in the screen slot (or none).
func (c *compositor) pickScreen(now time.Time) {
	var best *feed
	for _, f := range c.screens {
		if f.active(now) && (best == nil || !f.onAt.Before(best.onAt)) {
			best = f
		}
	}
	s := c.screen
	if best != s.feed {
		s.feed, s.needKey, s.shown, s.lastReal = best, true, false, time.Time{}
		name := ""
		if best != nil {
			if c.names != nil {
				name = c.names(c.room, best.info.PublisherID)
			}
			if name != "" {
				name += " (screen)"
			}
			best.requestKeyframe()
		}
		c.writeName(c.screenTrack(), name)
	}
	// The stage comes with the screen's first keyframe (screenFrame); from
	// one screen to another it stays, the older one shown until then.
	if s.feed == nil {
		c.setLayout(false, now)
	}
}

// screenFrame writes a screen's frame if it is the one shown.
func (c *compositor) screenFrame(ev event, now time.Time) {
	f := ev.feed
	if ev.keyframe {
		f.key = ev.data
	}
	f.fresh = ev.keyframe
	if f.off {
		return
	}
	if !f.noted && now.Sub(f.lastFrame) >= occupiedFillAfter {
		f.onAt = now // shared again: the newest share
	}
	f.lastFrame = now
	if c.screen.feed != f {
		c.pickScreen(now)
	}
	s := c.screen
	if s.feed != f || c.out == nil {
		return
	}
	if s.needKey {
		if !ev.keyframe {
			f.requestKeyframe()
			return
		}
		s.needKey = false
	}
	c.write(s, c.screenTrack(), ev.keyframe, max(now.Sub(c.t0).Milliseconds(), s.last+1), ev.data)
	s.lastReal = now
	if ev.keyframe && !s.shown {
		s.shown = true
		c.setLayout(true, now)
	}
}

// fillScreen ends the shares that went quiet, and fills the screen slot
// and the layout track as fill does the tiles: a quiet screen still
// shared gets its last keyframe again rather than black.
func (c *compositor) fillScreen(now time.Time) {
	c.pickScreen(now)
	nowMs := now.Sub(c.t0).Milliseconds()
	s := c.screen
	if (s.feed == nil || now.Sub(s.lastReal) >= occupiedFillAfter) && now.Sub(s.lastFill) >= emptyFillEvery {
		data := c.black
		if s.feed != nil && s.feed.key != nil {
			data = s.feed.key
		}
		c.write(s, c.screenTrack(), true, max(nowMs, s.last+1), data)
		s.lastFill = now
		if s.feed != nil && s.feed.key != nil && !s.shown {
			// A picture of the screen (after a new ffmpeg run, whose
			// keyframe it asked for may not come from a still screen).
			s.shown = true
			c.setLayout(true, now)
		}
		if s.feed != nil {
			// Its next frames go on from its picture, not this one: they
			// wait for a keyframe (asked for when they come). A keyframe
			// is asked for now only when this one is not the picture the
			// screen shows now (frames came after it): a still screen
			// costs the meeting no keyframes once it sent one.
			s.needKey = true
			if !s.feed.fresh {
				s.feed.requestKeyframe()
			}
		}
	}
	if now.Sub(c.layout.lastFill) >= emptyFillEvery {
		c.writeLayout(now)
	}
}

// setLayout switches the layout track to the stage or the grid.
func (c *compositor) setLayout(stage bool, now time.Time) {
	if stage == c.onStage {
		return
	}
	c.onStage = stage
	c.writeLayout(now)
}

func (c *compositor) writeLayout(now time.Time) {
	if c.out == nil {
		return
	}
	data := c.black
	if c.onStage {
		data = c.stage
	}
	c.write(c.layout, c.layoutTrack(), true, max(now.Sub(c.t0).Milliseconds(), c.layout.last+1), data)
	c.layout.lastFill = now
}
