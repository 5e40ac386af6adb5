package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/config"
	"github.com/huddlehq/huddle/socketio"
)

// fakeEngine stands in for the Socket.IO engine: every request is a
// long-poll that ends when the engine shuts down.
type fakeEngine struct {
	stats    socketio.Stats
	stop     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	stopped  bool
	inFlight chan struct{} // receives when a long-poll started
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{stop: make(chan struct{}), inFlight: make(chan struct{}, 16)}
}

func (f *fakeEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.inFlight <- struct{}{}
	select {
	case <-f.stop:
		io.WriteString(w, "1") // an Engine.IO close packet
	case <-r.Context().Done():
	}
}

func (f *fakeEngine) Stats() socketio.Stats { return f.stats }

func (f *fakeEngine) Shutdown(ctx context.Context) error {
	f.once.Do(func() {
		f.mu.Lock()
		f.stopped = true
		f.mu.Unlock()
		close(f.stop)
	})
	return nil
}

func (f *fakeEngine) wasStopped() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testConfig parses flags as the binary would, on a free loopback port and
// without the relay.
func testConfig(t *testing.T, args ...string) config.Config {
	t.Helper()
	base := []string{"--addr", "127.0.0.1:0", "--turn=false", "--sfu-udp=0", "--sfu-tcp=0", "--log-level", "debug", "--shutdown-timeout", "5s", "--shutdown-delay", "0s"}
	cfg, err := config.Parse(append(base, args...), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// running is a server started by start.
type running struct {
	*Server
	engine *fakeEngine
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

// start builds a server with a fake engine and serves it until the test
// ends.
func start(t *testing.T, cfg config.Config) *running {
	t.Helper()
	eng := newFakeEngine()
	logs := &syncBuffer{}
	log := NewLogger(cfg, logs)
	s, err := build(cfg, log, func(*Server) (parts, error) { return parts{engine: eng}, nil })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Server: s, engine: eng, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(cfg.ShutdownTimeout + 5*time.Second):
			t.Error("server did not stop")
		}
	})
	waitReady(t, s)
	return r
}

func waitReady(t *testing.T, s *Server) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !s.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("server never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func get(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	return rec
}

func TestReadinessFollowsLifecycle(t *testing.T) {
	cfg := testConfig(t)
	eng := newFakeEngine()
	s, err := build(cfg, slog.New(slog.DiscardHandler), func(*Server) (parts, error) { return parts{engine: eng}, nil })
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(t, s.Handler(), "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz before Serve: %d, want 503", rec.Code)
	}
	if rec := get(t, s.Handler(), "/healthz"); rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "ok") {
		t.Fatalf("/healthz: %d %q", rec.Code, rec.Body.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	waitReady(t, s)
	url := "http://" + s.Addr().String()
	for _, path := range []string{"/healthz", "/readyz"} {
		res, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("%s while serving: %d", path, res.StatusCode)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(cfg.ShutdownTimeout):
		t.Fatal("Serve did not return within the shutdown timeout")
	}
	if !eng.wasStopped() {
		t.Error("the engine was not shut down")
	}
	if rec := get(t, s.Handler(), "/readyz"); rec.Code != http.StatusServiceUnavailable {
		t.Errorf("/readyz after shutdown: %d, want 503", rec.Code)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the listener still accepts connections after shutdown")
	}
}

func TestShutdownDelayServesOnNotReady(t *testing.T) {
	r := start(t, testConfig(t, "--shutdown-delay", "1s"))
	url := "http://" + r.Addr().String()
	r.cancel()
	eventually(t, "not ready", func() bool { return !r.ready.Load() })
	res, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatalf("nothing served during the delay: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the delay: %d, want 503", res.StatusCode)
	}
	if r.engine.wasStopped() {
		t.Error("clients sent away before the delay ended")
	}
	if err := <-r.done; err != nil {
		t.Fatal(err)
	}
	r.done <- nil
	if !r.engine.wasStopped() {
		t.Error("engine not shut down")
	}
}

