package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

type fakeRooms struct{ rooms, participants int }

func (f fakeRooms) Stats() (int, int) { return f.rooms, f.participants }

// scrape fetches /metrics as Prometheus would and returns the body.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: status %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func wantLines(t *testing.T, body string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(body, "\n"+l+"\n") {
			t.Errorf("metrics lack line %q", l)
		}
	}
}

func TestSourcesAreReadAtScrape(t *testing.T) {
	polling, ws := 2, 5
	m := New(Sources{
		Sockets: func() (int, int) { return polling, ws },
		Rooms:   fakeRooms{rooms: 3, participants: 7},
		Relay: func() Relay {
			return Relay{Allocations: 4, AllocationsTotal: 9, BytesRelayed: 123456, RefusedPeers: 2, AuthFailures: 1}
		},
	})
	wantLines(t, scrape(t, m),
		`huddle_sockets{transport="polling"} 2`,
		`huddle_sockets{transport="websocket"} 5`,
		`huddle_rooms 3`,
		`huddle_participants 7`,
		`huddle_turn_allocations 4`,
		`huddle_turn_allocations_total 9`,
		`huddle_turn_relayed_bytes_total 123456`,
		`huddle_turn_refused_peers_total 2`,
		`huddle_turn_auth_failures_total 1`,
	)
	polling, ws = 0, 9
	wantLines(t, scrape(t, m),
		`huddle_sockets{transport="polling"} 0`,
		`huddle_sockets{transport="websocket"} 9`,
	)
}

func TestNilSourcesAreLeftOut(t *testing.T) {
	body := scrape(t, New(Sources{}))
	for _, name := range []string{"huddle_sockets", "huddle_rooms", "huddle_participants", "huddle_turn_allocations"} {
		if strings.Contains(body, name) {
			t.Errorf("%s exported without a source", name)
		}
	}
	// The runtime and process collectors are always there.
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(body, name) {
			t.Errorf("%s missing", name)
		}
	}
}

func TestCountersAndLabelsAreBounded(t *testing.T) {
	m := New(Sources{})
	m.EventRelayed("offer")
	m.EventRelayed("offer")
	m.EventRelayed("user:call")
	m.EventRelayed("no-such-event-" + strings.Repeat("x", 100))
	m.EventRelayed("another-made-up-one")
	m.EventRefused("join-room", "room-full")
	m.EventRefused("connect", "too-many-connections")
	m.EventRefused("<script>", "made-up reason")
	m.Reconnected()
	m.ObserveHandshake(3 * time.Millisecond)
	m.ObserveRelay(200 * time.Microsecond)
	m.ObserveRelay(time.Millisecond)

	body := scrape(t, m)
	wantLines(t, body,
		`huddle_events_relayed_total{event="offer"} 2`,
		`huddle_events_relayed_total{event="user:call"} 1`,
		`huddle_events_relayed_total{event="other"} 2`,
		`huddle_events_refused_total{event="join-room",reason="room-full"} 1`,
		`huddle_events_refused_total{event="connect",reason="too-many-connections"} 1`,
		`huddle_events_refused_total{event="other",reason="other"} 1`,
		`huddle_reconnections_total 1`,
		`huddle_handshake_seconds_count 1`,
		`huddle_relay_seconds_count 2`,
	)
	if strings.Contains(body, "no-such-event") || strings.Contains(body, "<script>") || strings.Contains(body, "made-up") {
		t.Error("an unknown label value reached the output")
	}
}

// Every recording method is safe on a nil *Metrics (servers and tests
// without metrics pass nil) and costs nothing there; the same call on a
// real one does record, so the calls below are the ones that matter.
func TestNilMetricsRecordsNothing(t *testing.T) {
	calls := map[string]func(*Metrics){
		"EventRelayed":     func(m *Metrics) { m.EventRelayed("offer") },
		"EventRefused":     func(m *Metrics) { m.EventRefused("offer", "rate-limited") },
		"Reconnected":      func(m *Metrics) { m.Reconnected() },
		"TCPRefused":       func(m *Metrics) { m.TCPRefused() },
		"ObserveHandshake": func(m *Metrics) { m.ObserveHandshake(time.Second) },
		"ObserveRelay":     func(m *Metrics) { m.ObserveRelay(time.Second) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			real := New(Sources{})
			before := scrape(t, real)
			call(real)
			if scrape(t, real) == before {
				t.Fatalf("%s on a real Metrics recorded nothing", name)
			}

			var m *Metrics
			func() {
				defer func() {
					if v := recover(); v != nil {
						t.Fatalf("%s on a nil Metrics panicked: %v", name, v)
					}
				}()
				call(m)
			}()
			if allocs := testing.AllocsPerRun(100, func() { call(m) }); allocs != 0 {
				t.Errorf("%s on a nil Metrics allocates %v times", name, allocs)
			}
		})
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := New(Sources{}), New(Sources{})
	a.Reconnected()
	wantLines(t, scrape(t, a), `huddle_reconnections_total 1`)
	wantLines(t, scrape(t, b), `huddle_reconnections_total 0`)
}

func TestLabels(t *testing.T) {
	for _, tc := range []struct{ in, event, reason string }{
		{"offer", "offer", Other},
		{"peer:nego:done", "peer:nego:done", Other},
		{"rate-limited", Other, "rate-limited"},
		{"", Other, Other},
		{"OFFER", Other, Other},
	} {
		if got := EventLabel(tc.in); got != tc.event {
			t.Errorf("EventLabel(%q) = %q, want %q", tc.in, got, tc.event)
		}
		if got := ReasonLabel(tc.in); got != tc.reason {
			t.Errorf("ReasonLabel(%q) = %q, want %q", tc.in, got, tc.reason)
		}
	}
}
