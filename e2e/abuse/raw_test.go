package abuse

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Raw Engine.IO clients that send exactly the bytes they are given, which
// no well-behaved client library would: masked WebSocket frames written by
// hand, and polling requests with arbitrary bodies.

// Errors of the raw clients.
var (
	// ErrServerClosed means the server ended the session: a WebSocket close
	// frame or EOF, an Engine.IO close packet, or a polling request
	// answered 400 for the session.
	ErrServerClosed = errors.New("the server closed the session")
	ErrHandshake    = errors.New("unexpected handshake reply")
)

// wire is one Engine.IO session seen from a raw client: send writes
// Engine.IO messages (each a WebSocket frame, or together one POST body
// joined by the record separator), next returns the next message the server
// sent, or ErrServerClosed.
type wire interface {
	send(ctx context.Context, msgs ...[]byte) error
	next(ctx context.Context) (string, error)
	close()
}

// ---- WebSocket ----

const (
	opCont   = 0x0
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xA
)

type wsWire struct {
	conn net.Conn
	br   *bufio.Reader
	// closeCode is the status of the server's close frame, 0 when none.
	closeCode int
}

// dialWS performs the HTTP upgrade of /socket.io/ and reads the open packet.
func dialWS(ctx context.Context, addr string) (*wsWire, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	w := &wsWire{conn: conn, br: bufio.NewReaderSize(conn, 64<<10)}
	if err := w.handshake(ctx, addr); err != nil {
		conn.Close()
		return nil, err
	}
	msg, err := w.next(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if !strings.HasPrefix(msg, `0{"sid":`) {
		conn.Close()
		return nil, fmt.Errorf("%w: open packet %q", ErrHandshake, msg)
	}
	return w, nil
}

func (w *wsWire) handshake(ctx context.Context, addr string) error {
	var key [16]byte
	_, _ = rand.Read(key[:])
	req := "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
		"Host: " + addr + "\r\n" +
		"Upgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + base64.StdEncoding.EncodeToString(key[:]) + "\r\n" +
		"Sec-WebSocket-Version: 13\r\n\r\n"
	w.deadline(ctx)
	if _, err := io.WriteString(w.conn, req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("%w: %s", ErrHandshake, resp.Status)
	}
	return nil
}

func (w *wsWire) deadline(ctx context.Context) {
	if d, ok := ctx.Deadline(); ok {
		_ = w.conn.SetDeadline(d)
	} else {
		_ = w.conn.SetDeadline(time.Time{})
	}
}

func (w *wsWire) send(ctx context.Context, msgs ...[]byte) error {
	for _, m := range msgs {
		if err := w.writeFrame(ctx, true, opText, m); err != nil {
			return err
		}
	}
	return nil
}

// writeFrame writes one masked client frame.
func (w *wsWire) writeFrame(ctx context.Context, fin bool, op byte, payload []byte) error {
	w.deadline(ctx)
	hdr := make([]byte, 0, 14)
	b0 := op
	if fin {
		b0 |= 0x80
	}
	hdr = append(hdr, b0)
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, 0x80|byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, 0x80|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, 0x80|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	hdr = append(hdr, mask[:]...)
	body := make([]byte, len(payload))
	for i, c := range payload {
		body[i] = c ^ mask[i%4]
	}
	_, err := w.conn.Write(append(hdr, body...))
	if err != nil && isReset(err) {
		// The server hung up before reading it all: it refused the frame.
		return fmt.Errorf("%w: %v", ErrServerClosed, err)
	}
	return err
}

// next returns the next text or binary message, answering WebSocket pings
// and skipping Engine.IO pings; a close frame or EOF is ErrServerClosed.
func (w *wsWire) next(ctx context.Context) (string, error) {
	w.deadline(ctx)
	var msg []byte
	for {
		fin, op, payload, err := w.readFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err) {
			return "", ErrServerClosed
		}
		if err != nil {
			return "", err
		}
		switch op {
		case opClose:
			if len(payload) >= 2 {
				w.closeCode = int(binary.BigEndian.Uint16(payload))
			}
			return "", ErrServerClosed
		case opPing:
			_ = w.writeFrame(ctx, true, opPong, payload)
			continue
		case opPong:
			continue
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		if string(msg) == "2" { // Engine.IO ping: answer, keep waiting
			_ = w.send(ctx, []byte("3"))
			msg = msg[:0]
			continue
		}
		return string(msg), nil
	}
}

// maxServerFrame bounds what the raw client accepts from the server.
const maxServerFrame = 8 << 20

func (w *wsWire) readFrame() (fin bool, op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(w.br, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(w.br, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(w.br, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if h[1]&0x80 != 0 {
		err = errors.New("server frame is masked")
		return
	}
	if n > maxServerFrame {
		err = fmt.Errorf("server frame of %d bytes", n)
		return
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(w.br, payload)
	return
}

func (w *wsWire) close() { w.conn.Close() }

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// ---- HTTP long-polling ----

type pollWire struct {
	base   string // http://host:port/socket.io/?EIO=4&transport=polling
	sid    string
	client *http.Client
	queue  []string // messages received but not returned yet
	closed bool
}

// dialPolling performs the polling handshake.
func dialPolling(ctx context.Context, url string) (*pollWire, error) {
	p := &pollWire{base: url + "/socket.io/?EIO=4&transport=polling", client: plainClient}
	status, body, err := p.do(ctx, http.MethodGet, p.base, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK || !strings.HasPrefix(string(body), "0{") {
		return nil, fmt.Errorf("%w: %d %q", ErrHandshake, status, body)
	}
	var open struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(body[1:], &open); err != nil || open.SID == "" {
		return nil, fmt.Errorf("%w: open packet %q", ErrHandshake, body)
	}
	p.sid = open.SID
	return p, nil
}

func (p *pollWire) sessionURL() string { return p.base + "&sid=" + p.sid }

func (p *pollWire) do(ctx context.Context, method, url string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxServerFrame))
	return resp.StatusCode, b, err
}

// post sends a raw body as one POST and returns the HTTP status.
func (p *pollWire) post(ctx context.Context, body []byte) (int, []byte, error) {
	status, resp, err := p.do(ctx, http.MethodPost, p.sessionURL(), body)
	if err == nil && status == http.StatusBadRequest {
		p.closed = true
	}
	return status, resp, err
}

func (p *pollWire) send(ctx context.Context, msgs ...[]byte) error {
	status, body, err := p.post(ctx, bytes.Join(msgs, []byte{0x1e}))
	if err != nil {
		return err
	}
	if status != http.StatusOK && !p.closed {
		return fmt.Errorf("POST answered %d %q", status, body)
	}
	return nil
}

func (p *pollWire) next(ctx context.Context) (string, error) {
	for len(p.queue) == 0 {
		if p.closed {
			return "", ErrServerClosed
		}
		status, body, err := p.do(ctx, http.MethodGet, p.sessionURL(), nil)
		if err != nil {
			return "", err
		}
		if status == http.StatusBadRequest {
			p.closed = true // the session is gone ("Session ID unknown")
			continue
		}
		if status != http.StatusOK {
			return "", fmt.Errorf("GET answered %d %q", status, body)
		}
		for _, m := range strings.Split(string(body), "\x1e") {
			switch m {
			case "1":
				p.closed = true
			case "2":
				_ = p.send(ctx, []byte("3"))
			case "6":
			default:
				if !p.closed {
					p.queue = append(p.queue, m)
				}
			}
		}
	}
	m := p.queue[0]
	p.queue = p.queue[1:]
	return m, nil
}

// close leaves the session behind, as an abusive client would; the server
// ends it at the ping timeout.
func (p *pollWire) close() {}

// connect sends the Socket.IO CONNECT and waits for its answer.
func connect(ctx context.Context, w wire) error {
	if err := w.send(ctx, []byte("40")); err != nil {
		return err
	}
	msg, err := w.next(ctx)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(msg, `40{"sid":`) {
		return fmt.Errorf("%w: CONNECT answered %q", ErrHandshake, msg)
	}
	return nil
}
