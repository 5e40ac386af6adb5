// Package sioclient is a small Socket.IO v5 client (Engine.IO v4) over
// WebSocket or HTTP long-polling, for tests and load generation.
//
// It is light on purpose: a connected client costs one goroutine (the
// reader) and a few kilobytes, so one process holds tens of thousands. Events
// of one client are dispatched one at a time on that reader goroutine, in
// the order the server sent them. Handlers must therefore not block; in
// particular they must not call EmitWithAck (whose reply the same goroutine
// would have to read) — use EmitAckFunc there.
//
// Only the main namespace "/" is supported, and no binary attachments.
package sioclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/jsonscan"
)

var (
	// ErrClosed is returned when emitting on, or awaiting an ack from, a
	// client that is gone.
	ErrClosed = errors.New("sioclient: client closed")
	// ErrServerDisconnect means the server sent DISCONNECT.
	ErrServerDisconnect = errors.New("sioclient: disconnected by the server")
	// ErrServerClose means the server closed the Engine.IO session.
	ErrServerClose = errors.New("sioclient: session closed by the server")
	// ErrPingTimeout means the server sent no ping for pingInterval+pingTimeout.
	ErrPingTimeout = errors.New("sioclient: ping timeout")
	// ErrProtocol is wrapped by errors about malformed packets.
	ErrProtocol = errors.New("sioclient: protocol error")
	// ErrBinaryUnsupported is returned for binary arguments and packets.
	ErrBinaryUnsupported = errors.New("sioclient: binary packets are not supported")
	// ErrBadOptions is wrapped by errors about Options and the URL.
	ErrBadOptions = errors.New("sioclient: bad options")
)

// ConnectError is the server's CONNECT_ERROR, returned by Dial.
type ConnectError struct {
	Message string
	Data    json.RawMessage
}

func (e *ConnectError) Error() string { return "sioclient: connection refused: " + e.Message }

// Transport selects how the client talks to the server.
type Transport string

const (
	// WebSocket only, no polling first (the zero value of Options.Transport).
	WebSocket Transport = "websocket"
	// Polling is HTTP long-polling only, never upgraded.
	Polling Transport = "polling"
)

// Options configure Dial. The zero value connects over WebSocket to
// /socket.io/ without auth.
type Options struct {
	// Transport is WebSocket when empty.
	Transport Transport
	// Path of the Socket.IO endpoint; "/socket.io/" when empty.
	Path string
	// Auth is the CONNECT payload; it must marshal to a JSON object. Nil
	// sends none.
	Auth any
	// Header is added to the handshake requests (Origin, Cookie, ...).
	Header http.Header
	// HTTPClient carries polling requests; nil means a shared client that
	// keeps many connections per host alive.
	HTTPClient *http.Client
	// OnEvent receives the events that have no handler registered with On.
	// One function shared by many clients saves a handler map per client.
	OnEvent func(c *Client, event string, args []json.RawMessage)
	// OnDisconnect is called once when a client that was connected is gone:
	// err is nil after Close, else why (ErrServerDisconnect, ErrPingTimeout,
	// a transport error).
	OnDisconnect func(c *Client, err error)
	// Value is returned by Client.Value, for shared callbacks.
	Value any
	// ReadBufferSize of the WebSocket reader; 2048 when zero.
	ReadBufferSize int
	// NetDial opens the WebSocket transport's connection; nil uses a
	// net.Dialer. A load generator may return a leaner net.Conn.
	NetDial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// AckFunc receives an acknowledgement's arguments, or an error when the
// client closed before the ack came.
type AckFunc func(args []json.RawMessage, err error)

// Client is one Socket.IO connection. Its methods are safe for concurrent
// use.
type Client struct {
	opts Options
	tr   transport

	// ready gets the outcome of the CONNECT handshake, once.
	ready chan error

	mu        sync.Mutex
	id        string
	connected bool
	closed    bool
	handlers  map[string]func(args []json.RawMessage)
	pending   map[int64]AckFunc
	nextAck   int64
	pingWait  time.Duration
}

// transport is one Engine.IO transport. It calls Client.onEngine for every
// packet, in order, from one goroutine, and Client.transportClosed once.
type transport interface {
	write(msg []byte) error
	// expectPingWithin arms the ping timeout.
	expectPingWithin(d time.Duration)
	close() error
}

// Dial connects to the Socket.IO server at rawURL (http, https, ws or wss;
// the path must be empty or "/") and completes the CONNECT handshake. ctx
// bounds Dial only, not the connection.
func Dial(ctx context.Context, rawURL string, opts Options) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOptions, err)
	}
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("%w: namespaces other than / are not supported (URL path %q)", ErrBadOptions, u.Path)
	}
	if opts.Path == "" {
		opts.Path = "/socket.io/"
	}
	if !strings.HasSuffix(opts.Path, "/") {
		opts.Path += "/"
	}
	c := &Client{opts: opts, ready: make(chan error, 1)}
	switch opts.Transport {
	case "", WebSocket:
		err = dialWebSocket(ctx, c, u)
	case Polling:
		err = dialPolling(ctx, c, u)
	default:
		err = fmt.Errorf("%w: unknown transport %q", ErrBadOptions, opts.Transport)
	}
	if err != nil {
		return nil, err
	}
	select {
	case err = <-c.ready:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.finish(err)
		return nil, err
	}
	return c, nil
}

