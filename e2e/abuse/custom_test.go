package abuse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// readHeaderTimeout is the server's http.Server.ReadHeaderTimeout.
const readHeaderTimeout = 10 * time.Second

// customAbuse: input that needs more than one message and one reply.
func customAbuse() []abuse {
	return []abuse{
		{
			name:  "http/slowloris headers",
			sends: "20 connections dripping one header byte every 500 ms",
			want:  wantCustom("others are served meanwhile; each drip connection closed by the server within ReadHeaderTimeout (10 s) + 5 s"),
			run:   slowloris,
		},
		{
			name:  "ws/flood of 400 events with acks",
			sends: `400 × 42<n>["leave-room"] back to back`,
			want:  wantCustom("acks, each not-in-room or rate-limited, exactly one rate-limited, the rest of the refused dropped; 2000 more: disconnected"),
			run:   func(ctx context.Context, h *huddle) error { return flood(ctx, h, overWS, true) },
		},
		{
			name:  "polling/flood of 400 events without acks",
			sends: `400 × 42["leave-room"] in one POST`,
			want:  wantCustom("signaling-errors, each not-in-room or rate-limited, exactly one rate-limited, the rest of the refused dropped; 2000 more: disconnected"),
			run:   func(ctx context.Context, h *huddle) error { return flood(ctx, h, overPolling, false) },
		},
		{
			name:  "ws/2 MB in 32 continuation frames",
			sends: "a text frame without FIN and 31 continuations of 64 KB",
			want:  wantClosed(),
			run:   fragmented,
		},
		{
			name:  "ws/binary frame outside a binary event",
			sends: "a binary frame 0x00 0x01 0x02",
			want:  wantClosed(),
			run: func(ctx context.Context, h *huddle) error {
				return onWS(ctx, h, func(w *wsWire) error { return w.writeFrame(ctx, true, opBinary, []byte{0, 1, 2}) })
			},
		},
		{
			name:  "ws/text frame with 0xff after a valid prefix",
			sends: "a text frame 42[\"leave-room\"] followed by 0xff in its own continuation",
			want:  wantClosed(),
			run: func(ctx context.Context, h *huddle) error {
				return onWS(ctx, h, func(w *wsWire) error {
					if err := w.writeFrame(ctx, false, opText, []byte(`42["leave-room"]`)); err != nil {
						return err
					}
					return w.writeFrame(ctx, true, opCont, []byte{0xff})
				})
			},
		},
		{
			name:  "polling/overlapping GETs",
			sends: "two long-polling GETs of one session at once",
			want:  wantCustom("the second GET answered 400 and the session closed"),
			run:   overlappingGets,
		},
	}
}

// onWS connects a raw WebSocket session, lets send misbehave, and expects
// the server to close it.
func onWS(ctx context.Context, h *huddle, send func(w *wsWire) error) error {
	w, err := dialWS(ctx, h.addr)
	if err != nil {
		return err
	}
	defer w.close()
	if err := connect(ctx, w); err != nil {
		return err
	}
	if err := send(w); errors.Is(err, ErrServerClosed) {
		return nil
	} else if err != nil {
		return err
	}
	return untilClosed(ctx, w)
}

func fragmented(ctx context.Context, h *huddle) error {
	return onWS(ctx, h, func(w *wsWire) error {
		chunk := bytes.Repeat([]byte("A"), 64<<10)
		if err := w.writeFrame(ctx, false, opText, append([]byte(`42["chat-message",{"text":"`), chunk...)); err != nil {
			return err
		}
		for i := 1; i < 32; i++ {
			if err := w.writeFrame(ctx, i == 31, opCont, chunk); err != nil {
				return err // the server may hang up before the last one
			}
		}
		return nil
	})
}

