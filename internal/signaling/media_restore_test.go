package signaling

import (
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/rooms"
)

// joinedMedia is a media side that records what it is told.
type joinedMedia struct {
	mu     sync.Mutex
	joined []string // "room/id capable|mesh-only, conn|no conn"
}

func (m *joinedMedia) Joined(room, id string, conn MediaConn, capable bool) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := room + "/" + id
	if capable {
		s += " capable"
	} else {
		s += " mesh-only"
	}
	if conn == nil {
		s += ", no conn"
	}
	m.joined = append(m.joined, s)
	return "sfu"
}
func (m *joinedMedia) Left(room, id string) {}
func (m *joinedMedia) Events() []string     { return nil }
func (m *joinedMedia) Handle(room, id, event string, args []json.RawMessage) (any, error) {
	return nil, nil
}

// A meeting taken over from another node has its media side told of every
// member at once, away (no connection yet), each as able to use the SFU as
// it was: an auto meeting of three is on the SFU before the first resumes.
func TestRestoreTellsMediaOfEveryMember(t *testing.T) {
	m := &joinedMedia{}
	svc := NewService(Config{ReconnectGrace: time.Minute}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), &countingMetrics{refused: map[string]int{}})
	svc.UseMedia(m)
	sh := rooms.Shared{ID: "taken", Members: []rooms.SharedParticipant{
		{ID: "a", Name: "Ada", Dialect: rooms.DialectA, SFU: true, TokenHash: rooms.TokenHash("ta")},
		{ID: "b", Name: "Bob", Dialect: rooms.DialectA, SFU: true, TokenHash: rooms.TokenHash("tb")},
		{ID: "c", Name: "Cy", Dialect: rooms.DialectB, TokenHash: rooms.TokenHash("tc")},
	}}
	if _, err := svc.Restore(sh); err != nil {
		t.Fatal(err)
	}
	want := []string{"taken/a capable, no conn", "taken/b capable, no conn", "taken/c mesh-only, no conn"}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.joined) != len(want) {
		t.Fatalf("media side told %q, want %q", m.joined, want)
	}
	for i := range want {
		if m.joined[i] != want[i] {
			t.Fatalf("media side told %q, want %q", m.joined, want)
		}
	}
}