// ID is the socket id the server assigned on CONNECT.
func (c *Client) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Value is Options.Value.
func (c *Client) Value() any { return c.opts.Value }

// On registers the handler of an event, replacing an earlier one. It runs
// on the client's reader goroutine and must not block.
func (c *Client) On(event string, h func(args []json.RawMessage)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.handlers == nil {
		c.handlers = make(map[string]func(args []json.RawMessage))
	}
	c.handlers[event] = h
}

// Emit sends an event. Args are marshalled with encoding/json.
func (c *Client) Emit(event string, args ...any) error {
	msg, err := encodeEvent(-1, event, args)
	if err != nil {
		return err
	}
	return c.write(msg)
}

// EmitRaw sends an event whose args are JSON already. They are sent as
// they are, not checked: an invalid one makes the server refuse the
// packet. Load generators use it to leave encoding/json out of their
// own CPU figures.
func (c *Client) EmitRaw(event string, args ...json.RawMessage) error {
	msg, err := encodeRawEvent(event, args)
	if err != nil {
		return err
	}
	return c.write(msg)
}

// EmitAckFunc sends an event asking for an acknowledgement, delivered to fn
// on the reader goroutine. It blocks nothing, so handlers may call it.
func (c *Client) EmitAckFunc(fn AckFunc, event string, args ...any) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	id := c.nextAck
	c.nextAck++
	if c.pending == nil {
		c.pending = make(map[int64]AckFunc)
	}
	c.pending[id] = fn
	c.mu.Unlock()

	msg, err := encodeEvent(id, event, args)
	if err == nil {
		err = c.write(msg)
	}
	if err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	return err
}

// EmitWithAck sends an event and waits for the server's acknowledgement.
func (c *Client) EmitWithAck(ctx context.Context, event string, args ...any) ([]json.RawMessage, error) {
	type reply struct {
		args []json.RawMessage
		err  error
	}
	ch := make(chan reply, 1)
	err := c.EmitAckFunc(func(args []json.RawMessage, err error) { ch <- reply{args, err} }, event, args...)
	if err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.args, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close disconnects from the server; OnDisconnect gets a nil error.
func (c *Client) Close() error {
	c.mu.Lock()
	wasConnected := c.connected && !c.closed
	c.mu.Unlock()
	if wasConnected {
		_ = c.tr.write([]byte("41")) // tell the namespace first, as socket.io-client does
	}
	c.finish(nil)
	return nil
}

func (c *Client) write(msg []byte) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := c.tr.write(msg); err != nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return nil
}

