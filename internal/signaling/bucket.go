package signaling

import "time"

// tokenBucket is a socket's event allowance: up to burst events at once,
// refilled at perSecond. The rate and burst are the service's, passed in,
// so a session carries 16 bytes rather than its own rate.Limiter (about
// 100 bytes on the heap, 10,000 sockets on a server). The caller
// serialises calls (the session's lock).
type tokenBucket struct {
	tokens float64
	last   time.Duration // when tokens was computed, since clockBase; 0: never
}

// clockBase makes bucket times small monotonic durations.
var clockBase = time.Now()

// allow takes one token if there is one.
func (b *tokenBucket) allow(perSecond float64, burst int) bool {
	return b.allowAt(time.Since(clockBase), perSecond, burst)
}

func (b *tokenBucket) allowAt(now time.Duration, perSecond float64, burst int) bool {
	if b.last == 0 {
		b.tokens = float64(burst)
	} else if elapsed := now - b.last; elapsed > 0 {
		b.tokens = min(float64(burst), b.tokens+elapsed.Seconds()*perSecond)
	}
	if now > b.last {
		b.last = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
