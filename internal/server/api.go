package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/huddlehq/huddle/internal/api"
	"github.com/huddlehq/huddle/internal/auth"
	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/webhooks"
)

// Huddle inside other products: join tokens (--auth token), the server
// API (/api/v1/) and webhooks, wired to the signaling service.

// accessHooks fills sigCfg's Authorize and OnEvent from the config and
// returns the verifier (nil in --auth open) and the webhook dispatcher
// (nil without --webhook-urls); the caller closes the dispatcher.
func (s *Server) accessHooks(sigCfg *signaling.Config) (*auth.Verifier, *webhooks.Dispatcher, error) {
	a := s.cfg.Auth
	var verifier *auth.Verifier
	if a.TokenMode() || a.Secret != "" {
		vc := auth.Config{Secret: []byte(a.Secret)}
		if a.PublicKeysFile != "" {
			keys, err := auth.LoadPublicKeys(a.PublicKeysFile)
			if err != nil {
				return nil, nil, err
			}
			vc.PublicKeys = keys
		}
		v, err := auth.NewVerifier(vc)
		if err != nil {
			return nil, nil, err
		}
		verifier = v
	}
	if a.TokenMode() {
		sigCfg.Authorize = func(room, token string) (signaling.Grant, error) {
			g, err := verifier.Verify(token, room)
			if err != nil {
				return signaling.Grant{}, err // counted by signaling with its code
			}
			return signaling.Grant{Name: g.Name, Role: string(g.Role), Use: func() bool { return verifier.Consume(g) }}, nil
		}
		s.log.Info("joins need a token", "hs256", a.Secret != "", "publicKeys", a.PublicKeysFile)
	}
	if len(a.WebhookURLs) == 0 {
		return verifier, nil, nil
	}
	hooks, err := webhooks.New(webhooks.Config{URLs: a.WebhookURLs, Secret: []byte(a.WebhookSecret), Logger: s.log})
	if err != nil {
		return nil, nil, err
	}
	sigCfg.OnEvent = func(ev signaling.Event) { hooks.Send(webhookEvent(ev)) }
	s.registerWebhookMetrics(hooks)
	return verifier, hooks, nil
}

// webhookEvent is a signaling event as webhooks send it.
func webhookEvent(ev signaling.Event) webhooks.Event {
	out := webhooks.Event{Type: ev.Type, Room: ev.Room, Time: ev.Time, Reason: ev.Reason}
	if ev.Participant != "" {
		out.Participant = &webhooks.Participant{ID: ev.Participant, Name: ev.Name, Role: ev.Role}
	}
	return out
}

// closeHooks is the dispatcher's part of the shutdown: what is queued gets
// a few seconds to go out.
func closeHooks(h *webhooks.Dispatcher) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return h.Close(ctx)
	}
}

// registerWebhookMetrics exports the dispatcher's counts on /metrics.
func (s *Server) registerWebhookMetrics(h *webhooks.Dispatcher) {
	counter := func(name, help string, pick func(webhooks.Stats) uint64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(pick(h.Stats())) })
	}
	s.metrics.Registry().MustRegister(
		counter("huddle_webhooks_delivered_total", "Webhook deliveries a receiver acknowledged with 2xx.",
			func(st webhooks.Stats) uint64 { return st.Delivered }),
		counter("huddle_webhooks_retries_total", "Webhook attempts after a failed one.",
			func(st webhooks.Stats) uint64 { return st.Retries }),
		counter("huddle_webhooks_failed_total", "Webhook deliveries given up after every attempt failed.",
			func(st webhooks.Stats) uint64 { return st.Failed }),
		counter("huddle_webhooks_dropped_total", "Webhook events not queued: too many were waiting.",
			func(st webhooks.Stats) uint64 { return st.Dropped }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "huddle_webhooks_pending", Help: "Webhook deliveries waiting now."},
			func() float64 { return float64(h.Stats().Pending) }),
	)
}

// newAPI is the /api/v1/ handler over the signaling service.
func (s *Server) newAPI(sig *signaling.Service, verifier *auth.Verifier) http.Handler {
	cfg := api.Config{
		Keys: s.cfg.Auth.APIKeys, RequestsPerSecond: s.cfg.Auth.APIRate, Burst: s.cfg.Auth.APIBurst,
		PublicURL: s.cfg.PublicURL, Logger: s.log,
		// Signaling answers recording-off itself when --recording is off.
		Hands: sig, Recordings: sig,
	}
	if secret := []byte(s.cfg.Auth.Secret); len(secret) > 0 && verifier != nil {
		cfg.IssueToken = func(room, name, role string, ttl time.Duration) (string, error) {
			r, err := auth.ParseRole(role)
			if err != nil {
				return "", err
			}
			return auth.Issue(secret, auth.NewClaims(room, name, r, ttl, time.Now()))
		}
	}
	return api.New(cfg, apiRooms{sig})
}

// apiRooms is the signaling service as the API sees it.
type apiRooms struct{ sig *signaling.Service }

func (a apiRooms) ListRooms() []api.Room {
	list := a.sig.ListRooms()
	out := make([]api.Room, 0, len(list))
	for _, r := range list {
		out = append(out, apiRoom(r))
	}
	return out
}

func (a apiRooms) GetRoom(id string) (api.Room, error) {
	r, err := a.sig.GetRoom(id)
	return apiRoom(r), err
}

func (a apiRooms) CreateRoom(id string, o api.RoomOptions) (api.Room, error) {
	r, err := a.sig.CreateRoom(id, signaling.RoomOptions{Password: o.Password, Locked: o.Locked,
		WaitingRoom: o.WaitingRoom, MaxParticipants: o.MaxParticipants, Expires: o.ExpiresAt, Media: o.Media})
	return apiRoom(r), err
}

func (a apiRooms) UpdateRoom(id string, p api.SettingsPatch) (api.Room, error) {
	r, err := a.sig.UpdateRoom(id, roomsPatch(p))
	return apiRoom(r), err
}

func (a apiRooms) EndRoom(id string) error                 { return a.sig.EndRoom(id) }
func (a apiRooms) RemoveParticipant(room, id string) error { return a.sig.RemoveParticipant(room, id) }
func (a apiRooms) MuteParticipant(room, id string) error   { return a.sig.MuteParticipant(room, id) }

func (a apiRooms) SendMessage(room, text string) (api.Message, error) {
	m, err := a.sig.SystemMessage(room, text)
	return api.Message{ID: m.ID, From: m.From, Name: m.Name, Text: m.Text, TS: m.TS}, err
}
