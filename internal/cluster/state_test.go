package cluster

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func ids(ps []Participant) string {
	var s []string
	for _, p := range ps {
		s = append(s, p.ID)
	}
	return strings.Join(s, ",")
}

// What the owner writes, another node reads back whole: meta, members in
// join order, waiting room, the last ChatHistory messages, valid resume
// tokens (expired ones left out), deletions.
func TestRoomStateRoundTrip(t *testing.T) {
	r := startRedis(t)
	small := func(c *Config) { c.ChatHistory = 3 }
	a, b := newNode(t, r, "a", small), newNode(t, r, "b", small)
	ctx := bg(t)
	l, err := a.Claim(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	s := l.State()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	meta := Meta{Host: "p1", Locked: true, PasswordHash: "$argon2id$x", WaitingRoom: true}
	must(s.SetMeta(ctx, meta))
	p1 := Participant{ID: "p1", Name: "Ann", Role: "host", Node: "a", JoinedAt: t0}
	p2 := Participant{ID: "p2", Name: "Bob", Node: "b", JoinedAt: t0.Add(time.Second)}
	p3 := Participant{ID: "p3", Name: "Cy", Node: "a", JoinedAt: t0.Add(2 * time.Second)}
	must(s.PutParticipant(ctx, p3))
	must(s.PutParticipant(ctx, p1))
	must(s.PutParticipant(ctx, p2))
	must(s.DeleteParticipant(ctx, "p3"))
	p2.Node = "a" // reconnected through node a
	must(s.PutParticipant(ctx, p2))
	w := Participant{ID: "w1", Name: "Wait", Node: "b", JoinedAt: t0}
	must(s.PutWaiting(ctx, w))
	must(s.PutWaiting(ctx, Participant{ID: "w2", Name: "Gone", Node: "b"}))
	must(s.DeleteWaiting(ctx, "w2"))
	var chat []ChatMessage
	for i, text := range []string{"one", "two", "three", "four", "five"} {
		m := ChatMessage{ID: text, From: "p1", Name: "Ann", Text: text, TS: int64(i)}
		chat = append(chat, m)
		must(s.AppendChat(ctx, m))
	}
	future := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	must(s.PutResume(ctx, Resume{Participant: "p1", TokenHash: HashToken("tok1"), PrevHash: HashToken("tok0"), Expires: future}))
	must(s.PutResume(ctx, Resume{Participant: "p2", TokenHash: HashToken("tok2"), Expires: time.Now().Add(-time.Second)}))
	must(s.PutResume(ctx, Resume{Participant: "p3", TokenHash: HashToken("tok3"), Expires: future}))
	must(s.DeleteResume(ctx, "p3"))

	got, err := b.LoadRoom(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	want := Room{
		Name:         "team",
		Meta:         meta,
		Participants: []Participant{p1, p2},
		Waiting:      []Participant{w},
		Chat:         chat[2:],
		Resume:       map[string]Resume{"p1": {Participant: "p1", TokenHash: HashToken("tok1"), PrevHash: HashToken("tok0"), Expires: future}},
	}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("LoadRoom:\n got %+v\nwant %+v", got, want)
	}
	// Tokens are stored hashed, never as given.
	keys, _ := r.client().HGetAll(ctx, "huddle:room:{team}:resume").Result()
	for _, v := range keys {
		if strings.Contains(v, "tok1") {
			t.Fatalf("raw resume token stored: %s", v)
		}
	}
}

// normalize makes times comparable after a JSON round trip.
func normalize(r Room) Room {
	fix := func(ps []Participant) {
		for i := range ps {
			ps[i].JoinedAt = ps[i].JoinedAt.UTC()
		}
	}
	fix(r.Participants)
	fix(r.Waiting)
	for k, v := range r.Resume {
		v.Expires = v.Expires.UTC()
		r.Resume[k] = v
	}
	return r
}

// End removes every key of the room; the room can then be claimed anew.
func TestEndDeletesRoomKeys(t *testing.T) {
	r := startRedis(t)
	a, b := newNode(t, r, "a"), newNode(t, r, "b")
	ctx := bg(t)
	l, _ := a.Claim(ctx, "gone")
	other, _ := a.Claim(ctx, "stays")
	s := l.State()
	_ = s.SetMeta(ctx, Meta{Host: "p1"})
	_ = s.PutParticipant(ctx, Participant{ID: "p1"})
	_ = s.PutWaiting(ctx, Participant{ID: "w1"})
	_ = s.AppendChat(ctx, ChatMessage{Text: "hi"})
	_ = s.PutResume(ctx, Resume{Participant: "p1", Expires: time.Now().Add(time.Hour)})
	_ = other.State().SetMeta(ctx, Meta{Host: "q"})
	rc := r.client()
	if keys, _ := rc.Keys(ctx, "huddle:room:{gone}:*").Result(); len(keys) != 7 {
		t.Fatalf("keys before End: %v, want 7", keys)
	}
	if err := s.End(ctx); err != nil {
		t.Fatal(err)
	}
	if keys, _ := rc.Keys(ctx, "huddle:room:{gone}:*").Result(); len(keys) != 0 {
		t.Fatalf("keys left after End: %v", keys)
	}
	if keys, _ := rc.Keys(ctx, "huddle:room:{stays}:*").Result(); len(keys) == 0 {
		t.Fatal("End removed another room's keys")
	}
	if !errors.Is(l.Err(), ErrReleased) {
		t.Fatalf("Err after End: %v", l.Err())
	}
	if err := s.PutParticipant(ctx, Participant{ID: "late"}); err == nil {
		t.Fatal("write after End succeeded")
	}
	if lb, err := b.Claim(ctx, "gone"); err != nil || lb.Epoch != 1 {
		t.Fatalf("claim after End: %v %v, want epoch 1", lb, err)
	}
}

// A room's keys have a TTL (StateTTL), renewed with the lease, so rooms
// whose every node died do not stay in Redis for ever.
func TestStateKeysExpireWithoutOwner(t *testing.T) {
	r := startRedis(t)
	a := newNode(t, r, "a", func(c *Config) { c.StateTTL = time.Hour })
	ctx := bg(t)
	l, _ := a.Claim(ctx, "r")
	_ = l.State().PutParticipant(ctx, Participant{ID: "p"})
	for _, k := range []string{"owner", "parts"} {
		ttl, err := r.client().PTTL(ctx, "huddle:room:{r}:"+k).Result()
		if err != nil || ttl <= 0 || ttl > time.Hour {
			t.Fatalf("%s TTL %v %v, want (0, 1h]", k, ttl, err)
		}
	}
	_ = context.Background()
}

// Apply writes a batch at once: a full write replaces what was there, an
// incremental one adds and removes, chat stays within ChatHistory, and a
// stale owner's batch is fenced.
func TestRoomStateApply(t *testing.T) {
	r := startRedis(t)
	small := func(c *Config) { c.ChatHistory = 3 }
	a, b := newNode(t, r, "a", small), newNode(t, r, "b", small)
	ctx := bg(t)
	l, err := a.Claim(ctx, "batch")
	if err != nil {
		t.Fatal(err)
	}
	s := l.State()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	future := time.Now().Add(time.Hour).Truncate(time.Millisecond).UTC()
	old := Participant{ID: "old", Name: "Old", Node: "a"}
	if err := s.Apply(ctx, Change{Put: []Participant{old}, Chat: []ChatMessage{{ID: "c0", Text: "zero"}}}); err != nil {
		t.Fatal(err)
	}
	p1 := Participant{ID: "p1", Name: "Ann", Role: "host", Node: "a", JoinedAt: t0, Dialect: 1, SFU: true}
	p2 := Participant{ID: "p2", Name: "Bob", Node: "b", JoinedAt: t0.Add(time.Second)}
	w := Participant{ID: "w1", Name: "Wait", Node: "b", JoinedAt: t0}
	meta := Meta{Host: "p1", Locked: true, PasswordHash: "h", WaitingRoom: true}
	var chat []ChatMessage
	for i, text := range []string{"one", "two", "three", "four"} {
		chat = append(chat, ChatMessage{ID: text, From: "p1", Name: "Ann", Text: text, TS: int64(i)})
	}
	full := Change{Full: true, Meta: &meta, Put: []Participant{p1, p2}, PutWaiting: []Participant{w},
		Resume: []Resume{{Participant: "p1", TokenHash: "t1", Expires: future}, {Participant: "p2", TokenHash: "t2", Expires: future}},
		Chat:   chat[:2]}
	if err := s.Apply(ctx, full); err != nil {
		t.Fatal(err)
	}
	p2.Node = "a"
	inc := Change{Put: []Participant{p2}, GoneWaiting: []string{"w1"}, ResumeGone: []string{"p2"}, Chat: chat[2:]}
	if err := s.Apply(ctx, inc); err != nil {
		t.Fatal(err)
	}
	got, err := b.LoadRoom(ctx, "batch")
	if err != nil {
		t.Fatal(err)
	}
	want := Room{Name: "batch", Meta: meta, Participants: []Participant{p1, p2}, Chat: chat[1:],
		Resume: map[string]Resume{"p1": {Participant: "p1", TokenHash: "t1", Expires: future}}}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Fatalf("LoadRoom:\n got %+v\nwant %+v", got, want)
	}
	// Another node takes the room: the former owner's batch is refused.
	l.freeze(true)
	time.Sleep(a.cfg.LeaseTTL + 100*time.Millisecond)
	if _, err := b.Claim(ctx, "batch"); err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, Change{Put: []Participant{{ID: "stale"}}}); !errors.Is(err, ErrFenced) {
		t.Fatalf("stale owner's Apply: %v, want ErrFenced", err)
	}
	if got, _ := b.LoadRoom(ctx, "batch"); len(got.Participants) != 2 {
		t.Fatalf("participants after the stale write: %+v", got.Participants)
	}
}
