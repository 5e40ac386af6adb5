package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/internal/clusterlink"
)

// clusterCollector exports cluster mode on /metrics: this node's relay
// and Redis counts, and the cluster's nodes as the registry lists them (one
// Redis read per scrape).
type clusterCollector struct {
	c    *cluster.Cluster
	link *clusterlink.Link
}

var (
	descNodes = prometheus.NewDesc("huddle_cluster_nodes",
		"Live nodes in the cluster registry (draining ones included).", nil, nil)
	descNodeRooms = prometheus.NewDesc("huddle_cluster_node_rooms",
		"Rooms each live node reports in its heartbeat.", []string{"node"}, nil)
	descNodeParticipants = prometheus.NewDesc("huddle_cluster_node_participants",
		"Participants each live node reports in its heartbeat.", []string{"node"}, nil)
	descHomed = prometheus.NewDesc("huddle_cluster_rooms_homed",
		"Rooms this node is home to (holds the lease of).", nil, nil)
	descSockets = prometheus.NewDesc("huddle_cluster_relayed_sockets",
		"Sockets relayed between nodes: held here for a room homed elsewhere (edge), or held elsewhere and served here (home).", []string{"side"}, nil)
	descEvents = prometheus.NewDesc("huddle_cluster_relay_events_total",
		"Relayed events between nodes, by stage: queued by Publish, written to Redis, delivered to this node's reader.", []string{"stage"}, nil)
	descDuplicates = prometheus.NewDesc("huddle_cluster_relay_duplicates_total",
		"Relayed events dropped as already delivered.", nil, nil)
	descMissing = prometheus.NewDesc("huddle_cluster_relay_missing_total",
		"Relayed event numbers never received (a stream trimmed past them).", nil, nil)
	descBacklog = prometheus.NewDesc("huddle_cluster_relay_backlog",
		"Relayed events waiting to be written to Redis.", nil, nil)
	descPackets = prometheus.NewDesc("huddle_cluster_relay_packets_total",
		"Socket.IO packets relayed for participants on another node than their room's home, by direction.", []string{"direction"}, nil)
	descRedisErrors = prometheus.NewDesc("huddle_cluster_redis_errors_total",
		"Failed Redis round trips of the background work (heartbeats, lease renewals, relay).", nil, nil)
	descRedisLatency = prometheus.NewDesc("huddle_cluster_redis_latency_seconds",
		"Round trip of the last successful heartbeat to Redis.", nil, nil)
	descTakenOver = prometheus.NewDesc("huddle_cluster_rooms_taken_over_total",
		"Rooms this node rebuilt from the state their dead home left in Redis.", nil, nil)
	descRedelivered = prometheus.NewDesc("huddle_cluster_relay_redelivered_total",
		"Events a dead node never gave its clients, read back from Redis and given to their next connection.", nil, nil)
)

func (cc clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNodes, descNodeRooms, descNodeParticipants, descHomed, descSockets,
		descEvents, descDuplicates, descMissing, descBacklog, descPackets, descRedisErrors, descRedisLatency,
		descTakenOver, descRedelivered} {
		ch <- d
	}
}

func (cc clusterCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	st, ls := cc.c.Stats(), cc.link.Stats()
	gauge(descHomed, float64(ls.Rooms))
	gauge(descSockets, float64(ls.Proxied), "edge")
	gauge(descSockets, float64(ls.Homed), "home")
	counter(descEvents, st.EventsQueued, "queued")
	counter(descEvents, st.EventsSent, "sent")
	counter(descEvents, st.EventsDelivered, "delivered")
	counter(descDuplicates, st.Duplicates)
	counter(descMissing, st.Missing)
	gauge(descBacklog, float64(st.Backlog))
	counter(descPackets, ls.PacketsIn, "to_home")
	counter(descPackets, ls.PacketsOut, "to_client")
	counter(descRedisErrors, st.RedisErrors)
	gauge(descRedisLatency, st.RedisLatency.Seconds())
	counter(descTakenOver, ls.TakenOver)
	counter(descRedelivered, ls.Redelivered)
	// The registry needs Redis: without it the node figures are left out
	// (and the scrape stays quick).
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	nodes, err := cc.c.Nodes(ctx)
	if err != nil {
		return
	}
	gauge(descNodes, float64(len(nodes)))
	for _, n := range nodes {
		gauge(descNodeRooms, float64(n.Rooms), n.ID)
		gauge(descNodeParticipants, float64(n.Participants), n.ID)
	}
}
