package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// sendEvents are the system calls that send datagrams. pion sends with
// sendto; batching would show as sendmmsg.
var sendEvents = []string{"syscalls:sys_enter_sendto", "syscalls:sys_enter_sendmsg", "syscalls:sys_enter_sendmmsg"}

// countSends counts pid's send system calls for d with perf stat (the
// kernel counts its syscall tracepoints; it costs the process well under
// 1 % at these rates). It returns a function that waits for the count,
// -1 when perf is missing or not allowed.
func countSends(ctx context.Context, pid int, d time.Duration) func() int64 {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return func() int64 { return -1 }
	}
	cmd := exec.CommandContext(ctx, perf, "stat", "-x", ",", "-e", strings.Join(sendEvents, ","), "-p", strconv.Itoa(pid),
		"--", "sleep", fmt.Sprintf("%.3f", d.Seconds()))
	var out bytes.Buffer
	cmd.Stderr = &out
	if cmd.Start() != nil {
		return func() int64 { return -1 }
	}
	return func() int64 {
		if cmd.Wait() != nil {
			return -1
		}
		return parsePerfCounts(out.String())
	}
}

// parsePerfCounts sums the counts of perf stat -x, output ("count,unit,
// event,..."); any event not counted makes the sum unknown (-1).
func parsePerfCounts(out string) int64 {
	var sum int64
	seen := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 3 || !strings.HasPrefix(f[2], "syscalls:") {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return -1 // "<not counted>" or "<not supported>"
		}
		sum += n
		seen++
	}
	if seen == 0 {
		return -1
	}
	return sum
}

// mallocs reads Huddle's go_memstats_mallocs_total from /metrics, -1
// when it has none (Galène serves no metrics).
func mallocs(base string) int64 {
	res, err := http.Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_mallocs_total "); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return -1
			}
			return int64(n)
		}
	}
	return -1
}
