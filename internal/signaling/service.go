// Package signaling implements Huddle's signaling protocol (docs/PROTOCOL.md)
// on a Socket.IO server: both event dialects, relays between the members
// of a room, chat, media state and the host's controls. Room state lives in
// internal/rooms; this package decodes, checks and answers events.
package signaling

import (
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/internal/turn"
	"github.com/huddlehq/huddle/socketio"
)

// ICEFunc returns the ICE servers (with fresh credentials) and the ICE
// transport policy ("all" or "relay") for a participant. r is the request
// that opened the participant's session.
type ICEFunc func(participantID string, r *http.Request) (servers []turn.ICEServer, policy string)

// Metrics receives counts from the service; internal/metrics implements it.
type Metrics interface {
	EventRelayed(event string)
	EventRefused(event, reason string)
	Reconnected()
	ObserveRelay(d time.Duration)
}

// Service is the signaling logic bound to one Socket.IO server.
type Service struct {
	cfg     Config
	ice     ICEFunc
	log     *slog.Logger
	metrics Metrics
	rooms   *rooms.Registry
	media   Media // nil: every meeting is a mesh
	guard   *passwordGuard
	// answered are events done whose acks died with a cluster node
	// (cluster.go).
	answered answeredEvents
	// told orders what members are told of recordings (tellRecording).
	told sync.Mutex
}

// UseMedia gives the service its media side; call it before Attach.
func (s *Service) UseMedia(m Media) { s.media = m }

// NewService returns a service; Attach binds it to a Socket.IO server.
// metrics may be nil.
func NewService(cfg Config, ice ICEFunc, log *slog.Logger, metrics Metrics) *Service {
	cfg = cfg.withDefaults()
	if ice == nil {
		ice = func(string, *http.Request) ([]turn.ICEServer, string) { return []turn.ICEServer{}, "all" }
	}
	if log == nil {
		log = slog.Default()
	}
	if metrics == nil {
		metrics = nopMetrics{}
	}
	return &Service{
		cfg: cfg, ice: ice, log: log, metrics: metrics, guard: newPasswordGuard(),
		rooms: newRegistry(cfg, log),
	}
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxParticipants, 8)
	def(&c.MaxRooms, 10_000)
	def(&c.MaxNameLen, 64)
	def(&c.MaxChatLen, 2000)
	def(&c.ChatHistory, 200)
	def(&c.MaxEventBytes, 65536)
	def(&c.EventBurst, 200)
	if c.EventsPerSecond <= 0 {
		c.EventsPerSecond = 50
	}
	if c.ReconnectGrace <= 0 {
		c.ReconnectGrace = 30 * time.Second
	}
	return c
}

// Stats counts rooms and participants.
func (s *Service) Stats() (rooms, participants int) { return s.rooms.Stats() }

// Attach registers the service's event handlers on io. They are
// registered once for the server, not per socket: a connected socket costs
// only its session.
func (s *Service) Attach(io *socketio.Server) {
	io.Use(s.connectAuth)
	io.OnConnection(s.connect)
	on := func(name string, h handler) { io.On(name, s.wrap(h)) }
	// Dialect A.
	on("join-room", s.joinRoom)
	on("leave-room", s.leaveRoom)
	on("offer", s.relay("offer", "offer"))
	on("answer", s.relay("answer", "answer"))
	on("ice-candidate", s.relay("ice-candidate", "candidate"))
	on("chat-message", s.chat)
	on("media-state", s.mediaState)
	on("ice-servers", s.iceServers)
	on("room-settings", s.roomSettings)
	on("admit", s.admit)
	on("deny", s.deny)
	on("remove-participant", s.removeParticipant)
	on("request-mute", s.requestMute)
	on("raise-hand", s.raiseHand)
	on("lower-hand", s.lowerHand)
	on("spotlight", s.spotlight)
	on("reaction", s.reaction)
	// Dialect B.
	on("room:join", s.lobbyJoin)
	on("user:call", s.relayAs("incomming:call", "offer", "offer"))
	on("call:accepted", s.relayAs("call:accepted", "ans", "ans"))
	on("peer:nego:needed", s.relayAs("peer:nego:needed", "offer", "offer"))
	on("peer:nego:done", s.relayAs("peer:nego:final", "ans", "ans"))
	s.attachMedia(on)
	s.attachRecording(on)
	s.attachStream(on)
	io.OnAny(s.wrap(func(*session, *socketio.Event) error { return ErrUnknownEvent }))
	io.OnDisconnect(func(sock *socketio.Socket, reason string) {
		if ss := sessionOf(sock); ss != nil {
			if rm, _ := ss.relayed(); rm != nil {
				rm.Close(reason)
				return
			}
			s.disconnected(ss, reason)
		}
	})
}

// session is the service's state for one socket.
type session struct {
	sock *socketio.Socket

	mu    sync.Mutex
	limit tokenBucket
	flood floodState
	room  *rooms.Room
	p     *rooms.Participant
	sfu   bool // the client joined with sfu: true
	// reactions is the reaction allowance (hands.go), on top of limit.
	reactions tokenBucket
	// connectToken is the join token of the CONNECT auth payload.
	connectToken string
	// remote relays the socket's events to its room's home node (cluster
	// mode, cluster.go); nil: served here.
	remote     Remote
	remoteRoom string
}

