package server

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/cluster"
	"github.com/huddlehq/huddle/internal/clusterlink"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/socketio"
)

// startCluster joins the cluster when --redis-url is set (else it does
// nothing and Huddle opens no Redis connection): it registers the node,
// whose load comes from the signaling service once stored in s.clusterSig, and links
// signaling to the other nodes (sigCfg.Cluster, and a meeting's end gives
// up its home). The returned function leaves the cluster.
func (s *Server) startCluster(io *socketio.Server, sigCfg *signaling.Config) (func() error, error) {
	if !s.cfg.Cluster.Enabled() {
		return nil, nil
	}
	ccfg := s.cfg.Cluster.Cluster()
	ccfg.Logger = s.log
	ccfg.ChatHistory = sigCfg.ChatHistory // the history kept for a takeover is the one kept here
	// The heartbeat starts before the link exists.
	var linked atomic.Pointer[clusterlink.Link]
	ccfg.Load = func() cluster.Load {
		var l cluster.Load
		// The heartbeat starts before the service exists.
		if sig := s.clusterSig.Load(); sig != nil {
			l.Rooms, l.Participants = sig.Stats()
		}
		// Not ready yet, or shutting down: no new rooms here.
		l.Draining = !s.ready.Load()
		if link := linked.Load(); link != nil {
			l.Leaving = link.Draining() // shutting down, not starting
		}
		return l
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c, err := cluster.New(ctx, ccfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	link := clusterlink.New(clusterlink.Config{Cluster: c, Engine: io, Logger: s.log})
	linked.Store(link)
	sigCfg.Cluster = link
	sigCfg.MoveCookie = s.cfg.Cluster.MoveCookie // clients that can are sent to their meeting's home
	sigCfg.RoomStore = link                      // the rooms homed here are mirrored into Redis
	next := sigCfg.OnEvent
	sigCfg.OnEvent = func(ev signaling.Event) {
		if ev.Type == signaling.EventMeetingEnded {
			go link.RoomEnded(ev.Room) // a Redis round trip: not on the leaving socket's goroutine
		}
		if next != nil {
			next(ev)
		}
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		link.Run(runCtx)
	}()
	s.link, s.cluster = link, c
	s.metrics.Registry().MustRegister(clusterCollector{c: c, link: link})
	s.log.Info("cluster mode", "node", c.NodeID())
	return func() error {
		// Given up by handOver already, unless the node stops without
		// shutting down (a failed start).
		s.handOver(context.Background())
		stop()
		err := c.Close()
		<-done
		return err
	}, nil
}

// announceDraining tells the cluster at once that this node is shutting
// down (its heartbeat now says draining), so that no new meeting is placed
// here during the shutdown delay; the next beat would say so only up to a
// second later.
func (s *Server) announceDraining(ctx context.Context) {
	if s.cluster == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.cluster.Beat(ctx); err != nil {
		s.log.Warn("cluster: telling the cluster this node drains", "err", err)
	}
}

// handOver gives up the meetings homed here once the signaling sessions
// are closed. Their participants are reconnecting through other nodes
// by then, which wait for the rooms (a leaving node's lease) to take them
// over; tearing down the SFU's connections and the relay takes seconds
// more, and a join waiting that long is relayed back here and refused.
func (s *Server) handOver(ctx context.Context) {
	if s.link == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	s.link.Release(ctx)
}

// announceLeaving tells the cluster, as this node sends its clients away
// after the shutdown delay, that it takes no room any more and gives its
// rooms up in a moment (its record says leaving): the nodes its
// participants reconnect to wait for that and take the rooms over,
// rather than relay them back here. Until then (the delay) the node
// serves its meetings as before, newcomers included.
func (s *Server) announceLeaving(ctx context.Context) {
	if s.cluster == nil {
		return
	}
	s.link.Drain()
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := s.cluster.Beat(ctx); err != nil {
		s.log.Warn("cluster: telling the cluster this node leaves", "err", err)
	}
}
