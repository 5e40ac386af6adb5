package sioclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// recordSeparator joins Engine.IO packets in one polling payload.
const recordSeparator = 0x1e

// sharedHTTPClient keeps enough idle connections per host for thousands of
// polling clients of one server (the default transport keeps two).
var sharedHTTPClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConnsPerHost: 1 << 16,
	IdleConnTimeout:     90 * time.Second,
}}

// pollTransport is Engine.IO over HTTP long-polling: one goroutine keeps a
// GET pending; writes are POSTs, one at a time as Engine.IO requires.
type pollTransport struct {
	c    *Client
	hc   *http.Client
	url  string // with sid
	hdr  http.Header
	wmu  sync.Mutex
	wait atomic.Int64 // ping timeout, nanoseconds
	ctx  context.Context
	stop context.CancelFunc
}

func dialPolling(ctx context.Context, c *Client, u *url.URL) error {
	pu := *u
	switch u.Scheme {
	case "http", "ws":
		pu.Scheme = "http"
	case "https", "wss":
		pu.Scheme = "https"
	default:
		return fmt.Errorf("%w: URL scheme %q", ErrBadOptions, u.Scheme)
	}
	pu.Path = c.opts.Path
	pu.RawQuery = "EIO=4&transport=polling"
	hc := c.opts.HTTPClient
	if hc == nil {
		hc = sharedHTTPClient
	}
	t := &pollTransport{c: c, hc: hc, hdr: c.opts.Header}
	t.ctx, t.stop = context.WithCancel(context.Background())

	body, err := t.get(ctx, pu.String())
	if err != nil {
		t.stop()
		return fmt.Errorf("sioclient: polling handshake: %w", err)
	}
	packets := bytes.Split(body, []byte{recordSeparator})
	var hs handshake
	if len(packets[0]) == 0 || packets[0][0] != engineOpen || json.Unmarshal(packets[0][1:], &hs) != nil || hs.SID == "" {
		t.stop()
		return fmt.Errorf("%w: polling handshake %.64q", ErrProtocol, body)
	}
	q := pu.Query()
	q.Set("sid", hs.SID)
	pu.RawQuery = q.Encode()
	t.url = pu.String()
	c.tr = t
	for _, p := range packets {
		c.onEngine(p)
	}
	go t.loop()
	return nil
}

func (t *pollTransport) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return t.do(req)
}

func (t *pollTransport) do(req *http.Request) ([]byte, error) {
	for k, v := range t.hdr {
		req.Header[k] = v
	}
	res, err := t.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %.200s", req.Method, req.URL.Path, res.Status, body)
	}
	return body, nil
}

// loop keeps one GET pending and hands what it brings to the client.
func (t *pollTransport) loop() {
	for {
		ctx, cancel := t.ctx, context.CancelFunc(func() {})
		if w := time.Duration(t.wait.Load()); w > 0 {
			ctx, cancel = context.WithTimeout(t.ctx, w)
		}
		body, err := t.get(ctx, t.url)
		timedOut := ctx.Err() != nil && t.ctx.Err() == nil
		cancel()
		if t.ctx.Err() != nil {
			return // closed by us
		}
		if err != nil {
			if timedOut {
				err = ErrPingTimeout
			}
			t.c.transportClosed(err)
			return
		}
		for _, p := range bytes.Split(body, []byte{recordSeparator}) {
			if len(p) > 0 && p[0] == 'b' {
				t.c.finish(ErrBinaryUnsupported)
				return
			}
			t.c.onEngine(p)
			if t.ctx.Err() != nil {
				return
			}
		}
	}
}

func (t *pollTransport) write(msg []byte) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	req, err := http.NewRequestWithContext(t.ctx, http.MethodPost, t.url, bytes.NewReader(msg))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	_, err = t.do(req)
	return err
}

// expectPingWithin bounds each GET: the server answers one at least every
// ping interval.
func (t *pollTransport) expectPingWithin(d time.Duration) { t.wait.Store(int64(d)) }

func (t *pollTransport) close() error {
	if t.ctx.Err() != nil {
		return nil
	}
	err := t.write([]byte{engineClose})
	t.stop()
	return err
}
