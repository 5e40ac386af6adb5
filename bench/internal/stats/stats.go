// Package stats summarises latency samples by sorting them: exact
// percentiles, no histogram buckets.
package stats

import (
	"math"
	"slices"
	"time"
)

// Summary of a set of durations.
type Summary struct {
	Count                    int
	P50, P90, P99, P999, Max time.Duration
}

// Summarize sorts samples in place and reads the percentiles off them
// (nearest rank).
func Summarize(samples []time.Duration) Summary {
	s := Summary{Count: len(samples)}
	if len(samples) == 0 {
		return s
	}
	slices.Sort(samples)
	s.P50 = Percentile(samples, 50)
	s.P90 = Percentile(samples, 90)
	s.P99 = Percentile(samples, 99)
	s.P999 = Percentile(samples, 99.9)
	s.Max = samples[len(samples)-1]
	return s
}

// Percentile of sorted samples by nearest rank: the smallest sample that at
// least p percent of samples do not exceed.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
