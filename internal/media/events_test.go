package media

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
)

// wire connects a pion participant to the Manager the way signaling does:
// its calls become sfu-* events through Handle, and what the Manager
// emits reaches it.
type wire struct {
	t      *testing.T
	m      *Manager
	room   string
	id     string
	client *sfutest.Client
	conn   // records every event too
}

func (w *wire) call(event string, v any) (any, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.m.Handle(w.room, w.id, event, []json.RawMessage{raw})
}

func (w *wire) Publish(offer webrtc.SessionDescription) (webrtc.SessionDescription, error) {
	reply, err := w.call("sfu-publish", description{Type: "offer", SDP: offer.SDP})
	if err != nil {
		return webrtc.SessionDescription{}, err
	}
	r := reply.(map[string]any)
	return webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: r["sdp"].(string)}, nil
}

func (w *wire) Answer(answer webrtc.SessionDescription) error {
	_, err := w.call("sfu-answer", description{Type: "answer", SDP: answer.SDP})
	return err
}

func (w *wire) AddCandidate(d sfu.Direction, c webrtc.ICECandidateInit) error {
	_, err := w.call("sfu-candidate", candidateMsg{Direction: d, Candidate: c})
	return err
}

// Emit is the member's socket: SFU events go to the pion client.
func (w *wire) Emit(event string, args ...any) error {
	_ = w.conn.Emit(event, args...)
	switch event {
	case "sfu-offer":
		m := args[0].(map[string]string)
		w.client.Offer(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: m["sdp"]})
	case "sfu-candidate":
		m := args[0].(candidateMsg)
		w.client.Candidate(m.Direction, m.Candidate)
	}
	return nil
}

func joinWire(t *testing.T, m *Manager, room, id string) *wire {
	w := &wire{t: t, m: m, room: room, id: id, client: sfutest.New(t, id)}
	w.client.Attach(w)
	m.Joined(room, id, w, true)
	// The client stops first: a member that leaves makes the SFU offer the
	// others a renegotiation, whose answers would otherwise meet members
	// already gone and fail the test in its cleanup.
	t.Cleanup(func() {
		w.client.Close()
		m.Left(room, id)
	})
	return w
}

func TestThreePeopleThroughTheSFU(t *testing.T) {
	m := newManager(t, Config{})
	a := joinWire(t, m, "r", "alice")
	b := joinWire(t, m, "r", "bob")
	c := joinWire(t, m, "r", "carol")
	for _, w := range []*wire{a, b, c} {
		eventually(t, w.id+" told to use the SFU", func() bool { return w.lastMode() == SFU })
	}
	a.client.Publish()
	b.client.Publish()
	if _, err := c.call("sfu-subscribe", struct{}{}); err != nil {
		t.Fatalf("carol subscribes: %v", err)
	}
	for _, tc := range []struct {
		w   *wire
		key string
	}{{b, "alice/cam"}, {c, "alice/cam"}, {c, "bob/mic"}, {a, "bob/cam"}} {
		sfutest.WaitFor(t, tc.w.id+" receives "+tc.key, 10*time.Second, func() bool { return tc.w.client.Received(tc.key) > 10 })
	}
	// Alice leaves the meeting: her tracks end for the others.
	m.Left("r", "alice")
	sfutest.WaitFor(t, "alice's camera ends for carol", 5*time.Second, func() bool { return c.client.Ended("alice/cam") })
}

