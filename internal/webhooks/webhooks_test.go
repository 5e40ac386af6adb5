package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var secret = []byte("webhook-test-secret")

// receiver is a real HTTP endpoint that checks signatures, fails the first
// failFirst attempts of every event, and keeps each event id once.
type receiver struct {
	t         *testing.T
	failFirst int

	mu       sync.Mutex
	attempts map[string]int
	got      map[string][]string // room -> event ids in arrival order
	dupes    int
	badSig   int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := Verify(secret, r.Header.Get(SignatureHeader), body, 5*time.Minute, time.Now()); err != nil {
		rc.mu.Lock()
		rc.badSig++
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var ev Event
	if err := json.Unmarshal(body, &ev); err != nil || ev.ID == "" || ev.ID != r.Header.Get("Huddle-Webhook-Id") {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts[ev.ID]++
	if rc.attempts[ev.ID] <= rc.failFirst {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	for _, id := range rc.got[ev.Room] {
		if id == ev.ID { // the idempotency key: a redelivery is dropped
			rc.dupes++
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	rc.got[ev.Room] = append(rc.got[ev.Room], ev.ID)
	w.WriteHeader(http.StatusNoContent)
}

func newReceiver(t *testing.T, failFirst int) (*receiver, string) {
	rc := &receiver{t: t, failFirst: failFirst, attempts: map[string]int{}, got: map[string][]string{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv.URL
}

func TestRetriesDeliverEveryEventOnceInOrder(t *testing.T) {
	rc, url := newReceiver(t, 2)
	d, err := New(Config{URLs: []string{url}, Secret: secret, Backoff: 2 * time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{}
	for i := range 20 {
		room := fmt.Sprintf("room-%d", i%3)
		ev := Event{ID: fmt.Sprintf("evt-%02d", i), Type: "participant.joined", Room: room,
			Participant: &Participant{ID: "p", Name: "n"}}
		want[room] = append(want[room], ev.ID)
		d.Send(ev)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatalf("close: %v", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for room, ids := range want {
		if fmt.Sprint(rc.got[room]) != fmt.Sprint(ids) {
			t.Errorf("%s: got %v, want %v (in order, once each)", room, rc.got[room], ids)
		}
	}
	for id, n := range rc.attempts {
		if n != 3 {
			t.Errorf("%s: %d attempts, want 3 (two refused, one accepted)", id, n)
		}
	}
	if rc.dupes != 0 || rc.badSig != 0 {
		t.Errorf("dupes %d, bad signatures %d", rc.dupes, rc.badSig)
	}
	st := d.Stats()
	if st.Delivered != 20 || st.Retries != 40 || st.Failed != 0 || st.Pending != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	rc, url := newReceiver(t, 1000)
	d, _ := New(Config{URLs: []string{url}, Secret: secret, MaxAttempts: 3, Backoff: time.Millisecond})
	d.Send(Event{Type: "meeting.started", Room: "r"})
	d.Send(Event{Type: "meeting.ended", Room: "r"})
	_ = d.Close(context.Background())
	if st := d.Stats(); st.Failed != 2 || st.Delivered != 0 || st.Retries != 4 {
		t.Fatalf("stats %+v", st)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for id, n := range rc.attempts {
		if n != 3 {
			t.Errorf("%s: %d attempts, want 3", id, n)
		}
	}
}

func TestDropsPastMaxPending(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	d, _ := New(Config{URLs: []string{srv.URL}, Secret: secret, MaxPending: 2, MaxAttempts: 1})
	for range 5 {
		d.Send(Event{Type: "meeting.started", Room: "r"})
	}
	if st := d.Stats(); st.Dropped != 3 || st.Pending != 2 {
		t.Fatalf("stats %+v", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := d.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close with a stuck receiver: %v", err)
	}
}

func TestSignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"evt_1"}`)
	h := Sign(secret, now, body)
	if h[:13] != "t=1800000000," {
		t.Fatalf("header %q", h)
	}
	if err := Verify(secret, h, body, time.Minute, now.Add(30*time.Second)); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		secret []byte
		header string
		body   string
		now    time.Time
		want   error
	}{
		"other secret": {[]byte("x"), h, string(body), now, ErrBadSignature},
		"other body":   {secret, h, `{"id":"evt_2"}`, now, ErrBadSignature},
		"stale":        {secret, h, string(body), now.Add(time.Hour), ErrStale},
		"no v1":        {secret, "t=1800000000", string(body), now, ErrBadSignature},
		"garbage":      {secret, "nonsense", string(body), now, ErrBadSignature},
	} {
		if err := Verify(tc.secret, tc.header, []byte(tc.body), time.Minute, tc.now); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := New(Config{URLs: []string{"http://x"}}); !errors.Is(err, ErrNoSecret) {
		t.Errorf("no secret: %v", err)
	}
	if _, err := New(Config{URLs: []string{"ftp://x"}, Secret: secret}); !errors.Is(err, ErrBadURL) {
		t.Errorf("ftp: %v", err)
	}
}
