//go:build !linux

package turn

import "net"

// sender is Linux's raw sender (send_linux.go); elsewhere relay sockets
// use WriteToUDP.
type sender struct{}

func newSender(*net.UDPConn) *sender { return nil }

func (*sender) sendTo([]byte, *net.UDPAddr) (int, error) { panic("unreachable") }
