package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
	"github.com/huddlehq/huddle/socketio"
)

// testServer is a signaling service on a real Socket.IO server, for tests
// that speak the protocol with real clients (internal/sioclient).
type testServer struct {
	t       *testing.T
	url     string
	svc     *Service
	metrics *countingMetrics
	logs    *syncBuffer
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	io := socketio.NewServer(socketio.Config{})
	logs := &syncBuffer{}
	m := &countingMetrics{refused: map[string]int{}}
	svc := NewService(cfg, nil, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), m)
	svc.Attach(io)
	srv := httptest.NewServer(io)
	t.Cleanup(srv.Close)
	return &testServer{t: t, url: srv.URL, svc: svc, metrics: m, logs: logs}
}

// syncBuffer is a log destination tests can read while the server writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// countingMetrics counts what the service reports.
type countingMetrics struct {
	mu      sync.Mutex
	refused map[string]int // by "event/reason"
	relayed int
}

func (m *countingMetrics) EventRelayed(string) { m.mu.Lock(); m.relayed++; m.mu.Unlock() }
func (m *countingMetrics) EventRefused(event, reason string) {
	m.mu.Lock()
	m.refused[event+"/"+reason]++
	m.mu.Unlock()
}
func (m *countingMetrics) Reconnected()               {}
func (m *countingMetrics) ObserveRelay(time.Duration) {}

func (m *countingMetrics) refusals(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refused[key]
}

// testClient is one connected client that records every event it gets.
type testClient struct {
	t *testing.T
	c *sioclient.Client

	mu     sync.Mutex
	events map[string][]json.RawMessage
	gone   chan error // gets why the server ended the connection
}

func (ts *testServer) dial() *testClient {
	ts.t.Helper()
	return ts.dialWith(nil)
}

// reply is an ack as the tests read it.
type reply struct {
	OK      bool
	Waiting bool
	ID      string
	Host    string
	Name    string
	Text    string
	Error   struct {
		Code       string
		Message    string
		RetryAfter int
	}
	raw json.RawMessage
}

// ask emits event with an ack and returns the ack.
func (tc *testClient) ask(event string, arg any) reply {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := tc.c.EmitWithAck(ctx, event, arg)
	if err != nil {
		tc.t.Fatalf("%s: %v", event, err)
	}
	var r reply
	if len(res) == 0 || json.Unmarshal(res[0], &r) != nil {
		tc.t.Fatalf("%s: ack %s", event, res)
	}
	r.raw = res[0]
	return r
}

// join joins room with a name (and a password when not "") and requires
// success; it returns the participant id.
func (tc *testClient) join(room, name, password string) reply {
	tc.t.Helper()
	r := tc.ask("join-room", map[string]string{"room": room, "name": name, "password": password})
	if !r.OK {
		tc.t.Fatalf("join %s as %q: %s", room, name, r.raw)
	}
	return r
}

// received returns the payloads of event received so far.
func (tc *testClient) received(event string) []json.RawMessage {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return append([]json.RawMessage(nil), tc.events[event]...)
}

// waitFor waits until event has been received n times and returns the
// payloads.
func (tc *testClient) waitFor(event string, n int) []json.RawMessage {
	tc.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got := tc.received(event); len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			tc.t.Fatalf("%q received %d times, want %d", event, len(tc.received(event)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// sync makes sure every event the server sent before now has been
// recorded: the answer to a ping comes after them on the same connection.
func (tc *testClient) sync() {
	tc.t.Helper()
	tc.ask("no-such-event-sync", map[string]any{})
}
