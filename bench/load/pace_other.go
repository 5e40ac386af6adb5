//go:build !linux

package main

import "time"

// pacer sleeps between the open loop's sends where there is no timerfd.
type pacer struct{ interval time.Duration }

func newPacer(interval time.Duration) (*pacer, error) { return &pacer{interval}, nil }
func (p *pacer) wait()                                { time.Sleep(p.interval) }
func (p *pacer) stop()                                {}