func TestShutdownEndsLongPolls(t *testing.T) {
	r := start(t, testConfig(t))
	url := "http://" + r.Addr().String()
	got := make(chan string, 1)
	go func() {
		res, err := http.Get(url + "/socket.io/?EIO=4&transport=polling&sid=abc")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		got <- string(b)
	}()
	<-r.engine.inFlight // the long-poll is waiting inside the engine
	began := time.Now()
	r.cancel()
	if body := <-got; body != "1" {
		t.Errorf("long-poll ended with %q, want the engine's close packet", body)
	}
	if err := <-r.done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	r.done <- nil // for the cleanup
	if d := time.Since(began); d >= r.cfg.ShutdownTimeout {
		t.Errorf("shutdown took %v, the whole timeout", d)
	}
	if logs := r.logs.String(); !strings.Contains(logs, "shutting down") || !strings.Contains(logs, "stopped") {
		t.Errorf("shutdown not logged:\n%s", logs)
	}
}

func TestServeFailsOnTakenAddress(t *testing.T) {
	r := start(t, testConfig(t))
	cfg := testConfig(t, "--addr", r.Addr().String())
	_, err := build(cfg, slog.New(slog.DiscardHandler), func(*Server) (parts, error) { return parts{engine: newFakeEngine()}, nil })
	if err == nil {
		t.Fatal("a second server bound the same address")
	}
}

