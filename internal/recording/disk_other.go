//go:build !(linux || darwin || freebsd)

package recording

// freeDisk is unknown here: the floor is not checked.
func freeDisk(string) (int64, error) { return 1 << 62, nil }
