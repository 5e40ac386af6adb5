//go:build !linux

package sfu

import (
	"net"
	"net/netip"
)

// rawBatch is Linux only; elsewhere batchConn uses x/net's WriteBatch.
type rawBatch struct{}

func newRawBatch(*net.UDPConn, int) *rawBatch { return nil }

func (*rawBatch) set(int, []byte, netip.AddrPort) bool         { return false }
func (*rawBatch) send(int, int) (int, error)                   { return 0, nil }
func (*rawBatch) readFrom([]byte) (int, netip.AddrPort, error) { return 0, netip.AddrPort{}, nil }
