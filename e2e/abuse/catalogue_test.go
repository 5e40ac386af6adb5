package abuse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// abuse is one kind of malformed or hostile input: what it sends, the
// reply it must get, and how to send it to a server.
type abuse struct {
	name  string
	sends string
	want  expect
	run   func(ctx context.Context, h *huddle) error
}

type transport int

const (
	overWS transport = 1 << iota
	overPolling
	overBoth = overWS | overPolling
)

// afterConnect says whether the Socket.IO CONNECT is done before sending.
type afterConnect bool

const (
	connected    afterConnect = true
	notConnected afterConnect = false
)

// onSession makes one entry per transport: a fresh session (connected to
// the main namespace or not) gets msgs as Engine.IO messages.
func onSession(name string, tr transport, conn afterConnect, want expect, msgs ...string) []abuse {
	var out []abuse
	raw := make([][]byte, len(msgs))
	for i, m := range msgs {
		raw[i] = []byte(m)
	}
	for _, t := range []transport{overWS, overPolling} {
		if tr&t == 0 {
			continue
		}
		prefix := "ws/"
		if t == overPolling {
			prefix = "polling/"
		}
		out = append(out, abuse{
			name:  prefix + name,
			sends: show(msgs),
			want:  want,
			run: func(ctx context.Context, h *huddle) error {
				w, err := openWire(ctx, h, t)
				if err != nil {
					return err
				}
				defer w.close()
				if conn {
					if err := connect(ctx, w); err != nil {
						return err
					}
				}
				err = w.send(ctx, raw...)
				if errors.Is(err, ErrServerClosed) && want.kind == closed {
					return nil // hung up on before the message was all sent
				}
				if err != nil {
					return err
				}
				return checkWire(ctx, w, want)
			},
		})
	}
	return out
}

func openWire(ctx context.Context, h *huddle, t transport) (wire, error) {
	if t == overWS {
		return dialWS(ctx, h.addr)
	}
	return dialPolling(ctx, h.url)
}

// request is one raw HTTP request; "{sid}" in target is replaced by the id
// of a fresh polling session.
type request struct {
	method  string
	target  string
	header  http.Header
	body    []byte
	chunked bool // hide the length: Transfer-Encoding: chunked
}

func onHTTP(name string, want expect, req request) abuse {
	sends := req.method + " " + abbreviate(req.target)
	if req.body != nil {
		sends += fmt.Sprintf(" with a %d-byte body", len(req.body))
		if req.chunked {
			sends += " (chunked)"
		}
	}
	for k, v := range req.header {
		sends += fmt.Sprintf(", %s: %s", k, abbreviate(strings.Join(v, ",")))
	}
	return abuse{name: "http/" + name, sends: sends, want: want, run: func(ctx context.Context, h *huddle) error {
		return sendRequest(ctx, h, req, want)
	}}
}

func sendRequest(ctx context.Context, h *huddle, req request, want expect) error {
	target := req.target
	if strings.Contains(target, "{sid}") {
		p, err := dialPolling(ctx, h.url)
		if err != nil {
			return err
		}
		target = strings.ReplaceAll(target, "{sid}", p.sid)
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
		if req.chunked {
			body = io.MultiReader(body) // no Len method: sent chunked
		}
	}
	r, err := http.NewRequestWithContext(ctx, req.method, h.url+target, body)
	if err != nil {
		return err
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	resp, err := roundTrip(ctx, h.addr, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	switch want.kind {
	case handshake:
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(got, []byte(`0{"sid":`)) {
			return fmt.Errorf("%w: %s %q", ErrWrongReply, resp.Status, abbreviate(string(got)))
		}
		return nil
	case httpStatus:
		if resp.StatusCode != want.status {
			return fmt.Errorf("%w: %s %q", ErrWrongReply, resp.Status, abbreviate(string(got)))
		}
		if want.eioCode < 0 {
			return nil
		}
		var e struct {
			Code    *int   `json:"code"`
			Message string `json:"message"`
		}
		if err := json.Unmarshal(got, &e); err != nil || e.Code == nil || *e.Code != want.eioCode || e.Message == "" {
			return fmt.Errorf("%w: body %q, want Engine.IO code %d", ErrWrongReply, got, want.eioCode)
		}
		return nil
	}
	return fmt.Errorf("%w: %v cannot be checked on an HTTP reply", ErrWrongReply, want)
}

// show describes messages for the log, abbreviating long ones.
func show(msgs []string) string {
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		parts[i] = abbreviate(m)
	}
	return strings.Join(parts, " | ")
}

func abbreviate(s string) string {
	if s == "" {
		return "(empty)"
	}
	if len(s) > 80 {
		s = fmt.Sprintf("%s…(%d bytes)…%s", s[:40], len(s), s[len(s)-12:])
	}
	if !utf8.ValidString(s) {
		return fmt.Sprintf("%q", s)
	}
	return s
}

// roundTrip writes r on a connection of its own while reading the reply,
// so that a reply the server sends before it stops reading the body (413)
// is seen even when the rest of the body then meets a reset connection.
// http.Client gives up on the write error instead.
func roundTrip(ctx context.Context, addr string, r *http.Request) (*http.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	r.Close = true
	go func() { _ = r.Write(conn) }() // a write error shows up as a read error, or not at all
	resp, err := http.ReadResponse(bufio.NewReader(conn), r)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body = closer{resp.Body, conn}
	return resp, nil
}

type closer struct {
	io.ReadCloser
	conn net.Conn
}

func (c closer) Close() error {
	c.ReadCloser.Close()
	return c.conn.Close()
}
