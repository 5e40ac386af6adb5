// Package sfu forwards media between the participants of a meeting
// through the server: each participant sends its tracks once, and the
// server sends every track on to the other members of the room.
//
// A participant has two peer connections with the server, one each way,
// as LiveKit does: on the publishing one the client offers and the
// server answers; on the subscribing one the server offers whenever the
// set of tracks the participant receives changes, and the client answers.
// Offers therefore only ever go one way on each connection, so the two
// sides never make offers at once (no glare, no rollback), and a
// publisher's renegotiation never waits for its subscriptions.
//
// The package knows nothing of Socket.IO: it talks to a client through
// the Signaler the caller gives it.
package sfu

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/webrtc/v4"
)

// Errors returned to callers; their text is meant for the client.
var (
	ErrClosed        = errors.New("sfu: participant has left")
	ErrTooManyTracks = errors.New("sfu: too many published tracks")
	ErrDuplicate     = errors.New("sfu: participant already in the room")
	ErrBadSDP        = errors.New("sfu: malformed session description")
	ErrNoOffer       = errors.New("sfu: no offer is waiting for an answer")
)

// Config tunes the SFU. The zero value of every field means the default
// given in its comment.
type Config struct {
	// MaxTracksPerPeer bounds the tracks one participant may publish:
	// camera, microphone, screen and screen audio. Default 4.
	MaxTracksPerPeer int
	// KeyframeInterval is the shortest time between two keyframe requests
	// sent to one publisher's track, however many subscribers ask: each
	// keyframe costs the publisher a burst of bandwidth. Default 500 ms.
	KeyframeInterval time.Duration
	// NAT1To1IPs are the public addresses advertised in the server's host
	// candidates when it sits behind a 1:1 NAT. Empty: the interfaces'
	// own addresses.
	NAT1To1IPs []string
	// UDPPort is the one UDP port all media goes through (pion's UDP
	// mux), bound on every address gathered from. Zero: each connection
	// has a port of its own, between UDPPortMin and UDPPortMax.
	UDPPort int
	// TCPPort is the one TCP port of ICE-TCP, for clients whose network
	// lets no UDP through. Zero: no ICE-TCP.
	TCPPort int
	// UDPPortMin and UDPPortMax bound the UDP ports of media without
	// UDPPort. Zero: any.
	UDPPortMin, UDPPortMax uint16
	// Interfaces limits the network interfaces gathered from. Nil: all.
	Interfaces []string
	// IncludeLoopback offers loopback candidates (single-host tests).
	IncludeLoopback bool
	// BandwidthEstimator makes the estimator of each subscriber's
	// connection, whose estimate caps the simulcast layers it gets, run
	// through pion's congestion control interceptor. Nil: the SFU's own
	// estimator over transport-wide congestion control feedback
	// (estimate.go).
	BandwidthEstimator cc.BandwidthEstimatorFactory
	// AudioLoudest is how many participants' audio a room of at least
	// AudioLoudestFrom participants forwards: those speaking loudest in
	// the last half second (package speaker), and the dominant speaker.
	// The others' audio packets are dropped at the server, and the
	// sequence numbers of what is forwarded stay continuous, so that a
	// subscriber sees what looks like a sender's silence suppression
	// (DTX). Audio without RFC 6464 levels is always forwarded. 0: 3;
	// negative: every participant's audio, in any room.
	AudioLoudest int
	// AudioLoudestFrom is the room size (participants) from which only
	// the loudest audio is forwarded. 0: 10.
	AudioLoudestFrom int
	// OnSpeaker is told when a room's dominant speaker changes, from the
	// RFC 6464 audio levels of what its participants publish (see package
	// speaker). Nil: nobody is told and no speaker is followed. It must not
	// block.
	OnSpeaker func(room, participant string)
	// Logger receives the SFU's logs. Nil: slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxTracksPerPeer <= 0 {
		c.MaxTracksPerPeer = 4
	}
	if c.KeyframeInterval <= 0 {
		c.KeyframeInterval = 500 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.AudioLoudest == 0 {
		c.AudioLoudest = 3
	}
	if c.AudioLoudestFrom <= 0 {
		c.AudioLoudestFrom = 10
	}
	return c
}

