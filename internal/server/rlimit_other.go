//go:build !unix

package server

import "errors"

// raiseFileLimit has nothing to raise on systems without rlimits.
func raiseFileLimit() (soft, hard uint64, err error) {
	return 0, 0, errors.New("no file descriptor limit on this system")
}
