package server

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/iplimit"
	"github.com/huddlehq/huddle/internal/live"
	"github.com/huddlehq/huddle/internal/metrics"
	"github.com/huddlehq/huddle/internal/recording"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/turn"
	"github.com/huddlehq/huddle/socketio"
)

// startParts starts the relay, then the Socket.IO engine with the
// signaling service and the server's own connection checks.
func (s *Server) startParts() (parts, error) {
	var p parts
	var onDepart func(participantID string)
	turnCfg := s.cfg.TURN
	if s.certs.tls != nil && turnCfg.TLSCertFile == "" {
		// TURN over TLS presents the web server's certificate: browsers
		// check a turns: URL's host like a web page's.
		turnCfg.TLSConfig = s.turnTLS()
	}
	if turnCfg.Enabled {
		relay, err := turn.NewServer(turnCfg, s.log)
		if err != nil {
			return p, err
		}
		p.close = append(p.close, relay.Close)
		p.relay = func() metrics.Relay {
			st := relay.Stats()
			return metrics.Relay{
				Allocations:      int(st.AllocationsActive),
				AllocationsTotal: st.AllocationsTotal,
				BytesRelayed:     st.BytesRelayed(),
				RefusedPeers:     st.RefusedPeers,
				AuthFailures:     st.AuthFailures,
				RefusedRequests:  st.RefusedRequests,
				QuotaRefusals:    st.QuotaRefusals,
				Revoked:          st.Revoked,
			}
		}
		// A participant gone for good takes its relay use with it; a
		// dropped connection keeps it, so a reconnect keeps the call.
		onDepart = func(id string) { relay.Revoke(id) }
	}

	engineCfg := s.cfg.Engine
	engineCfg.Logger = s.log
	engineCfg.CheckOrigin = s.checkOrigin
	// The engine sets its own deadlines on polling bodies and answers
	// (replacing the server's): the same --request-timeout bounds them.
	engineCfg.PollingIOTimeout = s.requestTimeout()
	engineCfg.ClientIP = s.clientIP
	io := socketio.NewServer(engineCfg)
	sigCfg := s.cfg.Signaling
	sigCfg.ClientIP = s.socketIP
	sigCfg.OnDepart = onDepart
	verifier, hooks, err := s.accessHooks(&sigCfg) // api.go: tokens, webhooks
	if err != nil {
		for _, c := range p.close {
			_ = c()
		}
		return parts{}, err
	}
	if hooks != nil {
		p.close = append(p.close, closeHooks(hooks))
	}
	med, err := newMedia(s.cfg.Media, s.log)
	var sig *signaling.Service
	var rec *recording.Manager
	if err == nil {
		p.close = append(p.close, med.m.Close) // after the meetings' ends
		s.registerMediaMetrics(med)
		rec, err = s.newRecorder(med, &sigCfg, &sig, hooks) // recording.go: --recording
	}
	var streams *live.Manager
	if err == nil {
		streams = s.newStreamer(med, &sigCfg, &sig) // live.go: --streaming
	}
	if err != nil {
		for _, c := range p.close {
			_ = c()
		}
		return parts{}, err
	}
	fileStore, filesHandler, err := s.newFiles(&sigCfg, &sig) // files.go: --chat-files
	if fileStore != nil {
		p.files = filesHandler
		p.close = append(p.close, fileStore.Close)
	}
	if err != nil {
		if rec != nil {
			_ = closeRecorder(rec)()
		}
		for _, c := range p.close {
			_ = c()
		}
		return parts{}, err
	}
	leave, err := s.startCluster(io, &sigCfg) // cluster.go: --redis-url
	if err != nil {
		if rec != nil {
			_ = closeRecorder(rec)()
		}
		for _, c := range p.close {
			_ = c()
		}
		return parts{}, err
	}
	if leave != nil {
		p.close = append(p.close, leave)
	}
	sig = signaling.NewService(sigCfg, turn.NewICE(turnCfg).For, s.log, s.metrics)
	s.clusterSig.Store(sig)
	if s.link != nil {
		s.link.SetRestorer(sig) // a room whose home died is taken over here
	}
	sig.UseMedia(med)
	if rec != nil {
		s.registerRecordingMetrics(rec)
		p.recordings = rec.Handler()
		p.close = append([]func() error{closeRecorder(rec)}, p.close...)
	}
	if streams != nil {
		s.registerStreamMetrics(streams)
		p.close = append([]func() error{closeStreamer(streams)}, p.close...)
	}
	sig.Attach(io)
	// Registered after signaling's checks, so that a session that passes
	// this one is connected and its OnDisconnect gives the slot back.
	io.Use(s.admit)

	p.engine = io
	p.rooms = sig
	p.api = s.newAPI(sig, verifier)
	if p.admin, err = s.newAdmin(sig, med, p.relay, io); err != nil { // admin.go
		for _, c := range p.close {
			_ = c()
		}
		return parts{}, err
	}
	return p, nil
}

// turnTLS is the HTTPS certificate setup without the web's ALPN protocols.
func (s *Server) turnTLS() *tls.Config {
	c := s.certs.tls.Clone()
	c.NextProtos = nil
	return c
}

// clientIP is socketio.Config.ClientIP: the address sessions are counted
// by, from X-Forwarded-For only with --trust-proxy.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	return iplimit.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), s.cfg.TrustProxy)
}

// checkOrigin is socketio.Config.CheckOrigin: the origin policy, counted.
func (s *Server) checkOrigin(r *http.Request) bool {
	if s.origins.allows(r) {
		return true
	}
	s.metrics.EventRefused("connect", "origin")
	s.log.Debug("signaling session refused", "reason", "origin", "origin", r.Header.Get("Origin"))
	return false
}

// socketIP is the client address of a socket, as every per-IP limit
// counts it (X-Forwarded-For only with --trust-proxy).
func (s *Server) socketIP(sock *socketio.Socket) netip.Addr {
	return iplimit.ClientIP(sock.RemoteAddr(), sock.Header("X-Forwarded-For"), s.cfg.TrustProxy)
}

// admit runs on every Socket.IO CONNECT: it enforces --max-conns-per-ip and
// times the handshake.
func (s *Server) admit(sock *socketio.Socket, _ json.RawMessage) error {
	ip := s.socketIP(sock)
	// The release is registered before the slot is taken, so that a socket
	// that goes away in between still gives it back.
	slot := &ipSlot{release: func() { s.limiter.Release(ip) }}
	sock.OnDisconnect(func(string) { slot.gone() })
	if !s.limiter.Acquire(ip) {
		s.metrics.EventRefused("connect", "too-many-connections")
		s.log.Debug("signaling session refused", "reason", "too many connections", "ip", ip.String())
		return ErrTooManyConnections
	}
	slot.taken()
	if start, ok := sessionStart(sock.Header(sessionStartHeader)); ok {
		s.metrics.ObserveHandshake(time.Since(start))
	}
	return nil
}

// ipSlot gives a limiter slot back exactly once, whichever of "taken" and
// "socket gone" comes last.
type ipSlot struct {
	mu           sync.Mutex
	held, isGone bool
	release      func()
}

func (s *ipSlot) taken() {
	s.mu.Lock()
	gone := s.isGone
	s.held = !gone
	s.mu.Unlock()
	if gone {
		s.release()
	}
}

func (s *ipSlot) gone() {
	s.mu.Lock()
	held := s.held
	s.isGone, s.held = true, false
	s.mu.Unlock()
	if held {
		s.release()
	}
}
