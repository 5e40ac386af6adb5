package turn

import (
	"context"
	"net"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// reusePort lets several UDP sockets share the relay's port. The kernel
// then spreads clients over them by address hash, each socket with its
// own pion read loop: the relay uses more than one core, and a client
// always lands on the same socket (so on the same allocation table).
var reusePort = net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	})
	if err != nil {
		return err
	}
	return serr
}}

// listenUDPShards opens n UDP sockets on host:port (the first picks the
// port when it is 0). Fewer than n is not an error: one socket works.
func listenUDPShards(host string, port, n int) ([]net.PacketConn, error) {
	network := udpNetwork(host)
	first, err := reusePort.ListenPacket(context.Background(), network, net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	conns := []net.PacketConn{first}
	addr := net.JoinHostPort(host, strconv.Itoa(first.LocalAddr().(*net.UDPAddr).Port))
	for len(conns) < n {
		c, err := reusePort.ListenPacket(context.Background(), network, addr)
		if err != nil {
			break
		}
		conns = append(conns, c)
	}
	return conns, nil
}
