package engineio

import (
	"bufio"
	"encoding/binary"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// frameWatch follows the frame headers of a client's byte stream as gws
// reads it, so that a fragmented message is bounded by MaxPayload as its
// frames arrive. gws checks each frame's length, but the sum of a
// message's fragments only after it has read a whole frame: with a first
// fragment just under the limit, a continuation frame announcing nearly as
// much again was read (and buffered, and the buffer grown) before the
// message was refused. Here the announcement is enough. The event-driven
// reader's own parser checks the same at each header (frameParser.next).
//
// It only counts: what a frame means, and whether it is valid, stays gws's
// business. It costs a few comparisons per read and no allocation.
type frameWatch struct {
	max  uint64
	hdr  [14]byte // the header being collected
	have int      // bytes of it so far
	skip uint64   // payload bytes of the current frame still to come
	msg  uint64   // payload bytes of the unfinished data message so far
}

// feed follows b, the next bytes of the stream; it reports ErrFrameTooLarge
// as soon as a header makes the message it belongs to larger than max.
func (w *frameWatch) feed(b []byte) error {
	for len(b) > 0 {
		if w.skip > 0 {
			n := min(uint64(len(b)), w.skip)
			w.skip -= n
			b = b[n:]
			continue
		}
		n := copy(w.hdr[w.have:w.headerLen()], b)
		w.have += n
		b = b[n:]
		if w.have < w.headerLen() {
			continue // the header's length bytes told more is needed
		}
		if err := w.frame(); err != nil {
			return err
		}
	}
	return nil
}

// headerLen is how long the header being collected is, as far as its
// bytes so far say.
func (w *frameWatch) headerLen() int {
	if w.have < 2 {
		return 2
	}
	n := 2
	switch w.hdr[1] & 0x7f {
	case 126:
		n = 4
	case 127:
		n = 10
	}
	if w.hdr[1]&0x80 != 0 {
		n += 4 // the mask key
	}
	return n
}

// frame takes the whole header in w.hdr.
func (w *frameWatch) frame() error {
	fin, op := w.hdr[0]&0x80 != 0, w.hdr[0]&0x0f
	length := uint64(w.hdr[1] & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(w.hdr[2:]))
	case 127:
		length = binary.BigEndian.Uint64(w.hdr[2:])
	}
	w.have, w.skip = 0, length
	if op > opBinary {
		return nil // control frames: not part of a message
	}
	if op != opContinuation {
		w.msg = 0
	}
	if length > w.max || w.msg+length > w.max {
		return ErrFrameTooLarge
	}
	w.msg += length
	if fin {
		w.msg = 0
	}
	return nil
}

// watchedConn is a connection gws reads through a frameWatch. It starts
// with what net/http had read of the stream already.
type watchedConn struct {
	net.Conn
	early  []byte
	watch  frameWatch
	owner  *gwsConn    // set once gws has made it, before reading starts
	tooBig atomic.Bool // the watch ended the connection
}

func (c *watchedConn) Read(p []byte) (int, error) {
	var n int
	var err error
	if len(c.early) > 0 {
		n = copy(p, c.early)
		c.early = c.early[n:]
	} else {
		n, err = c.Conn.Read(p)
	}
	if n > 0 {
		if werr := c.watch.feed(p[:n]); werr != nil {
			c.refuse()
			return 0, werr
		}
	}
	return n, err
}

// refuse ends the connection with 1009, Message Too Big, when that frame
// cannot land inside one the session is writing.
func (c *watchedConn) refuse() {
	c.tooBig.Store(true)
	if o := c.owner; o != nil && o.s != nil && o.s.mayWriteDirect(o) {
		_ = c.Conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Conn.Write(closeFrame(closeTooBig))
	}
	_ = c.Conn.Close()
}

// upgradeGWS completes r's WebSocket handshake with gws reading the
// connection through a frameWatch.
func (srv *Server) upgradeGWS(w http.ResponseWriter, r *http.Request) (*gws.Conn, error) {
	netConn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, err
	}
	return srv.upgradeGWSFrom(netConn, brw.Reader, r)
}

// upgradeGWSFrom is upgradeGWS on a connection already taken over, with
// br what net/http had buffered of it.
func (srv *Server) upgradeGWSFrom(netConn net.Conn, br *bufio.Reader, r *http.Request) (*gws.Conn, error) {
	wc := &watchedConn{Conn: netConn, watch: frameWatch{max: uint64(srv.cfg.MaxPayload)}}
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		wc.early = append([]byte(nil), b...)
	}
	conn, err := srv.upgrader.UpgradeFromConn(wc, bufio.NewReaderSize(wc, srv.cfg.ReadBufferSize), r)
	if err != nil {
		return nil, err
	}
	return conn, nil
}
