//go:build !linux

package turn

import "net"

// batchReader is Linux's raw batch reader (recv_linux.go); elsewhere
// sockets are read one datagram at a time.
type batchReader struct{}

func newBatchReader(net.PacketConn, int, int) *batchReader { return nil }

func (*batchReader) read() (int, error)                         { panic("unreachable") }
func (*batchReader) datagram(int) ([]byte, *net.UDPAddr)        { panic("unreachable") }
func (*batchReader) readFrom([]byte) (int, *net.UDPAddr, error) { panic("unreachable") }
