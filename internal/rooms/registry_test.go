package rooms

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func join(t *testing.T, g *Registry, room, id string, opts ...func(*JoinRequest)) JoinResult {
	t.Helper()
	req := JoinRequest{Room: room, ID: id, Name: "name-" + id}
	for _, o := range opts {
		o(&req)
	}
	res, err := g.Join(req)
	if err != nil {
		t.Fatalf("join %s as %s: %v", room, id, err)
	}
	return res
}

func TestJoinRefusals(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(g *Registry)
		req     JoinRequest
		wantErr *Error
	}{
		{"room full", func(g *Registry) {
			for i := 0; i < 2; i++ {
				g.Join(JoinRequest{Room: "r", ID: fmt.Sprint("p", i)})
			}
		}, JoinRequest{Room: "r", ID: "x"}, ErrRoomFull},
		{"too many rooms", func(g *Registry) {
			g.Join(JoinRequest{Room: "a", ID: "1"})
			g.Join(JoinRequest{Room: "b", ID: "2"})
		}, JoinRequest{Room: "c", ID: "3"}, ErrTooManyRooms},
		{"locked", func(g *Registry) {
			res, _ := g.Join(JoinRequest{Room: "r", ID: "h"})
			lock := true
			res.Room.Configure(res.Participant, SettingsPatch{Locked: &lock})
		}, JoinRequest{Room: "r", ID: "x"}, ErrLocked},
		{"wrong password", func(g *Registry) {
			res, _ := g.Join(JoinRequest{Room: "r", ID: "h"})
			pw := "secret"
			res.Room.Configure(res.Participant, SettingsPatch{Password: &pw})
		}, JoinRequest{Room: "r", ID: "x", Password: "secreT"}, ErrWrongPassword},
		{"missing password", func(g *Registry) {
			res, _ := g.Join(JoinRequest{Room: "r", ID: "h"})
			pw := "secret"
			res.Room.Configure(res.Participant, SettingsPatch{Password: &pw})
		}, JoinRequest{Room: "r", ID: "x"}, ErrWrongPassword},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := NewRegistry(Config{MaxRooms: 2, MaxParticipants: 2})
			tc.setup(g)
			_, err := g.Join(tc.req)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("got %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestPasswordLetsIn(t *testing.T) {
	g := NewRegistry(Config{})
	h := join(t, g, "r", "h")
	pw := "correct horse"
	h.Room.Configure(h.Participant, SettingsPatch{Password: &pw})
	join(t, g, "r", "x", func(r *JoinRequest) { r.Password = pw })
}

func TestHostSuccession(t *testing.T) {
	g := NewRegistry(Config{})
	a := join(t, g, "r", "a")
	join(t, g, "r", "b")
	join(t, g, "r", "c")
	if got := a.Room.Host(); got != "a" {
		t.Fatalf("host %q, want a", got)
	}
	d := a.Room.Leave(a.Participant)
	if !d.Left || d.NewHost == nil || d.NewHost.ID != "b" {
		t.Fatalf("departure %+v, want new host b", d)
	}
	if got := a.Room.Host(); got != "b" {
		t.Fatalf("host %q, want b", got)
	}
	if d := a.Room.Leave(a.Participant); d.Left {
		t.Fatal("leaving twice reported a departure")
	}
}

func TestOnlyHostControls(t *testing.T) {
	g := NewRegistry(Config{})
	h := join(t, g, "r", "h")
	x := join(t, g, "r", "x")
	lock := true
	if _, err := h.Room.Configure(x.Participant, SettingsPatch{Locked: &lock}); !errors.Is(err, ErrNotHost) {
		t.Fatalf("configure by guest: %v", err)
	}
	if _, _, err := h.Room.Remove(x.Participant, "h"); !errors.Is(err, ErrNotHost) {
		t.Fatalf("remove by guest: %v", err)
	}
	if _, _, err := h.Room.Remove(h.Participant, "nobody"); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("remove unknown: %v", err)
	}
	if _, _, err := h.Room.Remove(h.Participant, "x"); err != nil {
		t.Fatalf("remove by host: %v", err)
	}
	if h.Room.IsMember(x.Participant) {
		t.Fatal("removed participant still a member")
	}
}

func TestRemovedCannotResumeWhileLocked(t *testing.T) {
	g := NewRegistry(Config{})
	h := join(t, g, "r", "h")
	x := join(t, g, "r", "x")
	lock := true
	h.Room.Configure(h.Participant, SettingsPatch{Locked: &lock})
	if _, _, err := h.Room.Remove(h.Participant, "x"); err != nil {
		t.Fatal(err)
	}
	_, err := g.Join(JoinRequest{Room: "r", ID: "x2", Resume: x.Token})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("removed participant resuming a locked room: %v, want locked", err)
	}
}

