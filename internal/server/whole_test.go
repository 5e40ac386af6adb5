package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/internal/sioclient"
)

// These tests run the real server: Socket.IO engine, signaling and (when
// asked) the relay, with the light Go Socket.IO client.

type realServer struct {
	*Server
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startReal(t *testing.T, cfg config.Config) *realServer {
	t.Helper()
	logs := &syncBuffer{}
	s, err := New(cfg, NewLogger(cfg, logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &realServer{Server: s, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Error("server did not stop")
		}
		if t.Failed() {
			t.Logf("server logs:\n%s", logs.String())
		}
	})
	waitReady(t, s)
	return r
}

var netipLoopback = netip.MustParseAddr("127.0.0.1")

func (r *realServer) url() string { return "http://" + r.Addr().String() }

func dial(t *testing.T, url string, opts sioclient.Options) (*sioclient.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, opts)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func scrapeMetrics(t *testing.T, h http.Handler) string {
	t.Helper()
	return get(t, h, "/metrics").Body.String()
}

// eventually retries cond for a few seconds: counts settle asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never true: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWholeServerLimitsSessionsPerIP(t *testing.T) {
	r := startReal(t, testConfig(t, "--max-conns-per-ip", "2"))
	a, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, r.url(), sioclient.Options{Transport: sioclient.Polling}); err != nil {
		t.Fatal(err)
	}
	_, err = dial(t, r.url(), sioclient.Options{})
	var refused *sioclient.ConnectError
	if !errors.As(err, &refused) || refused.Message != "too many connections" {
		t.Fatalf("third session: err = %v, want CONNECT_ERROR too many connections", err)
	}
	if m := scrapeMetrics(t, r.Handler()); !strings.Contains(m, `huddle_events_refused_total{event="connect",reason="too-many-connections"} 1`) {
		t.Error("refusal not counted")
	}
	// A session that ends gives its slot back.
	a.Close()
	eventually(t, "slot released", func() bool { return r.limiter.Count(netipLoopback) == 1 })
	if _, err := dial(t, r.url(), sioclient.Options{}); err != nil {
		t.Fatalf("after a close: %v", err)
	}
}

func TestWholeServerChecksOrigin(t *testing.T) {
	r := startReal(t, testConfig(t, "--allowed-origins", "https://app.example.org"))
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{"http://localhost:5173", true},
		{"https://app.example.org", true},
		{"http://" + r.Addr().String(), true}, // same origin
		{"https://evil.example", false},
	} {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		for _, tr := range []sioclient.Transport{sioclient.WebSocket, sioclient.Polling} {
			_, err := dial(t, r.url(), sioclient.Options{Transport: tr, Header: h})
			if (err == nil) != tc.ok {
				t.Errorf("origin %q over %s: err = %v, want allowed=%v", tc.origin, tr, err, tc.ok)
			}
		}
	}
	if m := scrapeMetrics(t, r.Handler()); !strings.Contains(m, `huddle_events_refused_total{event="connect",reason="origin"}`) {
		t.Error("origin refusals not counted")
	}
}

