package rooms

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/socketio"
)

// recordingStore counts Changed calls per room.
type recordingStore struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *recordingStore) Changed(r *Room) {
	s.mu.Lock()
	s.n[r.id]++
	s.mu.Unlock()
}

func (s *recordingStore) Flush(*Room) {}

func (s *recordingStore) count(room string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[room]
}

// A room taken over by another process from its shared state: everyone
// resumes with its token under its own id (nobody is a new joiner), the
// host is still host, the chat history, the lock and the password hold;
// who does not come back leaves when the grace period ends; the password
// itself never leaves the process.
func TestRestoreTakesTheRoomOver(t *testing.T) {
	store := &recordingStore{n: map[string]int{}}
	cfg := Config{TokenKey: []byte("shared-key-0123456789"), Store: store}
	a := NewRegistry(cfg)
	host := join(t, a, "r", "h")
	bob := join(t, a, "r", "b")
	cy := join(t, a, "r", "c")
	before := store.count("r")
	a.Lookup("r").AddChat(ChatMessage{ID: "m1", From: "h", Text: "hello"})
	pw, lock := "secret", true
	if _, err := host.Room.Configure(host.Participant, SettingsPatch{Password: &pw}); err != nil {
		t.Fatal(err)
	}
	if store.count("r") < before+2 {
		t.Fatalf("store told of %d changes for a chat and a setting, want 2", store.count("r")-before)
	}
	sh := a.Lookup("r").Shared()
	if sh.PasswordHash == "" || sh.PasswordHash == pw {
		t.Fatalf("password kept as %q", sh.PasswordHash)
	}
	if sh.Members[1].TokenHash != TokenHash(bob.Token) {
		t.Fatal("Bob's token hash not shared")
	}

	b := NewRegistry(Config{TokenKey: cfg.TokenKey})
	expired := make(chan string, 3)
	r, err := b.Restore(sh, 200*time.Millisecond, func(r *Room, p *Participant) {
		if r.Detached(p) {
			r.Leave(p)
			expired <- p.ID
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(sh, time.Second, nil); !errors.Is(err, ErrRoomExists) {
		t.Fatalf("second Restore: %v", err)
	}
	// Bob first: he is no host, and the host stays host.
	rb := join(t, b, "r", "sock-b2", func(q *JoinRequest) { q.Resume = bob.Token })
	rh := join(t, b, "r", "sock-h2", func(q *JoinRequest) { q.Resume = host.Token })
	if !rb.Resumed || rb.Participant.ID != "b" || !rh.Resumed || rh.Participant.ID != "h" {
		t.Fatalf("resumes: %+v %+v", rb, rh)
	}
	if r.Host() != "h" {
		t.Fatalf("host %q after the takeover, want h", r.Host())
	}
	if snap := r.Snapshot(rb.Participant); len(snap.Chat) != 1 || snap.Chat[0].Text != "hello" || !snap.Settings.HasPassword {
		t.Fatalf("snapshot after the takeover: %+v", snap)
	}
	// A token resumes once: the rotated one is good, the old one no more.
	if res := join(t, b, "r", "sock-b3", func(q *JoinRequest) { q.Resume = bob.Token; q.Password = pw }); res.Resumed {
		t.Fatal("Bob's old token resumed him twice")
	}
	if _, err := b.Join(JoinRequest{Room: "r", ID: "x", Password: "wrong"}); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := host.Room.Configure(host.Participant, SettingsPatch{Locked: &lock}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Restore(a.Lookup("r").Shared(), time.Second, nil); !errors.Is(err, ErrRoomExists) {
		t.Fatal(err)
	}
	// Cy never comes back.
	select {
	case id := <-expired:
		if id != "c" {
			t.Fatalf("%s expired, want c", id)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Cy's grace period never ended")
	}
	if r.Member("c") != nil || r.Member("b") == nil {
		t.Fatal("members after Cy's grace period")
	}
	_ = cy
}

// A locked room stays locked in its copy.
func TestRestoreKeepsLock(t *testing.T) {
	a := NewRegistry(Config{TokenKey: []byte("k")})
	host := join(t, a, "r", "h")
	lock := true
	host.Room.Configure(host.Participant, SettingsPatch{Locked: &lock})
	b := NewRegistry(Config{TokenKey: []byte("k")})
	if _, err := b.Restore(host.Room.Shared(), time.Minute, func(*Room, *Participant) {}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join(JoinRequest{Room: "r", ID: "x"}); !errors.Is(err, ErrLocked) {
		t.Fatalf("join of a locked room's copy: %v", err)
	}
	if res := join(t, b, "r", "h2", func(q *JoinRequest) { q.Resume = host.Token }); !res.Resumed {
		t.Fatal("the host could not resume in its locked room")
	}
}

// What an earlier connection never got goes ahead of what was kept since.
func TestRedeliverGoesFirst(t *testing.T) {
	g := NewRegistry(Config{})
	a := join(t, g, "r", "a")
	join(t, g, "r", "b")
	if !a.Room.Detach(a.Participant, nil, time.Hour, func() {}) {
		t.Fatal("detach refused")
	}
	later, _ := socketio.EncodeEvent("later")
	a.Room.Deliver(a.Participant, later)
	missed1, _ := socketio.EncodeEvent("missed", 1)
	missed2, _ := socketio.EncodeEvent("missed", 2)
	a.Room.Redeliver(a.Participant, []*socketio.Packet{missed1, missed2})
	res := join(t, g, "r", "a2", func(q *JoinRequest) { q.Resume = a.Token })
	if len(res.Pending) != 3 || res.Pending[0] != missed1 || res.Pending[1] != missed2 || res.Pending[2] != later {
		t.Fatalf("pending %v, want the missed two, then the later one", res.Pending)
	}
}
