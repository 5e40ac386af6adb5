package clusterlink

import (
	"encoding/binary"
	"errors"

	"github.com/huddlehq/huddle/engineio"
)

// Message types between nodes (see the package doc).
const (
	typeOpen   = "open"
	typeOpened = "opened"
	typeMoved  = "moved"
	typeIn     = "in"
	typeOut    = "out"
	typeClose  = "close"
	typeClosed = "closed"
)

// openMsg is what the home needs to make the relayed socket.
type openMsg struct {
	Conn      string              `json:"c"`
	Transport string              `json:"t"`
	Addr      string              `json:"a"`
	Header    map[string][]string `json:"h,omitempty"`
	Auth      []byte              `json:"auth,omitempty"` // the CONNECT payload; nil: none
}

// connMsg names a relayed connection and, for close, closed and moved, a
// reason or a node.
type connMsg struct {
	Conn   string `json:"c"`
	Reason string `json:"r,omitempty"`
	Node   string `json:"n,omitempty"`
}

var errFrame = errors.New("clusterlink: malformed packet frame")

// encodePackets frames a connection id and Engine.IO messages: the id,
// then per message a flag byte (1: binary) and its length-prefixed bytes.
func encodePackets(conn string, ps []engineio.Packet) []byte {
	n := len(conn) + 4
	for _, p := range ps {
		n += len(p.Data) + 6
	}
	b := make([]byte, 0, n)
	b = binary.AppendUvarint(b, uint64(len(conn)))
	b = append(b, conn...)
	for _, p := range ps {
		flag := byte(0)
		if p.Binary {
			flag = 1
		}
		b = append(b, flag)
		b = binary.AppendUvarint(b, uint64(len(p.Data)))
		b = append(b, p.Data...)
	}
	return b
}

func decodePackets(b []byte) (string, []engineio.Packet, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)-k) {
		return "", nil, errFrame
	}
	conn := string(b[k : k+int(n)])
	b = b[k+int(n):]
	var ps []engineio.Packet
	for len(b) > 0 {
		flag := b[0]
		n, k := binary.Uvarint(b[1:])
		if flag > 1 || k <= 0 || n > uint64(len(b)-1-k) {
			return "", nil, errFrame
		}
		start := 1 + k
		ps = append(ps, engineio.Packet{Type: engineio.Message, Data: b[start : start+int(n)], Binary: flag == 1})
		b = b[start+int(n):]
	}
	return conn, ps, nil
}
