package media

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/webrtc/v4"
)

// conn records what a member's client is sent.
type conn struct {
	mu     sync.Mutex
	events []string
	modes  []Mode
}

func (c *conn) Emit(event string, args ...any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, event)
	if m, ok := args[0].(modeMsg); ok {
		c.modes = append(c.modes, m.Mode)
	}
	return nil
}

func (c *conn) lastMode() Mode {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.modes) == 0 {
		return ""
	}
	return c.modes[len(c.modes)-1]
}

func (c *conn) count(event string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.events {
		if e == event {
			n++
		}
	}
	return n
}

func newManager(t *testing.T, cfg Config) *Manager {
	t.Helper()
	cfg.SFU.IncludeLoopback = true
	cfg.SFU.Interfaces = []string{"lo"}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 3s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAutoMovesToSFUAtThreeAndBack(t *testing.T) {
	m := newManager(t, Config{MeshAfter: 200 * time.Millisecond})
	a, b, c := &conn{}, &conn{}, &conn{}
	if mode := m.Joined("r", "a", a, true); mode != Mesh {
		t.Fatalf("alone: %s", mode)
	}
	if mode := m.Joined("r", "b", b, true); mode != Mesh {
		t.Fatalf("two people: %s, want mesh", mode)
	}
	if mode := m.Joined("r", "c", c, true); mode != SFU {
		t.Fatalf("three people: %s, want sfu", mode)
	}
	for _, x := range []*conn{a, b, c} {
		eventually(t, "media-mode sfu to every member", func() bool { return x.lastMode() == SFU })
	}
	m.Left("r", "c")
	if m.Mode("r") != SFU {
		t.Fatal("moved back to the mesh at once; it must wait MeshAfter")
	}
	eventually(t, "back to the mesh after MeshAfter", func() bool { return m.Mode("r") == Mesh })
	eventually(t, "media-mode mesh to the two left", func() bool { return a.lastMode() == Mesh && b.lastMode() == Mesh })
}

func TestAutoStaysInSFUWhenSomeoneRejoinsQuickly(t *testing.T) {
	m := newManager(t, Config{MeshAfter: 300 * time.Millisecond})
	a := &conn{}
	m.Joined("r", "a", a, true)
	m.Joined("r", "b", &conn{}, true)
	m.Joined("r", "c", &conn{}, true)
	m.Left("r", "c")
	m.Joined("r", "c", &conn{}, true)
	time.Sleep(500 * time.Millisecond)
	if m.Mode("r") != SFU || a.count("media-mode") != 1 {
		t.Errorf("mode %s after %d media-mode events; want sfu after exactly one", m.Mode("r"), a.count("media-mode"))
	}
}

func TestClientsWithoutSFUKeepTheMesh(t *testing.T) {
	for _, policy := range []Mode{Auto, SFU} {
		m := newManager(t, Config{Mode: policy})
		old := &conn{}
		m.Joined("r", "seed", old, false)
		m.Joined("r", "b", &conn{}, true)
		m.Joined("r", "c", &conn{}, true)
		if mode := m.Mode("r"); mode != Mesh {
			t.Errorf("%s: room with a seed-protocol client is %s", policy, mode)
		}
		if n := old.count("media-mode") + old.count("sfu-offer"); n != 0 {
			t.Errorf("%s: the seed-protocol client got %d SFU events", policy, n)
		}
		if _, err := m.Publish("r", "seed", webrtc.SessionDescription{}); !errors.Is(err, ErrNotCapable) && !errors.Is(err, ErrNotInSFU) {
			t.Errorf("%s: publish by a client that did not ask: %v", policy, err)
		}
	}
}

func TestPolicies(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	if mode := m.Joined("r", "a", &conn{}, true); mode != SFU {
		t.Errorf("--media sfu, alone: %s", mode)
	}
	m = newManager(t, Config{Mode: Mesh})
	for _, id := range []string{"a", "b", "c", "d"} {
		m.Joined("r", id, &conn{}, true)
	}
	if mode := m.Mode("r"); mode != Mesh {
		t.Errorf("--media mesh with 4: %s", mode)
	}
	if _, err := ParseMode("p2p"); !errors.Is(err, ErrBadMode) {
		t.Errorf("ParseMode(p2p): %v", err)
	}
}

func TestSFUEventsOnlyInSFUMode(t *testing.T) {
	m := newManager(t, Config{})
	m.Joined("r", "a", &conn{}, true)
	m.Joined("r", "b", &conn{}, true)
	if _, err := m.Publish("r", "a", webrtc.SessionDescription{Type: webrtc.SDPTypeOffer}); !errors.Is(err, ErrNotInSFU) {
		t.Errorf("publish in a mesh room: %v", err)
	}
	if err := m.Answer("r", "a", webrtc.SessionDescription{}); !errors.Is(err, ErrNotInSFU) {
		t.Errorf("answer without an SFU peer: %v", err)
	}
	if _, err := m.Publish("other", "a", webrtc.SessionDescription{}); !errors.Is(err, ErrNotInSFU) {
		t.Errorf("publish into a room it is not in: %v", err)
	}
}

func TestSubscribeGetsAnOfferWithTheRoomsTracks(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	a := &conn{}
	m.Joined("r", "a", a, true)
	if err := m.Subscribe("r", "a"); err != nil {
		t.Fatal(err)
	}
	// Nothing is published yet: no offer needed. The peer exists, so the
	// member's answers and candidates are taken.
	if _, err := m.existingPeer("r", "a"); err != nil {
		t.Fatalf("no SFU peer after subscribe: %v", err)
	}
	m.Left("r", "a")
	if _, err := m.existingPeer("r", "a"); !errors.Is(err, ErrNotInSFU) {
		t.Errorf("peer still there after leaving: %v", err)
	}
	if m.sfu.Rooms() != 0 {
		t.Errorf("%d SFU rooms left", m.sfu.Rooms())
	}
}

func TestStatsOnlyOfMembersInTheSFU(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	m.Joined("r", "a", &conn{}, true)
	m.Joined("r", "b", &conn{}, true)
	t.Cleanup(func() { m.Left("r", "a"); m.Left("r", "b") })
	if st := m.Stats("r"); len(st) != 0 {
		t.Fatalf("stats before anyone joined the SFU: %v", st)
	}
	if err := m.Subscribe("r", "a"); err != nil {
		t.Fatal(err)
	}
	st := m.Stats("r")
	if _, ok := st["a"]; !ok || len(st) != 1 {
		t.Errorf("stats with a in the SFU: %v, want a only", st)
	}
	if st := m.Stats("nowhere"); len(st) != 0 {
		t.Errorf("stats of an unknown room: %v", st)
	}
}

// The SFU's dominant speaker reaches the room's members as active-speaker.
func TestActiveSpeakerIsTold(t *testing.T) {
	m := newManager(t, Config{Mode: SFU})
	a := joinWire(t, m, "r", "alice")
	b := joinWire(t, m, "r", "bob")
	other := joinWire(t, m, "elsewhere", "carol")
	mic := sfutest.NewRawTrack(webrtc.MimeTypeOpus, "mic", "alice")
	a.client.PublishTracks(mic)
	stop := make(chan struct{})
	defer close(stop)
	go mic.Speak(stop, func() uint8 { return 20 })
	sfutest.WaitFor(t, "bob told who speaks", 5*time.Second, func() bool { return b.count("active-speaker") > 0 })
	if a.count("active-speaker") == 0 {
		t.Error("the speaker herself was not told")
	}
	if other.count("active-speaker") != 0 {
		t.Error("another meeting was told")
	}
}

// A room given its own mode follows it instead of the server's, until
// the meeting ends.
func TestRoomPolicy(t *testing.T) {
	m := newManager(t, Config{Mode: Mesh})
	if err := m.SetPolicy("big", SFU); err != nil {
		t.Fatal(err)
	}
	if err := m.SetPolicy("big", "p2p"); err == nil {
		t.Fatal("a mode that is not auto, mesh or sfu was taken")
	}
	a, b := &conn{}, &conn{}
	if got := m.Joined("big", "a", a, true); got != SFU {
		t.Fatalf("first member of an sfu room in a mesh server: %s", got)
	}
	if got := m.Joined("plain", "b", b, true); got != Mesh {
		t.Fatalf("another room: %s, want the server's mesh", got)
	}
	m.Left("big", "a")
	if got := m.Joined("big", "a", a, true); got != Mesh {
		t.Fatalf("after the meeting ended: %s, want the server's mesh again", got)
	}
}