func TestHandleRefusesBadEvents(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	m.Joined("r", "a", &conn{}, true)
	for _, tc := range []struct {
		event string
		arg   string
		code  string
	}{
		{"sfu-publish", `{"type":"answer","sdp":"v=0"}`, "bad-request"},
		{"sfu-publish", `"just a string"`, "bad-request"},
		{"sfu-publish", `{"type":"offer","sdp":"garbage"}`, "bad-sdp"},
		{"sfu-answer", `{"type":"answer","sdp":"v=0"}`, "no-offer"},
		{"sfu-candidate", `{"direction":"sideways","candidate":{}}`, "bad-request"},
		{"sfu-jump", `{}`, "unknown-event"},
	} {
		_, err := m.Handle("r", "a", tc.event, []json.RawMessage{json.RawMessage(tc.arg)})
		var e *Error
		if !errors.As(err, &e) || e.Code != tc.code {
			t.Errorf("%s %s: %v, want code %s", tc.event, tc.arg, err, tc.code)
		}
	}
	big := make([]byte, maxSDP+1)
	for i := range big {
		big[i] = 'a'
	}
	raw, _ := json.Marshal(description{Type: "offer", SDP: string(big)})
	if _, err := m.Handle("r", "a", "sfu-publish", []json.RawMessage{raw}); err == nil || err.(*Error).Code != "too-large" {
		t.Errorf("oversized offer: %v", err)
	}
	if _, err := m.Handle("r", "stranger", "sfu-subscribe", nil); err == nil || err.(*Error).Code != "not-in-sfu" {
		t.Errorf("someone not in the room: %v", err)
	}
}

// sfu-view picks the layer a member receives of each other member, and
// pauses the video of a tile it does not show.
func TestViewPicksTheLayer(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	a := joinWire(t, m, "r", "alice")
	b := joinWire(t, m, "r", "bob")
	a.client.PublishSimulcast()
	if _, err := b.call("sfu-subscribe", struct{}{}); err != nil {
		t.Fatal(err)
	}
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.client.Received("alice/cam") > 10 })
	for _, tc := range []struct {
		height int
		rid    string
	}{{180, "q"}, {1080, "f"}} {
		if _, err := b.call("sfu-view", map[string]any{"views": []View{{ID: "alice", Height: tc.height}}}); err != nil {
			t.Fatal(err)
		}
		sfutest.WaitFor(t, "layer "+tc.rid, 3*time.Second, func() bool { return b.client.LastSize("alice/cam") == sfutest.SimulcastSizes[tc.rid] })
	}
	many := make([]View, maxViews+1)
	if _, err := b.call("sfu-view", map[string]any{"views": many}); err == nil || err.(*Error).Code != "too-large" {
		t.Errorf("%d views: %v", len(many), err)
	}
	if _, err := b.call("sfu-view", "nonsense"); err == nil || err.(*Error).Code != "bad-request" {
		t.Errorf("malformed view: %v", err)
	}
}

// The web app's joiner publishes once it receives, or at once when the
// ack of its sfu-subscribe came without an offer before it (nothing to
// receive yet): the offer must be emitted before Handle returns the ack.
func TestSubscribeOffersBeforeItsAck(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	a := joinWire(t, m, "r", "alice")
	a.client.Publish()
	b := joinWire(t, m, "r", "bob")
	if _, err := b.call("sfu-subscribe", struct{}{}); err != nil {
		t.Fatal(err)
	}
	// Alice's tracks are the SFU's once her packets flow.
	sfutest.WaitFor(t, "bob receives alice's camera", 10*time.Second, func() bool { return b.client.Received("alice/cam") > 0 })

	// Carol's socket records what she is sent; her sfu-subscribe's ack is
	// what Handle returns.
	if c := subscribeRecorded(t, m, "r", "carol"); c.count("sfu-offer") != 1 {
		t.Fatalf("when the ack of sfu-subscribe went, carol had %d offers (events %v); want the offer first", c.count("sfu-offer"), c.events)
	}
	// In a room with nothing published, the ack comes without an offer.
	if d := subscribeRecorded(t, m, "empty", "dave"); d.count("sfu-offer") != 0 {
		t.Fatalf("an offer in a room with no tracks: %v", d.events)
	}
}

// subscribeRecorded joins id to room with a socket that records what it
// is sent, and sends its sfu-subscribe; it returns the socket as it was
// when the ack went.
func subscribeRecorded(t *testing.T, m *Manager, room, id string) *conn {
	t.Helper()
	c := &conn{}
	m.Joined(room, id, c, true)
	t.Cleanup(func() { m.Left(room, id) })
	if _, err := m.Handle(room, id, "sfu-subscribe", []json.RawMessage{[]byte("{}")}); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return &conn{events: append([]string(nil), c.events...)}
}
