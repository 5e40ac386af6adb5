//go:build !linux

package turn

import (
	"net"
	"strconv"
)

// listenUDPShards opens one UDP socket: sharing a port between sockets
// (SO_REUSEPORT) is only relied on under Linux.
func listenUDPShards(host string, port, _ int) ([]net.PacketConn, error) {
	c, err := net.ListenPacket(udpNetwork(host), net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return []net.PacketConn{c}, nil
}
