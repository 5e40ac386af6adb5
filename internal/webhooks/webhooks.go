// Package webhooks tells other services of meeting events: each event is a
// JSON body POSTed to every configured URL, signed like Stripe's
// (Huddle-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">),
// retried with exponential backoff until the receiver answers 2xx, and
// delivered in order per meeting and URL. The body carries the event's id:
// a receiver that sees an id twice (its 2xx was lost) drops the second.
package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Participant is who an event is about.
type Participant struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Role string `json:"role,omitempty"`
}

// Event is one webhook body.
type Event struct {
	// ID is unique per event and the same on every retry: the
	// idempotency key.
	ID   string    `json:"id"`
	Type string    `json:"type"`
	Room string    `json:"room"`
	Time time.Time `json:"time"`
	// Participant is set for participant.* events.
	Participant *Participant `json:"participant,omitempty"`
	// Reason is why a participant left, or why a recording stopped.
	Reason string `json:"reason,omitempty"`
	// Recording is set for recording.finished.
	Recording *Recording `json:"recording,omitempty"`
}

// Recording is a finished recording: its id (the one the REST API lists),
// how long it ran, and whether the playable file was made.
type Recording struct {
	ID       string  `json:"id"`
	Seconds  float64 `json:"seconds"`
	Tracks   int     `json:"tracks"`
	Composed bool    `json:"composed"`
	// Error says why the playable file was not made.
	Error string `json:"error,omitempty"`
}

// Config sets up a Dispatcher. Zero values are the defaults in comments.
type Config struct {
	// URLs receive every event.
	URLs []string
	// Secret signs the bodies; required.
	Secret []byte
	// MaxAttempts per event and URL before it is given up. Default 8.
	MaxAttempts int
	// Backoff is the wait before the first retry; it doubles up to
	// MaxBackoff. Defaults 1s and 5 minutes.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration
	// MaxPending bounds the events waiting for delivery, all URLs and
	// meetings together; past it new events are dropped (and counted).
	// Default 10,000.
	MaxPending int
	// Client sends the requests; nil: a client with Timeout.
	Client *http.Client
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Errors of New.
var (
	ErrNoSecret = errors.New("webhooks: a signing secret is needed (--webhook-secret)")
	ErrBadURL   = errors.New("webhooks: want http:// or https:// URLs")
)

// Stats are the dispatcher's counts since it started.
type Stats struct {
	Delivered uint64 // event deliveries a receiver acknowledged
	Retries   uint64 // attempts after a first one failed
	Failed    uint64 // deliveries given up after MaxAttempts
	Dropped   uint64 // events not queued: MaxPending was reached
	Pending   int    // deliveries waiting now
}

// Dispatcher queues and delivers events. It is safe for concurrent use.
type Dispatcher struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	delivered, retries, failed, dropped atomic.Uint64

	mu      sync.Mutex
	queues  map[queueKey]*queue
	pending int
	closed  bool
}

// queueKey orders deliveries: one queue per URL and meeting.
type queueKey struct{ url, room string }

type queue struct {
	items [][]byte // bodies waiting, oldest first
	ids   []string
}

// New returns a dispatcher; Close stops it.
func New(cfg Config) (*Dispatcher, error) {
	if len(cfg.Secret) == 0 {
		return nil, ErrNoSecret
	}
	for _, u := range cfg.URLs {
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("%w: %q", ErrBadURL, u)
		}
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 8
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 10_000
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Dispatcher{cfg: cfg, ctx: ctx, cancel: cancel, queues: map[queueKey]*queue{}}, nil
}

// Send queues ev for every URL; ID and Time are filled when empty. It
// never blocks.
func (d *Dispatcher) Send(ev Event) {
	if ev.ID == "" {
		ev.ID = newID()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC().Truncate(time.Millisecond)
	body, err := json.Marshal(ev)
	if err != nil {
		d.cfg.Logger.Error("webhook: encode", "err", err)
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, u := range d.cfg.URLs {
		if d.closed || d.pending >= d.cfg.MaxPending {
			d.dropped.Add(1)
			continue
		}
		k := queueKey{u, ev.Room}
		q := d.queues[k]
		if q == nil {
			q = &queue{}
			d.queues[k] = q
			d.wg.Add(1)
			go d.drain(k, q)
		}
		q.items = append(q.items, body)
		q.ids = append(q.ids, ev.ID)
		d.pending++
	}
}

// drain delivers a queue's events one after the other until it is empty,
// then forgets it.
func (d *Dispatcher) drain(k queueKey, q *queue) {
	defer d.wg.Done()
	for {
		d.mu.Lock()
		if len(q.items) == 0 {
			delete(d.queues, k)
			d.mu.Unlock()
			return
		}
		body, id := q.items[0], q.ids[0]
		d.mu.Unlock()

		d.deliver(k.url, id, body)

		d.mu.Lock()
		q.items, q.ids = q.items[1:], q.ids[1:]
		d.pending--
		d.mu.Unlock()
	}
}

// deliver tries one event at one URL until it is acknowledged, attempts
// run out or the dispatcher closes.
func (d *Dispatcher) deliver(url, id string, body []byte) {
	wait := d.cfg.Backoff
	for attempt := 1; ; attempt++ {
		err := d.post(url, id, body, attempt)
		if err == nil {
			d.delivered.Add(1)
			return
		}
		if attempt >= d.cfg.MaxAttempts || d.ctx.Err() != nil {
			d.failed.Add(1)
			d.cfg.Logger.Warn("webhook given up", "url", url, "event", id, "attempts", attempt, "err", err)
			return
		}
		d.cfg.Logger.Debug("webhook attempt failed", "url", url, "event", id, "attempt", attempt, "retry", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-d.ctx.Done():
			d.failed.Add(1)
			return
		}
		d.retries.Add(1)
		wait = min(2*wait, d.cfg.MaxBackoff)
	}
}

func (d *Dispatcher) post(url, id string, body []byte, attempt int) error {
	ctx, cancel := context.WithTimeout(d.ctx, d.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Huddle-Webhooks/1")
	req.Header.Set("Huddle-Webhook-Id", id)
	req.Header.Set("Huddle-Webhook-Attempt", strconv.Itoa(attempt))
	req.Header.Set(SignatureHeader, Sign(d.cfg.Secret, time.Now(), body))
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// Stats returns the counts.
func (d *Dispatcher) Stats() Stats {
	d.mu.Lock()
	pending := d.pending
	d.mu.Unlock()
	return Stats{Delivered: d.delivered.Load(), Retries: d.retries.Load(), Failed: d.failed.Load(),
		Dropped: d.dropped.Load(), Pending: pending}
}

// Close stops taking events and waits for those queued until ctx ends;
// then it gives up on what is left.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return ctx.Err()
	}
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// SignatureHeader carries the signature.
const SignatureHeader = "Huddle-Signature"

// Sign is the Huddle-Signature value of body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhooks: signature does not match")
	ErrStale        = errors.New("webhooks: signature timestamp outside the tolerance")
)

// Verify checks a Huddle-Signature header against body, as a receiver
// should: the HMAC in constant time, and a timestamp within tolerance of
// now (replays of old deliveries fail).
func Verify(secret []byte, header string, body []byte, tolerance time.Duration, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrBadSignature
	}
	want := mac(secret, ts, body)
	ok := false
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			ok = true
		}
	}
	if !ok {
		return ErrBadSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	return nil
}
