package rooms

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestTokenRoundTrip(t *testing.T) {
	s := newSigner(testKey)
	now := time.UnixMilli(1_700_000_000_000)
	c := tokenClaim{id: "abc-_1", issued: now.UnixNano(), expires: now.Add(time.Hour).UnixMilli(), host: true}
	tok := s.sign("room", c)
	got, ok := s.verify("room", tok)
	if !ok || got != c || got.expired(now) || !got.expired(now.Add(time.Hour)) {
		t.Fatalf("verify(%q) = %+v, %v; want %+v", tok, got, ok, c)
	}
	refused := map[string]string{
		"other room":      "room2",
		"tampered id":     "",
		"tampered flag":   "",
		"other key":       "",
		"truncated mac":   "",
		"no mac":          "",
		"old format":      "",
		"empty":           "",
		"tampered expiry": "",
	}
	for name := range refused {
		t.Run(name, func(t *testing.T) {
			room, token, signer := "room", tok, s
			switch name {
			case "other room":
				room = "room2"
			case "tampered id":
				token = "abd" + tok[3:]
			case "tampered flag":
				token = strings.Replace(tok, ".1.", ".0.", 1)
			case "tampered expiry":
				token = strings.Replace(tok, ".1700003600000.", ".1800003600000.", 1)
			case "other key":
				signer = newSigner([]byte("another key, as long as the first"))
			case "truncated mac":
				token = tok[:len(tok)-2]
			case "no mac":
				token = tok[:strings.LastIndexByte(tok, '.')]
			case "old format":
				token = "abc-_1.AAAAAAAAAAAAAAAAAAAAAA"
			case "empty":
				token = ""
			}
			if token == tok && room == "room" && name != "other key" {
				t.Fatalf("case %q changed nothing", name)
			}
			if c, ok := signer.verify(room, token); ok {
				t.Fatalf("accepted %q: %+v", token, c)
			}
		})
	}
}

func keyed(cfg Config) *Registry {
	cfg.TokenKey = testKey
	return NewRegistry(cfg)
}

// A token that was not signed by the server names an id but proves
// nothing: the joiner gets its own id. (Before, "<id>.anything" took any
// free id.)
func TestForgedTokenGetsFreshID(t *testing.T) {
	g := keyed(Config{})
	h := join(t, g, "r", "victim")
	h.Room.Leave(h.Participant) // the id is free
	join(t, g, "r", "someone")
	for _, forged := range []string{"victim.anything", "victim.1.99999999999999.1.AAAA.AAAA", flipMAC(h.Token)} {
		res, err := g.Join(JoinRequest{Room: "r", ID: "attacker", Resume: forged})
		if err != nil {
			t.Fatal(err)
		}
		if res.Participant.ID != "attacker" || res.Resumed {
			t.Fatalf("forged token %q got id %q (resumed %v)", forged, res.Participant.ID, res.Resumed)
		}
		res.Room.Leave(res.Participant)
	}
}