// flood sends 400 events at once, over the socket's burst (200): the burst
// is answered (not-in-room), the first refused event is answered
// rate-limited and the other refused ones are dropped without an answer.
// 2000 more keep the socket over its limit, and the server disconnects it.
func flood(ctx context.Context, h *huddle, t transport, withAcks bool) error {
	const n = 400
	w, err := openWire(ctx, h, t)
	if err != nil {
		return err
	}
	defer w.close()
	if err := connect(ctx, w); err != nil {
		return err
	}
	msgs := make([][]byte, n)
	for i := range msgs {
		if withAcks {
			msgs[i] = []byte("42" + strconv.Itoa(i) + `["leave-room"]`)
		} else {
			msgs[i] = []byte(`42["leave-room"]`)
		}
	}
	if err := w.send(ctx, msgs...); err != nil {
		return err
	}
	codes := map[string]int{}
	seen := make([]bool, n)
	got := 0
	for {
		// The replies end with a quiet second: what was dropped never comes.
		quiet, cancel := context.WithTimeout(ctx, time.Second)
		msg, err := w.next(quiet)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d of %d replies (%v): %w", got, n, codes, err)
		}
		var code string
		switch {
		case withAcks && strings.HasPrefix(msg, "43"):
			id, r, err := parseAck(msg)
			if err != nil {
				return err
			}
			if id < 0 || id >= n || seen[id] || r.Error == nil {
				return fmt.Errorf("%w: unexpected ack %q", ErrWrongReply, msg)
			}
			seen[id] = true
			code = r.Error.Code
		case !withAcks && strings.HasPrefix(msg, `42["signaling-error",`):
			code = codeOf(msg)
		default:
			return fmt.Errorf("%w: unexpected %q", ErrWrongReply, msg)
		}
		if code != "not-in-room" && code != "rate-limited" {
			return fmt.Errorf("%w: code %q in %q", ErrWrongReply, code, msg)
		}
		codes[code]++
		got++
	}
	if codes["rate-limited"] != 1 || got >= n {
		return fmt.Errorf("%w: %d replies to %d events (%v), want exactly one rate-limited and no reply to the other refused events", ErrWrongReply, got, n, codes)
	}
	more := make([][]byte, 2000)
	for i := range more {
		more[i] = []byte(`42["leave-room"]`)
	}
	if err := w.send(ctx, more...); err != nil && !errors.Is(err, ErrServerClosed) && !isReset(err) {
		return err
	}
	for {
		msg, err := w.next(ctx)
		if errors.Is(err, ErrServerClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("a socket that stayed over its limit was not disconnected: %w", err)
		}
		if msg != "41" && !strings.HasPrefix(msg, "43") && !strings.HasPrefix(msg, `42["signaling-error",`) {
			return fmt.Errorf("%w: unexpected %q while flooding", ErrWrongReply, msg)
		}
	}
}

func codeOf(msg string) string {
	_, rest, ok := strings.Cut(msg, `"code":"`)
	if !ok {
		return ""
	}
	code, _, _ := strings.Cut(rest, `"`)
	return code
}

func overlappingGets(ctx context.Context, h *huddle) error {
	p, err := dialPolling(ctx, h.url)
	if err != nil {
		return err
	}
	if err := connect(ctx, p); err != nil {
		return err
	}
	type result struct {
		status int
		err    error
	}
	first := make(chan result, 1)
	go func() {
		status, _, err := p.do(ctx, "GET", p.sessionURL(), nil)
		first <- result{status, err}
	}()
	// The first GET waits: nothing is queued. Give it time to arrive.
	time.Sleep(200 * time.Millisecond)
	status, body, err := p.do(ctx, "GET", p.sessionURL(), nil)
	if err != nil {
		return err
	}
	r := <-first
	if r.err != nil {
		return r.err
	}
	// One of the two (whichever the server saw second) is refused, and
	// the other is told the session is closed.
	if status != 400 && r.status != 400 {
		return fmt.Errorf("%w: both GETs answered (%d %q, %d)", ErrWrongReply, status, body, r.status)
	}
	// The session is gone.
	status, body, err = p.do(ctx, "GET", p.sessionURL(), nil)
	if err != nil {
		return err
	}
	if status != 400 {
		return fmt.Errorf("%w: session still open after overlapping GETs: %d %q", ErrWrongReply, status, body)
	}
	return nil
}

// slowloris holds connections that never finish their headers, checks the
// server keeps serving others, and that it hangs up on the slow ones.
func slowloris(ctx context.Context, h *huddle) error {
	const conns = 20
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	start := time.Now()
	for range conns {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", h.addr)
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			errs <- drip(ctx, c, start)
		}()
	}
	// Meanwhile others are served: health checks and a Socket.IO session.
	for range 3 {
		if err := h.healthz(); err != nil {
			return fmt.Errorf("healthz during slowloris: %w", err)
		}
		p, err := dialPolling(ctx, h.url)
		if err != nil {
			return fmt.Errorf("handshake during slowloris: %w", err)
		}
		if err := connect(ctx, p); err != nil {
			return fmt.Errorf("CONNECT during slowloris: %w", err)
		}
		time.Sleep(time.Second)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// errStillOpen means a slow connection outlived the header timeout.
var errStillOpen = errors.New("slow connection still open past ReadHeaderTimeout")

func drip(ctx context.Context, c net.Conn, start time.Time) error {
	if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		return err
	}
	closedBy := make(chan error, 1)
	go func() {
		// The server sends nothing and hangs up: Read returns EOF.
		_, err := c.Read(make([]byte, 512))
		closedBy <- err
	}()
	limit := time.After(readHeaderTimeout + 5*time.Second - time.Since(start))
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closedBy:
			return nil
		case <-limit:
			return errStillOpen
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			_, _ = c.Write([]byte("a")) // errors show up in Read
		}
	}
}
