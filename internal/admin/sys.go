package admin

import (
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
)

// The process's figures, read cheaply: runtime/metrics does not stop the
// world as runtime.ReadMemStats does, and /proc is read where it exists.

var memorySamples = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/objects:bytes"},
}

// memory returns the resident set (the runtime's total without /proc)
// and the live heap.
func memory() (resident, heap uint64) {
	samples := append([]metrics.Sample(nil), memorySamples...)
	metrics.Read(samples)
	total, heap := samples[0].Value.Uint64(), samples[1].Value.Uint64()
	if rss, ok := residentSet(); ok {
		return rss, heap
	}
	return total, heap
}

// residentSet reads VmRSS from /proc/self/status (Linux).
func residentSet() (uint64, bool) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// openFiles counts /proc/self/fd (Linux); -1 where unknown.
func openFiles() int {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return -1
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return -1
	}
	return len(names) - 1 // less the one just opened to read it
}
