package live

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// stopGrace is how long ffmpeg may take to finish once its input ended
// (the host stopped the stream) before it is killed.
const stopGrace = 5 * time.Second

// stream is one room's live stream: its compositor, and the loop that
// runs ffmpeg again and again until the stream stops or fails.
type stream struct {
	m      *Manager
	room   string
	t      target
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
	reason atomic.Value // string: why it was stopped

	stMu sync.Mutex // also orders the OnStatus calls
	st   Status

	noteMu sync.Mutex
	notes  map[string]bool // screen notes before the compositor exists
	comp   *compositor
}

func newStream(m *Manager, room string, t target) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	return &stream{m: m, room: room, t: t, ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// setStatus changes the status and tells Config.OnStatus, in order.
func (s *stream) setStatus(state, reason string) Status {
	s.stMu.Lock()
	defer s.stMu.Unlock()
	if s.st.State == state && s.st.Reason == reason {
		return s.st
	}
	s.st = Status{State: state, Reason: reason, Target: s.t.Masked(), Since: time.Now()}
	if s.m.cfg.OnStatus != nil {
		s.m.cfg.OnStatus(s.room, s.st)
	}
	return s.st
}

func (s *stream) status() Status {
	s.stMu.Lock()
	defer s.stMu.Unlock()
	return s.st
}

// stop ends the stream and waits for its ffmpeg to exit.
func (s *stream) stop(reason string) {
	s.once.Do(func() {
		s.reason.Store(reason)
		s.cancel()
	})
	<-s.done
}

// run is the stream's life: the compositor attached to the room's media,
// then ffmpeg, again after a backoff whenever it fails, until the stream
// is stopped or has failed MaxAttempts times in a row.
func (s *stream) run() {
	defer close(s.done)
	cfg := s.m.cfg
	final, why := StateStopped, ""
	defer func() {
		if final == StateStopped {
			why, _ = s.reason.Load().(string)
		} else {
			s.m.failed.Add(1)
			s.m.log.Warn("live stream failed", "room", s.room, "reason", why)
		}
		s.m.ended(s)
		s.setStatus(final, why)
	}()
	black, err := blackFrame(s.ctx, cfg.FFmpeg)
	var stage []byte
	if err == nil {
		stage, err = stageFrame(s.ctx, cfg.FFmpeg)
	}
	if err != nil {
		if s.ctx.Err() == nil {
			final, why = StateFailed, "cannot run ffmpeg: "+s.t.scrub(err.Error())
		}
		return
	}
	dir, err := os.MkdirTemp("", "huddle-live-")
	if err != nil {
		final, why = StateFailed, err.Error()
		return
	}
	defer os.RemoveAll(dir)
	c := newCompositor(s.room, cfg, black, stage, dir, &s.m.dropped)
	s.noteMu.Lock()
	for p, on := range s.notes {
		c.notes[p] = on
	}
	s.comp = c
	s.noteMu.Unlock()
	go c.loop()
	defer c.stop()
	remove := s.m.src.AddSink(s.room, c)
	defer remove()

	failures := 0
	for s.ctx.Err() == nil {
		if err := checkHost(s.ctx, s.t.host, cfg.AllowPrivate, cfg.Resolver); err != nil {
			if s.ctx.Err() == nil {
				final, why = StateFailed, err.Error()
			}
			return
		}
		wentLive, err := s.runFFmpeg(c, dir)
		if s.ctx.Err() != nil {
			return
		}
		if errors.Is(err, errStart) {
			final, why = StateFailed, err.Error()
			return
		}
		if wentLive {
			failures = 0
		}
		failures++
		reason := "ffmpeg stopped"
		if err != nil {
			reason = err.Error()
		}
		if failures >= cfg.MaxAttempts {
			final, why = StateFailed, reason
			return
		}
		s.m.reconnects.Add(1)
		s.m.log.Info("live stream reconnecting", "room", s.room, "reason", reason, "attempt", failures)
		s.setStatus(StateReconnecting, reason)
		select {
		case <-time.After(backoff(cfg.MinBackoff, cfg.MaxBackoff, failures)):
		case <-s.ctx.Done():
		}
	}
}

// note passes a layout note to the compositor, or keeps it for the
// compositor to come.
func (s *stream) note(kind, participant string) {
	if kind != NoteScreenOn && kind != NoteScreenOff {
		return
	}
	s.noteMu.Lock()
	c := s.comp
	if c == nil {
		if s.notes == nil {
			s.notes = map[string]bool{}
		}
		s.notes[participant] = kind == NoteScreenOn
	}
	s.noteMu.Unlock()
	if c != nil {
		c.note(kind, participant)
	}
}

// backoff is the wait after the n-th failure in a row: doubling from
// lo, at most hi.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// errStart: ffmpeg could not be started at all; trying again won't help.
var errStart = errors.New("cannot start ffmpeg")

// runFFmpeg runs ffmpeg once, fed by the compositor, until it exits, it
// stalls, or the stream stops. It reports whether frames went out (the
// stream was live) and why ffmpeg ended, with the key masked.
func (s *stream) runFFmpeg(c *compositor, dir string) (wentLive bool, err error) {
	cfg := s.m.cfg
	ctx, cancel := context.WithCancel(context.Background()) // killed by the watchdog below
	defer cancel()
	cmd := command(ctx, cfg.FFmpeg, cfg.Nice, ffmpegArgs(cfg, findFont(), dir, s.t.ffmpegURL()))
	cmd.WaitDelay = stopGrace
	errs := &tail{}
	cmd.Stderr = errs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return false, fmt.Errorf("%w: %v", errStart, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return false, fmt.Errorf("%w: %v", errStart, err)
	}
	if err := cmd.Start(); err != nil {
		return false, fmt.Errorf("%w: %v", errStart, s.t.scrub(err.Error()))
	}
	out, err := newWebMOut(stdin, cfg.VideoSlots+2, cfg.AudioSlots) // + the screen and the layout
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return false, err
	}
	c.use(out)

	var live atomic.Bool
	var lastFrames atomic.Int64
	lastProgress := atomic.Int64{}
	lastProgress.Store(time.Now().UnixNano())
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		progress(stdout, func(n int64) {
			if n > lastFrames.Load() {
				lastFrames.Store(n)
				lastProgress.Store(time.Now().UnixNano())
				if !live.Swap(true) {
					s.m.log.Info("live stream is live", "room", s.room)
					s.setStatus(StateLive, "")
				}
			}
		})
	}()
	exited := make(chan struct{})
	var stalled atomic.Bool
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-exited:
				return
			case <-s.ctx.Done():
				// The end of its input lets ffmpeg finish the stream
				// properly; WaitDelay kills it if it does not.
				c.use(nil)
				select {
				case <-exited:
				case <-time.After(stopGrace):
					cancel()
				}
				return
			case <-t.C:
				if time.Since(time.Unix(0, lastProgress.Load())) > cfg.StallTimeout {
					stalled.Store(true)
					cancel()
					return
				}
			}
		}
	}()
	werr := cmd.Wait()
	close(exited)
	<-reported
	c.use(nil)
	switch {
	case stalled.Load():
		return live.Load(), fmt.Errorf("no frames sent for %s", cfg.StallTimeout)
	case werr != nil:
		msg := reason(errs.String())
		if msg == "" {
			msg = werr.Error()
		}
		return live.Load(), errors.New(s.t.scrub(msg))
	}
	return live.Load(), nil
}
