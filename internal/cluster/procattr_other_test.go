//go:build !linux

package cluster

import "syscall"

func redisProcAttr() *syscall.SysProcAttr { return nil }
