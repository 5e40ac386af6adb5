//go:build !unix

package admin

import "time"

// cpuTime is unknown here: the dashboard shows no CPU figure.
func cpuTime() (time.Duration, bool) { return 0, false }