// SFU holds the rooms whose media it forwards. It is safe for concurrent
// use.
type SFU struct {
	cfg Config
	// Publishing and subscribing connections have interceptors of their
	// own: what one needs is dead weight on the other's every packet.
	pubAPI, subAPI *webrtc.API
	log            *slog.Logger
	socks          *sockets // the shared media ports (network.go)
	drops          *dropCounter

	// Connections are made one at a time, so that the estimator the
	// interceptor hands out as a connection is made is that connection's.
	pcMu      sync.Mutex
	estimator bitrateEstimate

	mu    sync.Mutex
	rooms map[string]*Room

	// batches are the shared UDP sockets whose writes a fan-out gathers
	// into sendmmsg calls (batch.go); none without the UDP mux.
	batches batchSet
}

// New returns an SFU with pion's default codecs (VP8, VP9, H.264, Opus).
// Publishing connections have pion's NACK generator, receiver reports
// and TWCC feedback; subscribing ones the bandwidth estimator, their
// sender reports come from report.go and their NACKs are answered from
// packetcache.go.
// With Config.UDPPort or TCPPort it binds them; Close releases them.
func New(cfg Config) (*SFU, error) {
	cfg = cfg.withDefaults()
	s := &SFU{cfg: cfg, log: cfg.Logger, rooms: map[string]*Room{}, drops: &dropCounter{}}
	se, socks, err := settings(cfg, s.drops, &s.batches)
	if err != nil {
		return nil, err
	}
	s.pubAPI, s.subAPI, err = newAPIs(cfg, se, func(e bitrateEstimate) { s.estimator = e })
	if err != nil {
		socks.close()
		return nil, err
	}
	s.socks = socks
	return s, nil
}

// Close releases the shared media ports. Connections still open stop
// carrying media: call it once every participant has left.
func (s *SFU) Close() error {
	s.socks.close()
	return nil
}

// newConnection makes a publishing connection, or a subscribing one and
// its bandwidth estimator.
func (s *SFU) newConnection(subscribing bool) (*webrtc.PeerConnection, bitrateEstimate, error) {
	if !subscribing {
		pc, err := s.pubAPI.NewPeerConnection(webrtc.Configuration{})
		return pc, nil, err
	}
	s.pcMu.Lock()
	defer s.pcMu.Unlock()
	s.estimator = nil
	pc, err := s.subAPI.NewPeerConnection(webrtc.Configuration{})
	return pc, s.estimator, err
}

func newAPIs(cfg Config, se webrtc.SettingEngine, gotEstimator func(bitrateEstimate)) (pub, sub *webrtc.API, err error) {
	m := &webrtc.MediaEngine{}
	if err := registerOpus(m); err != nil { // opus.go
		return nil, nil, err
	}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, nil, err
	}
	pubIR, subIR := &interceptor.Registry{}, &interceptor.Registry{}
	// Subscribing: the estimator only. No NACK responder: the packet
	// cache answers NACKs (packetcache.go). No stats interceptor: nothing
	// here reads GetStats, and it ran on every packet of every subscriber
	// stream. No sender report interceptor either (its lock and clock
	// read on every packet, a goroutine and a ticker per connection): the
	// down tracks keep what a report needs and the allocation loop sends
	// them (report.go).
	if err := registerBandwidth(m, subIR, cfg, gotEstimator); err != nil {
		return nil, nil, err
	}
	// Publishing: NACKs and receiver reports toward the publisher, and
	// the transport-wide feedback its own estimator needs, all reading
	// one parsed header (header.go).
	pubIR.Add(headerParserFactory{})
	if err := configureNack(m, pubIR); err != nil {
		return nil, nil, err
	}
	rr, err := report.NewReceiverInterceptor()
	if err != nil {
		return nil, nil, err
	}
	pubIR.Add(rr)
	if err := webrtc.ConfigureSimulcastExtensionHeaders(m); err != nil {
		return nil, nil, err
	}
	if err := registerAudioLevel(m); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, pubIR); err != nil {
		return nil, nil, err
	}
	// One media engine for both: each connection takes a copy.
	pub = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(pubIR), webrtc.WithSettingEngine(se))
	sub = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(subIR), webrtc.WithSettingEngine(se))
	return pub, sub, nil
}

// Room returns the room with this id, made on first use.
func (s *SFU) Room(id string) *Room {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[id]
	if r == nil {
		r = &Room{id: id, sfu: s, peers: map[string]*Peer{}}
		r.speakers = newSpeakers(r)
		s.rooms[id] = r
	}
	return r
}

// Rooms returns how many rooms have at least one participant.
func (s *SFU) Rooms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rooms)
}

// forget drops r once it is empty: no participant and no sink.
func (s *SFU) forget(r *Room) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.mu.Lock()
	empty := len(r.peers) == 0 && len(r.sinks) == 0
	r.mu.Unlock()
	if empty && s.rooms[r.id] == r {
		delete(s.rooms, r.id)
	}
}
