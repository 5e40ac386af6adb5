package sfutest

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
	"github.com/pion/webrtc/v4"
)

// LossyNet is a client's network that loses every every-th VP8 packet
// (payload type 96, as pion's default codecs number it) the first time it
// comes: before SRTP, as a network loses it, so that a retransmission is
// not refused as a replay. The packet comes through only if the server
// sends it again on the client's NACK. Dropped counts the lost packets,
// Recovered the retransmissions: of a lost packet on its own stream, or
// any on the RTX stream (payload type 97), which pion hands to the reader
// as the original.
type LossyNet struct {
	Dropped, Recovered atomic.Int32

	std   *stdnet.Net
	every uint16
	mu    sync.Mutex
	lost  map[uint64]bool // SSRC<<16 | sequence number of the dropped
}

// NewLossyNet loses every every-th VP8 packet; pass its Option to New.
func NewLossyNet(t testing.TB, every int) *LossyNet {
	std, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	return &LossyNet{std: std, every: uint16(every), lost: map[uint64]bool{}}
}

// Option makes a client use the lossy network.
func (n *LossyNet) Option() Option {
	return func(se *webrtc.SettingEngine, _ *webrtc.Configuration) { se.SetNet(lossyStd{n.std, n}) }
}

type lossyStd struct {
	*stdnet.Net
	n *LossyNet
}

func (s lossyStd) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := s.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return lossyConn{c, s.n}, nil
}

// lossyConn hides the connection's other read methods, so that pion ICE
// reads through ReadFrom.
type lossyConn struct {
	transport.UDPConn
	n *LossyNet
}

func (c lossyConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.n.lose(b[:n]) {
			return n, addr, err
		}
	}
}

// lose reports whether to drop the datagram, and counts.
func (n *LossyNet) lose(b []byte) bool {
	// RTP (RFC 7983: first byte 128-191), not RTCP; payload type 96,
	// or 97 for its retransmissions on an RTX stream (RFC 4588, whose
	// original sequence number is in the encrypted payload: counted).
	if len(b) < 12 || b[0] < 128 || b[0] > 191 {
		return false
	}
	if b[1]&0x7f == 97 {
		n.Recovered.Add(1)
		return false
	}
	if b[1]&0x7f != 96 {
		return false
	}
	seq := binary.BigEndian.Uint16(b[2:])
	key := uint64(binary.BigEndian.Uint32(b[8:]))<<16 | uint64(seq)
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.lost[key]:
		delete(n.lost, key)
		n.Recovered.Add(1)
		return false
	case seq%n.every == 0:
		n.lost[key] = true
		n.Dropped.Add(1)
		return true
	}
	return false
}
