//go:build linux

// Command stalls reports when the core it runs on did not run it: it
// sleeps 0.5 ms at a time and prints every wake-up that came more than
// -over late. Run one per core beside a benchmark step to see the
// machine's own hiccups, e.g.
//
//	taskset -c 0 go run ./bench/stalls -for 20s & taskset -c 1 go run ./bench/stalls -for 20s
//
// On an idle machine it reports nothing; lateness of tens of milliseconds
// while a step runs means the core did something else for that long, and
// every process on it waited, the server's or the load generator's.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

func main() {
	length := flag.Duration("for", 20*time.Second, "how long to watch")
	over := flag.Duration("over", 5*time.Millisecond, "lateness worth reporting")
	flag.Parse()
	runtime.LockOSThread()
	const nap = 500 * time.Microsecond
	ts := syscall.NsecToTimespec(int64(nap))
	end := time.Now().Add(*length)
	var n int
	var worst time.Duration
	for time.Now().Before(end) {
		t := time.Now()
		_ = syscall.Nanosleep(&ts, nil)
		if late := time.Since(t) - nap; late > *over {
			n++
			worst = max(worst, late)
			fmt.Printf("%s late by %.1f ms\n", t.UTC().Format("15:04:05.000"), float64(late)/1e6)
		}
	}
	fmt.Printf("%d wake-ups later than %v in %v (worst %.1f ms)\n", n, *over, *length, float64(worst)/1e6)
}