func TestPartsErrorReleasesListeners(t *testing.T) {
	cfg := testConfig(t, "--pprof-addr", "127.0.0.1:0")
	boom := errors.New("relay failed")
	var bound *Server
	_, err := build(cfg, slog.New(slog.DiscardHandler), func(s *Server) (parts, error) {
		bound = s
		return parts{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	// The port is free again: listening on it works.
	cfg2 := testConfig(t, "--addr", bound.ln.Addr().String())
	s2, err := build(cfg2, slog.New(slog.DiscardHandler), func(*Server) (parts, error) { return parts{engine: newFakeEngine()}, nil })
	if err != nil {
		t.Fatalf("address not released: %v", err)
	}
	s2.closeListeners()
}

func TestPprofOnlyOnItsOwnListener(t *testing.T) {
	r := start(t, testConfig(t, "--pprof-addr", "127.0.0.1:0"))
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap"} {
		if rec := get(t, r.Handler(), path); rec.Code != http.StatusNotFound {
			t.Errorf("main handler %s: %d, want 404", path, rec.Code)
		}
	}
	res, err := http.Get("http://" + r.pprofLn.Addr().String() + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "goroutine") {
		t.Errorf("pprof listener: %d %.100q", res.StatusCode, b)
	}
}

// The command line may hold a secret (--turn-secret): pprof does not show it.
func TestPprofHidesCommandLine(t *testing.T) {
	r := start(t, testConfig(t, "--pprof-addr", "127.0.0.1:0"))
	res, err := http.Get("http://" + r.pprofLn.Addr().String() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode == http.StatusOK || strings.Contains(string(b), os.Args[0]) {
		t.Errorf("/debug/pprof/cmdline: %d %.200q", res.StatusCode, b)
	}
}

func TestNoPprofListenerByDefault(t *testing.T) {
	r := start(t, testConfig(t))
	if r.pprofLn != nil {
		t.Fatal("pprof listener without --pprof-addr")
	}
}

// The socket gauges read the engine's counts at each scrape.
func TestMetricsReadEngineStats(t *testing.T) {
	r := start(t, testConfig(t))
	r.engine.stats = socketio.Stats{Polling: 3, WebSocket: 11}
	body := get(t, r.Handler(), "/metrics").Body.String()
	for _, want := range []string{
		`huddle_sockets{transport="polling"} 3`,
		`huddle_sockets{transport="websocket"} 11`,
		`huddle_rooms 0`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "huddle_turn_allocations") {
		t.Error("TURN metrics exported with the relay off")
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	r := start(t, testConfig(t))
	// An Upgrade header skips them only on a Socket.IO WebSocket handshake,
	// whose response the engine writes itself.
	for _, tc := range []struct{ path, upgrade string }{
		{"/", ""}, {"/abc-defg-hij", ""}, {"/healthz", ""}, {"/metrics", ""}, {"/debug/pprof/", ""},
		{"/", "websocket"}, {"/abc-defg-hij", "h2c"},
	} {
		path := tc.path
		req := httptest.NewRequest("GET", path, nil)
		req.Host = "meet.example.com:8443"
		if tc.upgrade != "" {
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", tc.upgrade)
		}
		rec := httptest.NewRecorder()
		r.Handler().ServeHTTP(rec, req)
		h := rec.Header()
		for k, want := range map[string]string{
			"X-Frame-Options":        "DENY",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"Permissions-Policy":     "camera=(self), microphone=(self), display-capture=(self)",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s %s = %q, want %q", path, k, got, want)
			}
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "mediastream:", "blob:", "img-src 'self' data:",
			"ws://meet.example.com:8443", "wss://meet.example.com:8443", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s CSP %q lacks %q", path, csp, want)
			}
		}
	}
}

func TestCSPDoesNotEchoStrangeHosts(t *testing.T) {
	req := httptest.NewRequest("GET", "/", nil)
	req.Host = "evil.example; script-src *"
	csp := contentSecurityPolicy(req)
	if strings.Contains(csp, "evil") {
		t.Errorf("CSP took the Host header in: %q", csp)
	}
}

func TestAccessLog(t *testing.T) {
	r := start(t, testConfig(t))
	res, err := http.Get("http://" + r.Addr().String() + "/abc-defg-hij?password=hunter2&token=s3cret")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	logs := r.logs.String()
	if !strings.Contains(logs, "msg=\"http request\"") || !strings.Contains(logs, "path=/abc-defg-hij") {
		t.Errorf("request not logged at debug:\n%s", logs)
	}
	if strings.Contains(logs, "hunter2") || strings.Contains(logs, "s3cret") {
		t.Errorf("query string logged:\n%s", logs)
	}

	// At info level there is no access log at all.
	var buf bytes.Buffer
	h := accessLog(slog.New(slog.NewTextHandler(&buf, nil)), http.NotFoundHandler())
	get(t, h, "/x")
	if buf.Len() != 0 {
		t.Errorf("access log at info level: %s", buf.String())
	}
}

func TestAccessLogKeepsHijack(t *testing.T) {
	var hijacked bool
	h := accessLog(slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelDebug})),
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, ok := w.(http.Hijacker)
			hijacked = ok
			_, ok = w.(http.Flusher)
			hijacked = hijacked && ok
		}))
	get(t, h, "/socket.io/")
	if !hijacked {
		t.Error("the access log hides Hijacker or Flusher from the WebSocket upgrade")
	}
}

func TestNewLogger(t *testing.T) {
	for _, tc := range []struct {
		format, level string
		want          string
		debugShown    bool
	}{
		{"text", "info", "level=INFO msg=hello", false},
		{"json", "info", `"msg":"hello"`, false},
		{"text", "debug", "level=INFO msg=hello", true},
	} {
		var buf bytes.Buffer
		log := NewLogger(config.Config{LogFormat: tc.format, LogLevel: tc.level}, &buf)
		log.Debug("quiet")
		log.Info("hello")
		if !strings.Contains(buf.String(), tc.want) {
			t.Errorf("%s/%s: %q lacks %q", tc.format, tc.level, buf.String(), tc.want)
		}
		if strings.Contains(buf.String(), "quiet") != tc.debugShown {
			t.Errorf("%s/%s: debug shown = %v", tc.format, tc.level, !tc.debugShown)
		}
	}
}

func TestFileLimitRaised(t *testing.T) {
	soft, hard, err := raiseFileLimit()
	if err != nil {
		t.Skip("no rlimits here:", err)
	}
	if soft != hard {
		t.Errorf("soft limit %d, hard %d: not raised", soft, hard)
	}
}
