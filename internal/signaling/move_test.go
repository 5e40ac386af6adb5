package signaling

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/huddlehq/huddle/socketio"
)

// fakeHome is cluster mode as the move sees it: rooms named in homes are
// served by that node, every other room here; Relay relays nothing (the
// relay itself is tested with real nodes in internal/server).
type fakeHome struct {
	homes map[string]string

	mu     sync.Mutex
	asked  []string // rooms Home was asked about
	relays []string // rooms Relay was asked about
}

func (f *fakeHome) Relay(_ *socketio.Socket, room string, _ json.RawMessage) (Remote, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.relays = append(f.relays, room)
	return nil, nil // served here: the fake relays nothing
}

func (f *fakeHome) Undelivered(*socketio.Socket) ([]*socketio.Packet, []uint64) { return nil, nil }

func (f *fakeHome) Home(room string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, room)
	return f.homes[room]
}

// movedReply is a join refused with moved, as the client reads it.
type movedReply struct {
	OK    bool `json:"ok"`
	Error struct {
		Code, Message, Node, Cookie string
	} `json:"error"`
}

// TestJoinMoved: a join with move: true on a node that is not its room's
// home is refused with moved, the home's id and the cookie's name, and
// leaves nothing behind here; joins that cannot move (no move, a resume,
// move: false after a move) are served (relayed, in a real cluster).
func TestJoinMoved(t *testing.T) {
	home := &fakeHome{homes: map[string]string{"away": "n2"}}
	ts := newTestServer(t, Config{Cluster: home, MoveCookie: "HUDDLE_NODE"})

	c := ts.dial()
	r := c.ask("join-room", map[string]any{"room": "away", "name": "Ada", "move": true})
	var m movedReply
	if err := json.Unmarshal(r.raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.OK || m.Error.Code != "moved" || m.Error.Node != "n2" || m.Error.Cookie != "HUDDLE_NODE" || m.Error.Message == "" {
		t.Fatalf("join with move on a node that is not the home: %s, want moved to n2 with cookie HUDDLE_NODE", r.raw)
	}
	if rooms, members := ts.svc.Stats(); rooms != 0 || members != 0 {
		t.Fatalf("a moved join left %d rooms, %d participants here", rooms, members)
	}
	home.mu.Lock()
	relays := len(home.relays)
	home.mu.Unlock()
	if relays != 0 {
		t.Fatalf("a moved join was relayed too (%d relays)", relays)
	}

	// The client came back with move: false (here the same node, as when
	// the balancer does not follow the cookie): served, never moved twice.
	r = c.ask("join-room", map[string]any{"room": "away", "name": "Ada", "move": false})
	if !r.OK {
		t.Fatalf("join with move: false: %s", r.raw)
	}
	// Without move (seed dialects, older apps): served.
	b := ts.dial()
	if r := b.ask("join-room", map[string]any{"room": "away", "name": "Bob"}); !r.OK {
		t.Fatalf("join without move: %s", r.raw)
	}
	// A resume is taken back wherever it lands, move or not.
	if r := ts.dial().ask("join-room", map[string]any{"room": "away", "name": "Cy", "move": true, "resume": "not-a-token"}); r.Error.Code == "moved" {
		t.Fatalf("a resume was moved: %s", r.raw)
	}
	// A room served here: joined, move or not.
	if r := ts.dial().ask("join-room", map[string]any{"room": "here", "name": "Dee", "move": true}); !r.OK {
		t.Fatalf("join with move to a room served here: %s", r.raw)
	}
}

// TestJoinNotMovedWithoutCookie: with MoveCookie empty (--cluster-cookie
// "") every join is served (relayed) as before, move or not, and the
// home is not even asked.
func TestJoinNotMovedWithoutCookie(t *testing.T) {
	home := &fakeHome{homes: map[string]string{"away": "n2"}}
	ts := newTestServer(t, Config{Cluster: home})
	if r := ts.dial().ask("join-room", map[string]any{"room": "away", "name": "Ada", "move": true}); !r.OK {
		t.Fatalf("join with move, moving off: %s", r.raw)
	}
	home.mu.Lock()
	defer home.mu.Unlock()
	if len(home.asked) != 0 || len(home.relays) != 1 {
		t.Fatalf("moving off: Home asked %v, Relay %v; want none, one", home.asked, home.relays)
	}
}
