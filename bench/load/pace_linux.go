//go:build linux

package main

import (
	"os"
	"syscall"
	"time"

	"github.com/huddlehq/huddle/internal/rawsock"
	"golang.org/x/sys/unix"
)

// pacer wakes the open loop's sender every interval. It is a timerfd the
// sender's goroutine waits on in the runtime's poller: no thread sleeps,
// so receivers keep the generator's one core meanwhile, and the wake-up
// comes within microseconds. (time.Sleep rounds a short sleep up to the
// poller's 1 ms wait when the process is idle; nanosleep blocks a thread,
// and the scheduler then hands its core to another thread and back at
// every pause: two thirds of the generator's context switches.)
type pacer struct {
	f     *os.File
	rc    syscall.RawConn
	ticks [8]byte
	read  func(fd uintptr) bool // readTicks, made once: a closure per wait would allocate
}

func newPacer(interval time.Duration) (*pacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	ts := unix.NsecToTimespec(int64(interval))
	spec := unix.ItimerSpec{Interval: ts, Value: ts}
	if err := unix.TimerfdSettime(fd, 0, &spec, nil); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	p := &pacer{f: f, rc: rc}
	p.read = p.readTicks
	return p, nil
}

// wait returns at the next expiry (at once if one passed since the last).
func (p *pacer) wait() { _ = p.rc.Read(p.read) }

// readTicks takes the count of expiries since the last read; false while
// there are none, so that RawConn.Read waits.
func (p *pacer) readTicks(fd uintptr) bool {
	_, errno := rawsock.Read(fd, p.ticks[:])
	return errno != syscall.EAGAIN
}

func (p *pacer) stop() { _ = p.f.Close() }