// flipMAC changes one character well inside a token's MAC. (The last
// character of unpadded base64 carries unused bits: changing it may not
// change the bytes, and such a test passed by chance.)
func flipMAC(token string) string {
	b := []byte(token)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestResumeRotatesToken(t *testing.T) {
	g := keyed(Config{})
	a := join(t, g, "r", "a")
	join(t, g, "r", "b")
	a.Room.Detach(a.Participant, nil, time.Hour, func() {})
	res, err := g.Join(JoinRequest{Room: "r", ID: "a-second-socket", Resume: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Resumed || res.Participant != a.Participant {
		t.Fatalf("valid token did not resume: %+v", res)
	}
	if res.Token == a.Token || res.Token == "" {
		t.Fatalf("token not rotated: %q", res.Token)
	}
	// The old token no longer takes the participant over, even though its
	// MAC is good: its holder gets a fresh id.
	old, err := g.Join(JoinRequest{Room: "r", ID: "thief", Resume: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	if old.Resumed || old.Participant.ID != "thief" {
		t.Fatalf("old token after rotation: id %q resumed %v", old.Participant.ID, old.Resumed)
	}
	// The new one does.
	again, err := g.Join(JoinRequest{Room: "r", ID: "a-third-socket", Resume: res.Token})
	if err != nil || !again.Resumed || again.Participant != a.Participant {
		t.Fatalf("new token: %+v, %v", again, err)
	}
}

func TestTokenIsForItsRoomOnly(t *testing.T) {
	g := keyed(Config{})
	a := join(t, g, "r1", "a")
	res, err := g.Join(JoinRequest{Room: "r2", ID: "other", Resume: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	if res.Participant.ID != "other" {
		t.Fatalf("token of r1 gave id %q in r2", res.Participant.ID)
	}
}

func TestResumeAfterRestartKeepsID(t *testing.T) {
	old := keyed(Config{})
	a := join(t, old, "r", "orig-id")
	fresh := keyed(Config{}) // the server restarted, same key
	res, err := fresh.Join(JoinRequest{Room: "r", ID: "new-socket", Resume: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed || res.Participant.ID != "orig-id" {
		t.Fatalf("got id %q resumed=%v, want the old id as a fresh join", res.Participant.ID, res.Resumed)
	}
	// Without the key, the token proves nothing.
	other := NewRegistry(Config{TokenKey: []byte("a different key, not the old one")})
	res2, err := other.Join(JoinRequest{Room: "r", ID: "new-socket", Resume: a.Token})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Participant.ID != "new-socket" {
		t.Fatalf("token under another key kept id %q", res2.Participant.ID)
	}
}

// restarted returns a registry that started an hour after old's tokens
// were issued, with the same key.
func restarted(t *testing.T, cfg Config, at time.Time) *Registry {
	t.Helper()
	g := keyed(cfg)
	g.start = at
	now := at
	g.now = func() time.Time { // a clock that moves on every reading
		now = now.Add(time.Millisecond)
		return now
	}
	return g
}

// After a restart the first to join an empty room becomes host; the host of
// the meeting before the restart, proving it with its token, takes its id
// and the role back. An attacker with a forged host token gets neither.
func TestHostReclaimsAfterRestart(t *testing.T) {
	old := keyed(Config{})
	host := join(t, old, "r", "host-id")
	guest := join(t, old, "r", "guest-id")

	g := restarted(t, Config{}, time.Now().Add(time.Hour))
	// The attacker comes first, claiming the host's id with a forged token.
	forged := "host-id." + strings.SplitN(host.Token, ".", 2)[1]
	forged = forged[:len(forged)-3] + "AAA"
	m, err := g.Join(JoinRequest{Room: "r", ID: "attacker", Resume: forged})
	if err != nil {
		t.Fatal(err)
	}
	if m.Participant.ID != "attacker" || m.Room.Host() != "attacker" {
		t.Fatalf("attacker got id %q, host %q", m.Participant.ID, m.Room.Host())
	}
	// It locks the room, as a new host may.
	lock := true
	if _, err := m.Room.Configure(m.Participant, SettingsPatch{Locked: &lock}); err != nil {
		t.Fatal(err)
	}
	// A guest of the old meeting has no host role to take back.
	gres, err := g.Join(JoinRequest{Room: "r", ID: "x", Resume: guest.Token})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("old guest into the locked room: %+v, %v", gres, err)
	}
	h, err := g.Join(JoinRequest{Room: "r", ID: "new-socket", Resume: host.Token})
	if err != nil {
		t.Fatalf("host reclaim: %v", err)
	}
	if h.Participant.ID != "host-id" || !h.Reclaimed || h.Demoted != m.Participant {
		t.Fatalf("reclaim: id %q reclaimed %v demoted %v", h.Participant.ID, h.Reclaimed, h.Demoted)
	}
	if got := h.Room.Host(); got != "host-id" {
		t.Fatalf("host %q, want host-id", got)
	}
	// The attacker cannot take it back with its own (post-restart) token.
	m.Room.Detach(m.Participant, nil, time.Hour, func() {})
	m.Room.Leave(m.Participant)
	m2, err := g.Join(JoinRequest{Room: "r", ID: "attacker-2", Resume: m.Token})
	if err == nil && h.Room.Host() != "host-id" {
		t.Fatalf("attacker's token took the host role: %+v", m2)
	}
}

func TestNewerHostTokenWinsAfterTwoRestarts(t *testing.T) {
	old := keyed(Config{})
	host := join(t, old, "r", "h")
	t1 := time.Now().Add(time.Hour)
	mid := restarted(t, Config{}, t1)
	m := join(t, mid, "r", "m") // first after restart 1: host, token says so
	h, err := mid.Join(JoinRequest{Room: "r", ID: "s", Resume: host.Token})
	if err != nil || !h.Reclaimed {
		t.Fatalf("reclaim after restart 1: %+v %v", h, err)
	}
	g := restarted(t, Config{}, t1.Add(time.Hour))
	for _, order := range [][]string{{h.Token, m.Token}, {m.Token, h.Token}} {
		g.rooms = map[string]*Room{}
		a, _ := g.Join(JoinRequest{Room: "r", ID: "one", Resume: order[0]})
		g.Join(JoinRequest{Room: "r", ID: "two", Resume: order[1]})
		if got := a.Room.Host(); got != "h" {
			t.Fatalf("host %q after the second restart, want h", got)
		}
	}
}

func TestReclaimOnlyJustAfterRestart(t *testing.T) {
	old := keyed(Config{})
	host := join(t, old, "r", "h")
	at := time.Now().Add(time.Hour)
	g := keyed(Config{})
	g.start = at
	g.now = func() time.Time { return at.Add(3 * time.Minute) } // past the window
	join(t, g, "r", "first")
	res, err := g.Join(JoinRequest{Room: "r", ID: "s", Resume: host.Token})
	if err != nil {
		t.Fatal(err)
	}
	if res.Reclaimed || res.Room.Host() != "first" {
		t.Fatalf("reclaim after the window: host %q", res.Room.Host())
	}
	if res.Participant.ID != "h" {
		t.Fatalf("id %q, want h (the token still proves the id)", res.Participant.ID)
	}
}

func TestSuccessorGetsHostToken(t *testing.T) {
	g := keyed(Config{})
	a := join(t, g, "r", "a")
	b := join(t, g, "r", "b")
	d := a.Room.Leave(a.Participant)
	if d.NewHost != b.Participant || d.NewHostToken == "" || d.NewHostToken == b.Token {
		t.Fatalf("departure %+v", d)
	}
	c, ok := g.tokens.verify("r", d.NewHostToken)
	if !ok || !c.host || c.id != "b" {
		t.Fatalf("new host token %+v %v", c, ok)
	}
	if got := b.Room.Token(b.Participant); got != d.NewHostToken {
		t.Fatal("room does not hold the new token")
	}
	// The token b held before still resumes it (the new one may never
	// have reached it), once.
	b.Room.Detach(b.Participant, nil, time.Hour, func() {})
	res, err := g.Join(JoinRequest{Room: "r", ID: "b2", Resume: b.Token})
	if err != nil || !res.Resumed || res.Participant != b.Participant {
		t.Fatalf("resume with the pre-host token: %+v %v", res, err)
	}
	if c, _ := g.tokens.verify("r", res.Token); !c.host {
		t.Fatal("the host's rotated token does not say host")
	}
	for i, old := range []string{b.Token, d.NewHostToken} {
		if res, _ := g.Join(JoinRequest{Room: "r", ID: fmt.Sprint("thief", i), Resume: old}); res.Resumed {
			t.Fatal("a token from before the resume still resumes")
		}
	}
}

var ipA, ipB = netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")

// Participants whose connection dropped still count against their address:
// joining and dropping does not free the slot.
func TestParticipantsPerIPCountsDetached(t *testing.T) {
	g := keyed(Config{MaxPerIP: 3, RoomsPerIPPerMinute: -1})
	var held []JoinResult
	for i := 0; i < 3; i++ {
		res, err := g.Join(JoinRequest{Room: "r" + string(rune('a'+i)), ID: "p" + string(rune('a'+i)), IP: ipA})
		if err != nil {
			t.Fatal(err)
		}
		res.Room.Detach(res.Participant, nil, time.Hour, func() {})
		held = append(held, res)
	}
	if _, err := g.Join(JoinRequest{Room: "rz", ID: "pz", IP: ipA}); !errors.Is(err, ErrTooManyFromIP) {
		t.Fatalf("fourth from one address: %v, want %v", err, ErrTooManyFromIP)
	}
	if rooms, _ := g.Stats(); rooms != 3 {
		t.Fatalf("%d rooms after the refusal, want 3", rooms)
	}
	if _, err := g.Join(JoinRequest{Room: "rz", ID: "other", IP: ipB}); err != nil {
		t.Fatalf("another address: %v", err)
	}
	// A resume does not take a second slot.
	if _, err := g.Join(JoinRequest{Room: "ra", ID: "x", Resume: held[0].Token, IP: ipA}); err != nil {
		t.Fatalf("resume at the limit: %v", err)
	}
	// Leaving (for good) gives the slot back.
	held[1].Room.Leave(held[1].Participant)
	if _, err := g.Join(JoinRequest{Room: "rz", ID: "pz", IP: ipA}); err != nil {
		t.Fatalf("after a leave: %v", err)
	}
}

func TestDenyAndRemoveReleaseIPSlots(t *testing.T) {
	g := keyed(Config{MaxPerIP: 2, RoomsPerIPPerMinute: -1})
	h, _ := g.Join(JoinRequest{Room: "r", ID: "h", IP: ipB})
	on := true
	h.Room.Configure(h.Participant, SettingsPatch{WaitingRoom: &on})
	for round := 0; round < 3; round++ {
		if _, err := g.Join(JoinRequest{Room: "r", ID: "w1", IP: ipA}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := g.Join(JoinRequest{Room: "r", ID: "w2", IP: ipA}); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		h.Room.Deny(h.Participant, "w1")
		h.Room.Admit(h.Participant, "w2")
		if _, _, err := h.Room.Remove(h.Participant, "w2"); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRoomsPerIPPerMinute(t *testing.T) {
	g := keyed(Config{RoomsPerIPPerMinute: 2})
	for i, room := range []string{"a", "b"} {
		res, err := g.Join(JoinRequest{Room: room, ID: room, IP: ipA})
		if err != nil {
			t.Fatalf("room %d: %v", i, err)
		}
		res.Room.Leave(res.Participant) // ends the room: it is the start that counts
	}
	if _, err := g.Join(JoinRequest{Room: "c", ID: "c", IP: ipA}); !errors.Is(err, ErrRoomRate) {
		t.Fatalf("third start in a minute: %v, want %v", err, ErrRoomRate)
	}
	// Joining an existing room is not a start.
	join(t, g, "d", "d", func(r *JoinRequest) { r.IP = ipB })
	if _, err := g.Join(JoinRequest{Room: "d", ID: "e", IP: ipA}); err != nil {
		t.Fatalf("join of an existing room: %v", err)
	}
}

// An expired token no longer claims a free id, but the current token of a
// participant still in the room resumes it: a meeting may outlast TokenTTL.
func TestExpiredToken(t *testing.T) {
	g := keyed(Config{TokenTTL: time.Hour})
	a := join(t, g, "r", "a")
	b := join(t, g, "r", "b")
	later := time.Now().Add(2 * time.Hour)
	g.now = func() time.Time { return later }
	a.Room.Detach(a.Participant, nil, time.Hour, func() {})
	res, err := g.Join(JoinRequest{Room: "r", ID: "a2", Resume: a.Token})
	if err != nil || !res.Resumed || res.Participant != a.Participant {
		t.Fatalf("resume with an old current token: %+v %v", res, err)
	}
	b.Room.Leave(b.Participant)
	res, err = g.Join(JoinRequest{Room: "r", ID: "fresh", Resume: b.Token})
	if err != nil || res.Participant.ID != "fresh" {
		t.Fatalf("expired token for a free id: %+v %v", res, err)
	}
}
