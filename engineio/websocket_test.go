package engineio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// rawClient is a WebSocket client by hand, to send what gws would not.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	br   *bufio.Reader
}

const handshake = "GET /?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" +
	"Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// dialRaw sends the handshake and extra bytes in one write, checks the
// 101 answer and reads the open packet.
func (h *harness) dialRaw(extra []byte) *rawClient {
	h.t.Helper()
	before := h.rec.count()
	conn, err := net.Dial("tcp", strings.TrimPrefix(h.ts.URL, "http://"))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = conn.Close() })
	if _, err := conn.Write(append([]byte(handshake), extra...)); err != nil {
		h.t.Fatal(err)
	}
	c := &rawClient{h.t, conn, bufio.NewReader(conn)}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	// The accept value of RFC 6455's own example key.
	if res.StatusCode != 101 || res.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		h.t.Fatalf("handshake answer %d %v", res.StatusCode, res.Header)
	}
	if op, data := c.frame(); op != opText || data[0] != '0' {
		h.t.Fatalf("first frame %x %q, want the open packet", op, data)
	}
	h.rec.waitAccepted(h.t, before)
	return c
}

// frame reads one server frame.
func (c *rawClient) frame() (op byte, data []byte) {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		c.t.Fatalf("reading a frame: %v", err)
	}
	if h[1]&0x80 != 0 || h[0]&0x80 == 0 {
		c.t.Fatalf("server frame masked or not final: %x", h)
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		_, _ = io.ReadFull(c.br, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		_, _ = io.ReadFull(c.br, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	data = make([]byte, n)
	if _, err := io.ReadFull(c.br, data); err != nil {
		c.t.Fatalf("reading a %d-byte payload: %v", n, err)
	}
	return h[0] & 0x0f, data
}

func (c *rawClient) send(b []byte) {
	c.t.Helper()
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// wantClose reads up to the close frame and checks its code, then the end
// of the stream.
func (c *rawClient) wantClose(code uint16) {
	c.t.Helper()
	for {
		op, data := c.frame()
		if op != opClose {
			continue
		}
		if len(data) < 2 || binary.BigEndian.Uint16(data) != code {
			c.t.Fatalf("close frame %x, want code %d", data, code)
		}
		break
	}
	if _, err := c.br.ReadByte(); err == nil {
		c.t.Fatal("bytes after the close frame")
	}
}

// TestWebSocketEarlyFrames: frames sent in the same packet as the
// handshake (so net/http may have buffered them) are not lost.
func TestWebSocketEarlyFrames(t *testing.T) {
	h := newHarness(t, Config{ReadMode: ReadEventDriven})
	early := append(clientFrame(true, opText, []byte("4first"), testKey, 0),
		clientFrame(true, opText, []byte("4second"), testKey, 0)...)
	c := h.dialRaw(early)
	h.rec.wantMsg(t, msg{"first", false})
	h.rec.wantMsg(t, msg{"second", false})
	c.send(clientFrame(true, opText, []byte("4third"), testKey, 0))
	h.rec.wantMsg(t, msg{"third", false})
}

// TestWebSocketFramesInPieces: fragmented messages, control frames between
// fragments and frames split across reads arrive whole and in order.
func TestWebSocketFramesInPieces(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		c := h.dialRaw(nil)
		var stream []byte
		stream = append(stream, clientFrame(false, opText, []byte("4hé"), testKey, 0)...)
		stream = append(stream, clientFrame(true, opPing, []byte("are you there"), testKey, 0)...)
		stream = append(stream, clientFrame(true, opContinuation, []byte("llo"), testKey, 0)...)
		big := bytes.Repeat([]byte{0xab}, 70000)
		stream = append(stream, clientFrame(true, opBinary, big, testKey, 0)...)
		stream = append(stream, clientFrame(true, opText, []byte("4end"), testKey, 2)...)
		// A few bytes at a time at first (header pieces), then large chunks.
		for i := 0; i < len(stream); {
			n := 3
			if i > 40 {
				n = 9000
			}
			n = min(n, len(stream)-i)
			c.send(stream[i : i+n])
			i += n
			if i < 60 {
				time.Sleep(2 * time.Millisecond)
			}
		}
		h.rec.wantMsg(t, msg{"héllo", false})
		h.rec.wantMsg(t, msg{string(big), true})
		h.rec.wantMsg(t, msg{"end", false})
		if op, data := c.frame(); op != opPong || string(data) != "are you there" {
			t.Fatalf("answer to ping: %x %q", op, data)
		}
	})
}

// TestWebSocketProtocolErrors: a bad frame closes the connection with the
// close code that says why, and the session with "transport error".
func TestWebSocketProtocolErrors(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		code  uint16
	}{
		{"unmasked", []byte{0x81, 0x02, '4', 'x'}, closeProtocolError},
		{"reserved bit", append([]byte{0xc1}, clientFrame(true, opText, []byte("4x"), testKey, 0)[1:]...), closeProtocolError},
		{"bad UTF-8", clientFrame(true, opText, []byte("4\xc3\x28"), testKey, 0), closeInvalidData},
		{"too large", clientFrame(true, opBinary, make([]byte, 101), testKey, 0), closeTooBig},
		{"continuation first", clientFrame(true, opContinuation, []byte("x"), testKey, 0), closeProtocolError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{ReadMode: ReadEventDriven, MaxPayload: 100})
			c := h.dialRaw(nil)
			c.send(tt.frame)
			c.wantClose(tt.code)
			h.rec.wantClose(t, "transport error")
		})
	}
}

