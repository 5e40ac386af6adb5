package server

import "syscall"

// childProcAttr makes a test's helper process (redis-server, haproxy) die
// with the test binary, even when it is killed at a timeout.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
