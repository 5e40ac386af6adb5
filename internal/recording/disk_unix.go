//go:build linux || darwin || freebsd

package recording

import "syscall"

// freeDisk returns the bytes free to an unprivileged user on the file
// system of dir.
func freeDisk(dir string) (int64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return int64(st.Bavail) * int64(st.Bsize), nil //nolint:unconvert // types differ by platform
}
