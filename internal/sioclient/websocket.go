package sioclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/lxzan/gws"
)

// wsTransport is Engine.IO over one WebSocket; gws's ReadLoop is the
// client's only goroutine.
type wsTransport struct {
	gws.BuiltinEventHandler
	c    *Client
	conn *gws.Conn
}

// ctxDialer lets Dial's context bound the TCP connect.
type ctxDialer struct {
	ctx  context.Context
	dial func(ctx context.Context, network, addr string) (net.Conn, error) // nil: net.Dialer
}

func (d ctxDialer) Dial(network, addr string) (net.Conn, error) {
	if d.dial != nil {
		return d.dial(d.ctx, network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(d.ctx, network, addr)
}

func dialWebSocket(ctx context.Context, c *Client, u *url.URL) error {
	wsURL := *u
	switch u.Scheme {
	case "http", "ws":
		wsURL.Scheme = "ws"
	case "https", "wss":
		wsURL.Scheme = "wss"
	default:
		return fmt.Errorf("%w: URL scheme %q", ErrBadOptions, u.Scheme)
	}
	wsURL.Path = c.opts.Path
	wsURL.RawQuery = "EIO=4&transport=websocket"

	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	bufSize := c.opts.ReadBufferSize
	if bufSize <= 0 {
		bufSize = 2048
	}
	t := &wsTransport{c: c}
	conn, _, err := gws.NewClient(t, &gws.ClientOption{
		Addr:             wsURL.String(),
		RequestHeader:    c.opts.Header.Clone(),
		HandshakeTimeout: timeout,
		ReadBufferSize:   bufSize,
		NewDialer:        func() (gws.Dialer, error) { return ctxDialer{ctx, c.opts.NetDial}, nil },
	})
	if err != nil {
		return fmt.Errorf("sioclient: websocket: %w", err)
	}
	t.conn = conn
	c.tr = t
	go conn.ReadLoop()
	return nil
}

func (t *wsTransport) write(msg []byte) error {
	return t.conn.WriteMessage(gws.OpcodeText, msg)
}

func (t *wsTransport) expectPingWithin(d time.Duration) {
	if d > 0 {
		_ = t.conn.SetReadDeadline(time.Now().Add(d))
	}
}

func (t *wsTransport) close() error {
	return t.conn.WriteClose(1000, nil)
}

func (t *wsTransport) OnMessage(_ *gws.Conn, m *gws.Message) {
	// The message buffer is not returned to gws's pool (no m.Close()):
	// handlers may keep the json.RawMessage arguments that point into it.
	if m.Opcode != gws.OpcodeText {
		t.c.finish(ErrBinaryUnsupported)
		return
	}
	t.c.onEngine(m.Bytes())
}

func (t *wsTransport) OnClose(_ *gws.Conn, err error) {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		err = ErrPingTimeout
	}
	t.c.transportClosed(err)
}
