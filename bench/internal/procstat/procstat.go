// Package procstat reads a process's resident memory and CPU time, and the
// machine's busy CPU time, from /proc (Linux).
package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrFormat means a /proc file did not look as expected.
var ErrFormat = errors.New("procstat: unexpected /proc format")

// clockTick is USER_HZ, 100 on every Linux architecture Go supports.
const clockTick = 100

// RSS is the resident set size of pid in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			fields := strings.Fields(rest)
			if len(fields) != 2 || fields[1] != "kB" {
				return 0, fmt.Errorf("%w: %q", ErrFormat, line)
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%w: %q", ErrFormat, line)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("%w: no VmRSS for pid %d", ErrFormat, pid)
}

// CPU is the user+system CPU time pid has used.
func CPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may hold spaces: fields count
	// from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: /proc/%d/stat", ErrFormat, pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%w: /proc/%d/stat", ErrFormat, pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%w: /proc/%d/stat times", ErrFormat, pid)
	}
	return ticks(ut + st), nil
}

// MachineBusy is the CPU time all cores have spent not idle (user, nice,
// system, irq, softirq, steal) since boot.
func MachineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("%w: /proc/stat", ErrFormat)
	}
	var busy int64
	for i, v := range f[1:9] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: /proc/stat", ErrFormat)
		}
		busy += n
	}
	return ticks(busy), nil
}

func ticks(n int64) time.Duration { return time.Duration(n) * time.Second / clockTick }

// Sample is a point-in-time reading of a server process, this process and
// the machine.
type Sample struct {
	At                time.Time
	Server, Self, All time.Duration
	ServerRSS         int64
}

// Take reads a Sample; server is the server's pid.
func Take(server int) (Sample, error) {
	s := Sample{At: time.Now()}
	var err error
	if s.Server, err = CPU(server); err != nil {
		return s, err
	}
	if s.ServerRSS, err = RSS(server); err != nil {
		return s, err
	}
	if s.Self, err = CPU(os.Getpid()); err != nil {
		return s, err
	}
	s.All, err = MachineBusy()
	return s, err
}

// Window is what happened between two samples.
type Window struct {
	Wall time.Duration
	// Server and Self CPU time; Others is everything else on the machine
	// (the noise of other tenants).
	Server, Self, Others time.Duration
}

// Since computes the window from an earlier sample to s.
func (s Sample) Since(before Sample) Window {
	w := Window{
		Wall:   s.At.Sub(before.At),
		Server: s.Server - before.Server,
		Self:   s.Self - before.Self,
	}
	w.Others = max(0, s.All-before.All-w.Server-w.Self)
	return w
}

// Percent is d as a percentage of one core over the window.
func (w Window) Percent(d time.Duration) float64 {
	if w.Wall <= 0 {
		return 0
	}
	return 100 * float64(d) / float64(w.Wall)
}