// TestWebSocketClientClose: the client's close frame is answered with the
// same code and ends the session.
func TestWebSocketClientClose(t *testing.T) {
	h := newHarness(t, Config{ReadMode: ReadEventDriven})
	c := h.dialRaw(nil)
	c.send(clientFrame(true, opClose, []byte{0x03, 0xe9}, testKey, 0)) // 1001
	c.wantClose(1001)
	h.rec.wantClose(t, "transport close")
}

// TestHandshakeErrors: a refused handshake is a plain 400 with the engine's
// error body, before the connection is taken over.
func TestHandshakeErrors(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode})
		good := map[string]string{"Upgrade": "websocket", "Connection": "Upgrade",
			"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
		for _, bad := range []struct{ header, value string }{
			{"Connection", "keep-alive"},
			{"Sec-WebSocket-Version", "8"},
			{"Sec-WebSocket-Key", "c2hvcnQ="},
			{"Sec-WebSocket-Key", "not base64 at all, no...."},
		} {
			hdr := map[string]string{}
			for k, v := range good {
				hdr[k] = v
			}
			hdr[bad.header] = bad.value
			code, body, _ := h.do("GET", "EIO=4&transport=websocket", "", hdr)
			if code != 400 || body != `{"code":3,"message":"Bad request"}` {
				t.Fatalf("%s: %q: %d %s", bad.header, bad.value, code, body)
			}
		}
		if h.srv.Len() != 0 {
			t.Fatalf("%d sessions after refused handshakes", h.srv.Len())
		}
	})
}

// TestSlowReaderDoesNotBlockSender: a client that does not read never
// blocks Send; what it misses waits in the queue, in order, until the
// queue is full and the session closes.
func TestSlowReaderDoesNotBlockSender(t *testing.T) {
	eachReadMode(t, func(t *testing.T, mode ReadMode) {
		h := newHarness(t, Config{ReadMode: mode, SendQueue: 8})
		c := h.dialRaw(nil) // and never read again
		_ = c.conn.(*net.TCPConn).SetReadBuffer(4096)
		s := h.rec.session()
		big := bytes.Repeat([]byte("x"), 1<<20)
		done := make(chan error, 1)
		go func() {
			var err error
			for range 64 {
				if err = s.Send(big, false); err != nil {
					break
				}
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err != ErrQueueFull {
				t.Fatalf("sending to a client that does not read: %v, want ErrQueueFull", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Send blocked on a client that does not read")
		}
		h.rec.wantClose(t, "send queue full")
	})
}

// TestIdleConnectionsHaveNoGoroutine: event-driven connections cost no
// goroutine while idle; goroutine reads cost one each.
func TestIdleConnectionsHaveNoGoroutine(t *testing.T) {
	const n = 20
	for _, tt := range []struct {
		mode     ReadMode
		min, max int
	}{{ReadEventDriven, 0, 4}, {ReadGoroutine, n, n + 4}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			h := newHarness(t, Config{ReadMode: tt.mode})
			h.dialRaw(nil) // the poller and heartbeat are running now
			time.Sleep(50 * time.Millisecond)
			before := runtime.NumGoroutine()
			for range n {
				h.dialRaw(nil)
			}
			time.Sleep(100 * time.Millisecond)
			if d := runtime.NumGoroutine() - before; d < tt.min || d > tt.max {
				t.Fatalf("%d more goroutines for %d idle connections, want %d to %d", d, n, tt.min, tt.max)
			}
		})
	}
}
