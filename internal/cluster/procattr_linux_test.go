package cluster

import "syscall"

// redisProcAttr makes the test's redis-server die with the test binary,
// even when it is killed at a timeout before any cleanup runs.
func redisProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