func (ss *session) member() (*rooms.Room, *rooms.Participant) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.room, ss.p
}

func (ss *session) setMember(r *rooms.Room, p *rooms.Participant) {
	ss.mu.Lock()
	ss.room, ss.p = r, p
	ss.mu.Unlock()
}

// joined returns the sender's room and participant, or ErrNotInRoom.
func (ss *session) joined() (*rooms.Room, *rooms.Participant, error) {
	r, p := ss.member()
	if r == nil || !r.IsMember(p) {
		return nil, nil, rooms.ErrNotInRoom
	}
	return r, p, nil
}

type handler func(ss *session, ev *socketio.Event) error

// connect gives a new socket its session; events find it with sessionOf.
func (s *Service) connect(sock *socketio.Socket) {
	if sessionOf(sock) == nil { // connectAuth made it, with the CONNECT's token
		sock.Set(&session{sock: sock})
	}
}

// sessionOf is the session connect gave sock, or nil.
func sessionOf(sock *socketio.Socket) *session {
	ss, _ := sock.Get().(*session)
	return ss
}

// wrap applies the limits every event passes and answers refusals.
func (s *Service) wrap(h handler) socketio.EventHandler {
	return func(sock *socketio.Socket, ev *socketio.Event) {
		ss := sessionOf(sock)
		if ss == nil {
			// Events are dispatched only after OnConnection ran.
			s.refuse(sock, ev, ErrInternal)
			return
		}
		err := s.admitEvent(ss, ev)
		switch err {
		case errDropped:
			s.metrics.EventRefused(ev.Name, ErrRateLimited.Code)
			return
		case errFlood:
			s.floodDisconnect(ss, ev)
			return
		case nil:
			if s.answered.take(ss, ev) {
				// Done once already, for a connection whose node died
				// before the ack reached it (cluster mode): acknowledged
				// again, not done twice.
				ack(ev, ackOK{OK: true})
				return
			}
			if rm, room := ss.relayed(); rm != nil && s.forward(ss, rm, room, ev) {
				return // the room's home answers
			}
			if err = s.checkRole(ss, ev); err == nil {
				err = h(ss, ev)
			}
		}
		if err != nil {
			s.refuse(sock, ev, err)
			return
		}
		s.metrics.EventRelayed(ev.Name)
	}
}

func (s *Service) admitEvent(ss *session, ev *socketio.Event) error {
	ss.mu.Lock()
	err := s.rateLimit(ss, time.Since(clockBase))
	ss.mu.Unlock()
	if err != nil {
		return err
	}
	size := 0
	for _, a := range ev.Args {
		size += len(a)
	}
	for _, a := range ev.Attachments {
		size += len(a)
	}
	if size > s.cfg.MaxEventBytes {
		return ErrTooLarge
	}
	return nil
}

// refuse tells the sender why its event was refused: in the ack when it
// asked for one, else with a signaling-error event.
func (s *Service) refuse(sock *socketio.Socket, ev *socketio.Event, err error) {
	var e *rooms.Error
	if !errors.As(err, &e) {
		s.log.Error("signaling: unexpected error", "event", ev.Name, "err", err)
		e = ErrInternal
	}
	s.metrics.EventRefused(ev.Name, e.Code)
	s.log.Debug("refused", "socket", sock.ID(), "event", ev.Name, "code", e.Code)
	body := errorBody{Code: e.Code, Message: e.Message}
	var re *retryError
	if errors.As(err, &re) {
		body.RetryAfter = re.retryAfterSeconds()
	}
	var me *movedError
	if errors.As(err, &me) {
		body.Node, body.Cookie = me.Node, me.Cookie
	}
	if ev.HasAck() {
		_ = ev.Ack(ackError{OK: false, Error: body})
		return
	}
	_ = sock.Emit("signaling-error", signalingError{Event: ev.Name, Code: e.Code, Message: e.Message, RetryAfter: body.RetryAfter})
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfter is in seconds, for refusals that end by themselves
	// (too-many-attempts).
	RetryAfter int `json:"retryAfter,omitempty"`
	// Node and Cookie tell a client refused with moved which node serves
	// its meeting and the load balancer's cookie that routes it there.
	Node   string `json:"node,omitempty"`
	Cookie string `json:"cookie,omitempty"`
}

type ackError struct {
	OK    bool      `json:"ok"`
	Error errorBody `json:"error"`
}

type signalingError struct {
	Event      string `json:"event"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retryAfter,omitempty"`
}

type ackOK struct {
	OK bool `json:"ok"`
}

func ack(ev *socketio.Event, v any) {
	if ev.HasAck() {
		_ = ev.Ack(v)
	}
}

type nopMetrics struct{}

func (nopMetrics) EventRelayed(string)          {}
func (nopMetrics) EventRefused(string, string)  {}
func (nopMetrics) Reconnected()                 {}
func (nopMetrics) ObserveRelay(d time.Duration) {}