func TestWholeServerMetrics(t *testing.T) {
	r := startReal(t, testConfig(t))
	c, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, r.url(), sioclient.Options{Transport: sioclient.Polling}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": "ops-metrics", "name": "Ada"}); err != nil {
		t.Fatal(err)
	}
	body := scrapeMetrics(t, r.Handler())
	for _, want := range []string{
		`huddle_sockets{transport="websocket"} 1`,
		`huddle_sockets{transport="polling"} 1`,
		`huddle_rooms 1`,
		`huddle_participants 1`,
		`huddle_handshake_seconds_count 2`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestWholeServerShutdownDisconnectsClients(t *testing.T) {
	cfg := testConfig(t)
	logs := &syncBuffer{}
	s, err := New(cfg, NewLogger(cfg, logs))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	waitReady(t, s)
	url := "http://" + s.Addr().String()

	var mu sync.Mutex
	reasons := map[string]error{}
	gone := make(chan struct{}, 2)
	for _, tr := range []sioclient.Transport{sioclient.WebSocket, sioclient.Polling} {
		_, err := dial(t, url, sioclient.Options{Transport: tr, OnDisconnect: func(c *sioclient.Client, err error) {
			mu.Lock()
			reasons[string(tr)] = err
			mu.Unlock()
			gone <- struct{}{}
		}})
		if err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(cfg.ShutdownTimeout):
		t.Fatalf("not stopped within --shutdown-timeout; logs:\n%s", logs.String())
	}
	t.Logf("shutdown took %v", time.Since(began))
	for range 2 {
		select {
		case <-gone:
		case <-time.After(5 * time.Second):
			t.Fatal("a client was not told")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for tr, err := range reasons {
		// The transport closes (an Engine.IO close packet, or a WebSocket
		// close 1000) without a Socket.IO DISCONNECT: a client told
		// DISCONNECT would not reconnect by itself (docs/OPERATIONS.md).
		if errors.Is(err, sioclient.ErrServerDisconnect) {
			t.Errorf("%s client got a Socket.IO DISCONNECT: it would not reconnect", tr)
		} else if !errors.Is(err, sioclient.ErrServerClose) && (err == nil || !strings.Contains(err.Error(), "code=1000")) {
			t.Errorf("%s client: %v, want its transport closed by the server", tr, err)
		}
	}
	if rec := get(t, s.Handler(), "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after shutdown: %d", rec.Code)
	}
}

func TestWholeServerOverTLSWithRelay(t *testing.T) {
	turnsAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
	r := startReal(t, testConfig(t, "--tls-self-signed",
		"--turn=true", "--turn-listen", "127.0.0.1:"+strconv.Itoa(freeTCPPort(t)), "--turn-tls-listen", turnsAddr,
		"--turn-public-ip", "127.0.0.1"))
	cert, err := r.TLSConfig().GetCertificate(&tls.ClientHelloInfo{ServerName: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert.Leaf)
	client := tlsClient(roots, "localhost")
	c, err := dial(t, "https://"+r.Addr().String(), sioclient.Options{Transport: sioclient.Polling, HTTPClient: client})
	if err != nil {
		t.Fatalf("Socket.IO over HTTPS: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.EmitWithAck(ctx, "join-room", "ops-tls"); err != nil {
		t.Fatal(err)
	}
	res, err := client.Get("https://" + r.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "huddle_turn_allocations 0") {
		t.Error("relay metrics missing with the relay on")
	}

	// TURN over TLS presents the same certificate.
	conn, err := tls.Dial("tcp", turnsAddr, &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("TURN over TLS: %v", err)
	}
	defer conn.Close()
	if !conn.ConnectionState().PeerCertificates[0].Equal(cert.Leaf) {
		t.Error("TURN over TLS serves another certificate")
	}
}

func TestWholeServerTrustProxy(t *testing.T) {
	r := startReal(t, testConfig(t, "--max-conns-per-ip", "1", "--trust-proxy"))
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {"203.0.113.50, " + ip}} }
	if _, err := dial(t, r.url(), sioclient.Options{Header: from("198.51.100.1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, r.url(), sioclient.Options{Header: from("198.51.100.2")}); err != nil {
		t.Fatalf("another client behind the proxy refused: %v", err)
	}
	// The first entry is the client's to forge; only the last one counts.
	_, err := dial(t, r.url(), sioclient.Options{Header: http.Header{"X-Forwarded-For": {"192.0.2.99, 198.51.100.1"}}})
	var refused *sioclient.ConnectError
	if !errors.As(err, &refused) {
		t.Fatalf("second session of 198.51.100.1: err = %v, want CONNECT_ERROR", err)
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
	cfg := testConfig(t, "--addr", addr, "--shutdown-timeout", "3s")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, NewLogger(cfg, io.Discard)) }()
	eventually(t, "ready", func() bool {
		res, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	if _, err := dial(t, "http://"+addr, sioclient.Options{}); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(cfg.ShutdownTimeout):
		t.Fatal("Run did not return within --shutdown-timeout")
	}
}