// finish ends the client once: the transport is closed, pending acks fail,
// Dial or OnDisconnect learn why.
func (c *Client) finish(reason error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	wasConnected := c.connected
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()

	_ = c.tr.close()
	for _, fn := range pending {
		fn(nil, ErrClosed)
	}
	if !wasConnected {
		if reason == nil {
			reason = ErrClosed
		}
		select {
		case c.ready <- reason:
		default:
		}
		return
	}
	if c.opts.OnDisconnect != nil {
		c.opts.OnDisconnect(c, reason)
	}
}

// transportClosed is called by the transport when it ends on its own.
func (c *Client) transportClosed(err error) {
	if err == nil {
		err = ErrServerClose
	}
	c.finish(err)
}

// onEngine handles one Engine.IO packet.
func (c *Client) onEngine(msg []byte) {
	if len(msg) == 0 {
		c.finish(fmt.Errorf("%w: empty engine packet", ErrProtocol))
		return
	}
	switch msg[0] {
	case engineOpen:
		c.onOpen(msg[1:])
	case enginePing:
		c.tr.expectPingWithin(c.pingWait)
		_ = c.tr.write([]byte{enginePong})
	case engineMessage:
		c.onPacket(msg[1:])
	case engineClose:
		c.finish(ErrServerClose)
	case enginePong, engineNoop:
	default:
		c.finish(fmt.Errorf("%w: engine packet type %q", ErrProtocol, msg[0]))
	}
}

func (c *Client) onOpen(data []byte) {
	hs, err := parseHandshake(data)
	if err != nil || hs.SID == "" {
		c.finish(fmt.Errorf("%w: open packet %.64q", ErrProtocol, data))
		return
	}
	c.mu.Lock()
	c.pingWait = time.Duration(hs.PingInterval+hs.PingTimeout) * time.Millisecond
	c.mu.Unlock()
	c.tr.expectPingWithin(c.pingWait)
	msg, err := encodeConnect(c.opts.Auth)
	if err == nil {
		err = c.tr.write(msg)
	}
	if err != nil {
		c.finish(err)
	}
}

func (c *Client) onPacket(data []byte) {
	p, err := decodePacket(data)
	if err != nil {
		c.finish(err)
		return
	}
	switch p.typ {
	case packetConnect:
		ok, err := parseHandshake(p.data)
		if err != nil || ok.SID == "" {
			c.finish(fmt.Errorf("%w: CONNECT payload %.64q", ErrProtocol, p.data))
			return
		}
		c.mu.Lock()
		c.id, c.connected = ok.SID, true
		c.mu.Unlock()
		c.ready <- nil
	case packetConnectError:
		ce := &ConnectError{Data: p.data}
		var body struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(p.data, &body) == nil {
			ce.Message = body.Message
		}
		c.finish(ce)
	case packetDisconnect:
		c.finish(ErrServerDisconnect)
	case packetEvent:
		c.onEvent(p)
	case packetAck:
		c.onAck(p)
	default:
		c.finish(fmt.Errorf("%w: packet type %q", ErrProtocol, p.typ))
	}
}

func (c *Client) onEvent(p packet) {
	name, args, err := decodeEvent(p.data)
	if err != nil {
		c.finish(err)
		return
	}
	c.mu.Lock()
	h := c.handlers[name]
	c.mu.Unlock()
	switch {
	case h != nil:
		h(args)
	case c.opts.OnEvent != nil:
		c.opts.OnEvent(c, name, args)
	}
	if p.ackID >= 0 {
		// The server asked for an ack this client has no way to fill in;
		// an empty one keeps its callback from waiting forever.
		_ = c.tr.write(fmt.Appendf(nil, "43%d[]", p.ackID))
	}
}

func (c *Client) onAck(p packet) {
	args, valid := jsonscan.SplitArray(p.data, nil)
	if !valid {
		c.finish(fmt.Errorf("%w: ack payload %.64q", ErrProtocol, p.data))
		return
	}
	c.mu.Lock()
	fn := c.pending[p.ackID]
	delete(c.pending, p.ackID)
	c.mu.Unlock()
	if fn == nil {
		c.finish(fmt.Errorf("%w: ack %d was not asked for", ErrProtocol, p.ackID))
		return
	}
	fn(args, nil)
}