func TestWaitingRoom(t *testing.T) {
	g := NewRegistry(Config{})
	h := join(t, g, "r", "h")
	on := true
	h.Room.Configure(h.Participant, SettingsPatch{WaitingRoom: &on})
	w := join(t, g, "r", "w")
	if !w.Waiting || h.Room.IsMember(w.Participant) {
		t.Fatal("arrival not in the waiting room")
	}
	if got := h.Room.Waiting(); len(got) != 1 || got[0].ID != "w" {
		t.Fatalf("waiting list %+v", got)
	}
	if _, err := h.Room.Admit(w.Participant, "w"); !errors.Is(err, ErrNotHost) {
		t.Fatalf("self-admit: %v", err)
	}
	if _, err := h.Room.Admit(h.Participant, "w"); err != nil {
		t.Fatal(err)
	}
	if !h.Room.IsMember(w.Participant) || len(h.Room.Waiting()) != 0 {
		t.Fatal("admitted participant not a member")
	}
	d := join(t, g, "r", "d")
	if _, err := h.Room.Deny(h.Participant, "d"); err != nil {
		t.Fatal(err)
	}
	if h.Room.IsMember(d.Participant) || len(h.Room.Waiting()) != 0 {
		t.Fatal("denied participant still there")
	}
}

func TestResumeKeepsIdentityAndReplaysPending(t *testing.T) {
	g := NewRegistry(Config{})
	a := join(t, g, "r", "a")
	join(t, g, "r", "b")
	expired := make(chan struct{})
	if !a.Room.Detach(a.Participant, nil, time.Hour, func() { close(expired) }) {
		t.Fatal("detach refused")
	}
	a.Room.Deliver(a.Participant, nil) // kept, not sent: a is away
	res, err := g.Join(JoinRequest{Room: "r", ID: "a-new-socket", Resume: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Participant != a.Participant || res.Participant.ID != "a" {
		t.Fatalf("resume %+v", res)
	}
	if len(res.Pending) != 1 {
		t.Fatalf("pending %d, want 1", len(res.Pending))
	}
	select {
	case <-expired:
		t.Fatal("grace timer fired after resume")
	default:
	}
}

func TestGraceExpires(t *testing.T) {
	g := NewRegistry(Config{})
	a := join(t, g, "r", "a")
	done := make(chan struct{})
	a.Room.Detach(a.Participant, nil, 10*time.Millisecond, func() {
		if a.Room.Detached(a.Participant) {
			a.Room.Leave(a.Participant)
		}
		close(done)
	})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("grace period never ended")
	}
	if rooms, people := g.Stats(); rooms != 0 || people != 0 {
		t.Fatalf("after expiry: %d rooms, %d participants", rooms, people)
	}
}

func TestChatHistoryBounded(t *testing.T) {
	g := NewRegistry(Config{ChatHistory: 3})
	a := join(t, g, "r", "a")
	for i := 0; i < 5; i++ {
		a.Room.AddChat(ChatMessage{ID: fmt.Sprint(i)})
	}
	chat := a.Room.Snapshot(a.Participant).Chat
	if len(chat) != 3 || chat[0].ID != "2" || chat[2].ID != "4" {
		t.Fatalf("history %+v, want the last 3", chat)
	}
}

func TestConcurrentJoinsRespectLimit(t *testing.T) {
	g := NewRegistry(Config{MaxParticipants: 8})
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := g.Join(JoinRequest{Room: "r", ID: fmt.Sprint(i)}); err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	if ok != 8 {
		t.Fatalf("%d joined, want 8", ok)
	}
}

func TestMeetingStartsAndEnds(t *testing.T) {
	g := NewRegistry(Config{})
	a := join(t, g, "r", "a")
	b := join(t, g, "r", "b")
	if !a.Created || b.Created {
		t.Fatalf("created: first %v, second %v", a.Created, b.Created)
	}
	if d := a.Room.Leave(a.Participant); d.Ended {
		t.Fatal("meeting ended with someone still in it")
	}
	if d := b.Room.Leave(b.Participant); !d.Ended {
		t.Fatal("last leave did not end the meeting")
	}
	if c := join(t, g, "r", "c"); !c.Created {
		t.Fatal("a join after the end did not start a new meeting")
	}
}

// A meeting on the SFU holds MaxParticipants; one where anyone can only
// talk peer to peer stays within MeshLimit, whoever comes first.
func TestMeshLimit(t *testing.T) {
	g := NewRegistry(Config{MaxParticipants: 20, MeshLimit: 3})
	sfu := func(r *JoinRequest) { r.SFU = true }
	for i := 0; i < 10; i++ {
		join(t, g, "big", fmt.Sprint("s", i), sfu)
	}
	if _, err := g.Join(JoinRequest{Room: "big", ID: "seed"}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("a mesh-only client joining a room of 10 on the SFU: %v, want room-full", err)
	}
	join(t, g, "small", "seed")
	join(t, g, "small", "a", sfu)
	join(t, g, "small", "b", sfu)
	if _, err := g.Join(JoinRequest{Room: "small", ID: "c", SFU: true}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("a 4th joining a room with a mesh-only member: %v, want room-full at the mesh limit of 3", err)
	}
	for i := 10; i < 20; i++ {
		join(t, g, "big", fmt.Sprint("s", i), sfu)
	}
	if _, err := g.Join(JoinRequest{Room: "big", ID: "s20", SFU: true}); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("the 21st: %v, want room-full at MaxParticipants", err)
	}
}
