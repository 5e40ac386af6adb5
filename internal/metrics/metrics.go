// Package metrics exposes Huddle's Prometheus metrics. Each Metrics value
// has its own registry, so several servers (or tests) in one process never
// share counters.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// RoomStats is implemented by the signaling service: how many rooms exist
// and how many participants are in them now.
type RoomStats interface {
	Stats() (rooms, participants int)
}

// Relay is a snapshot of the embedded TURN relay's counts.
type Relay struct {
	Allocations      int    // open now
	AllocationsTotal uint64 // made since start
	BytesRelayed     uint64 // payload bytes both ways since start
	RefusedPeers     uint64 // peers refused by the relay's address filter
	AuthFailures     uint64 // requests with bad or expired credentials
	RefusedRequests  uint64 // requests refused before pion read them (malformed, misreadable)
	QuotaRefusals    uint64 // allocations refused by a per-user, per-IP or total cap
	Revoked          uint64 // allocations ended because their participant left
}

// Sources are read each time /metrics is scraped. A nil field leaves its
// metrics out, so a server without a relay exports no TURN metrics.
type Sources struct {
	// Sockets counts connected Socket.IO sockets by transport.
	Sockets func() (polling, websocket int)
	// PendingSessions counts Engine.IO sessions that have not sent a
	// Socket.IO CONNECT yet.
	PendingSessions func() int
	// Rooms counts rooms and participants.
	Rooms RoomStats
	// Relay reads the embedded TURN relay's counts.
	Relay func() Relay
}

// Metrics records what the server does. The zero value is not usable; a nil
// *Metrics is, and records nothing, so callers need no nil checks.
type Metrics struct {
	reg       *prometheus.Registry
	relayed   *prometheus.CounterVec
	relayedBy map[string]prometheus.Counter // one child per known event: no label hashing per event
	refused   *prometheus.CounterVec
	reconnect prometheus.Counter
	tcpRefuse prometheus.Counter
	handshake prometheus.Histogram
	relay     prometheus.Histogram
}

// New registers every metric, the Go runtime and process collectors and
// the gauges over src in a new registry.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		relayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "huddle_events_relayed_total",
			Help: "Signaling events handled and relayed, by event name.",
		}, []string{"event"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "huddle_events_refused_total",
			Help: "Signaling events and connections refused, by event name and reason.",
		}, []string{"event", "reason"}),
		reconnect: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_reconnections_total",
			Help: "Participants that resumed their place after a dropped connection.",
		}),
		tcpRefuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "huddle_tcp_refused_total",
			Help: "TCP connections closed as they were accepted: their client address held --max-tcp-per-ip already.",
		}),
		handshake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "huddle_handshake_seconds",
			Help:    "Time from a session's first request to its Socket.IO CONNECT.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}),
		relay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "huddle_relay_seconds",
			Help:    "Time the server takes to relay one signaling event to its recipient.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2.5, 12),
		}),
	}
	m.relayedBy = make(map[string]prometheus.Counter, len(knownEvents)+1)
	for e := range knownEvents {
		m.relayedBy[e] = m.relayed.WithLabelValues(e)
	}
	m.relayedBy[Other] = m.relayed.WithLabelValues(Other)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.relayed, m.refused, m.reconnect, m.tcpRefuse, m.handshake, m.relay,
	)
	m.registerSources(src)
	return m
}

func (m *Metrics) registerSources(src Sources) {
	if src.Sockets != nil {
		for _, t := range []struct {
			name string
			pick func(p, w int) int
		}{
			{"polling", func(p, _ int) int { return p }},
			{"websocket", func(_, w int) int { return w }},
		} {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name:        "huddle_sockets",
				Help:        "Socket.IO sockets connected now, by transport.",
				ConstLabels: prometheus.Labels{"transport": t.name},
			}, func() float64 { return float64(t.pick(src.Sockets())) }))
		}
	}
	if src.PendingSessions != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "huddle_sessions_pending",
			Help: "Engine.IO sessions open now that have not sent a Socket.IO CONNECT yet.",
		}, func() float64 { return float64(src.PendingSessions()) }))
	}
	if src.Rooms != nil {
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "huddle_rooms", Help: "Rooms that exist now.",
			}, func() float64 { r, _ := src.Rooms.Stats(); return float64(r) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "huddle_participants", Help: "Participants in rooms now.",
			}, func() float64 { _, p := src.Rooms.Stats(); return float64(p) }),
		)
	}
	if src.Relay != nil {
		counter := func(name, help string, pick func(Relay) uint64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
				func() float64 { return float64(pick(src.Relay())) })
		}
		m.reg.MustRegister(
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "huddle_turn_allocations", Help: "TURN relay allocations open now.",
			}, func() float64 { return float64(src.Relay().Allocations) }),
			counter("huddle_turn_allocations_total", "TURN relay allocations made.",
				func(r Relay) uint64 { return r.AllocationsTotal }),
			counter("huddle_turn_relayed_bytes_total", "Payload bytes relayed by the embedded TURN relay.",
				func(r Relay) uint64 { return r.BytesRelayed }),
			counter("huddle_turn_refused_peers_total", "Relay permissions refused by the peer address filter.",
				func(r Relay) uint64 { return r.RefusedPeers }),
			counter("huddle_turn_auth_failures_total", "TURN requests with bad or expired credentials.",
				func(r Relay) uint64 { return r.AuthFailures }),
			counter("huddle_turn_refused_requests_total", "TURN requests refused as malformed or ambiguous before the relay read them.",
				func(r Relay) uint64 { return r.RefusedRequests }),
			counter("huddle_turn_quota_refusals_total", "TURN allocations refused by a per-user, per-IP or total cap.",
				func(r Relay) uint64 { return r.QuotaRefusals }),
			counter("huddle_turn_revoked_total", "TURN allocations ended because their participant left the meeting.",
				func(r Relay) uint64 { return r.Revoked }),
		)
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry is where the metrics live, for tests and extra collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// EventRelayed counts one event handled successfully. Unknown event names
// are counted as "other" so a client cannot grow the label set.
func (m *Metrics) EventRelayed(event string) {
	if m == nil {
		return
	}
	c, ok := m.relayedBy[event]
	if !ok {
		c = m.relayedBy[Other]
	}
	c.Inc()
}

// EventRefused counts one refused event (or connection: event "connect")
// with the error code as reason.
func (m *Metrics) EventRefused(event, reason string) {
	if m == nil {
		return
	}
	m.refused.WithLabelValues(EventLabel(event), ReasonLabel(reason)).Inc()
}

// Reconnected counts one participant that resumed its place.
func (m *Metrics) Reconnected() {
	if m == nil {
		return
	}
	m.reconnect.Inc()
}

// TCPRefused counts one connection closed at accept for --max-tcp-per-ip.
func (m *Metrics) TCPRefused() {
	if m == nil {
		return
	}
	m.tcpRefuse.Inc()
}

// ObserveHandshake records how long a session took to connect.
func (m *Metrics) ObserveHandshake(d time.Duration) {
	if m == nil {
		return
	}
	m.handshake.Observe(d.Seconds())
}

// ObserveRelay records how long relaying one event took.
func (m *Metrics) ObserveRelay(d time.Duration) {
	if m == nil {
		return
	}
	m.relay.Observe(d.Seconds())
}
