//go:build !linux

package server

import "syscall"

func childProcAttr() *syscall.SysProcAttr { return nil }
