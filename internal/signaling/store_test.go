package signaling

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"

	"github.com/huddlehq/huddle/internal/rooms"
)

// keepingStore is a rooms.Store that keeps, at each Flush, the ids of the
// chat history it was asked to keep: what another node would find if this
// one died right then.
type keepingStore struct {
	mu   sync.Mutex
	kept []string
}

func (k *keepingStore) Changed(*rooms.Room) {}

func (k *keepingStore) Flush(r *rooms.Room) {
	var ids []string
	for _, c := range r.Shared().Chat {
		ids = append(ids, c.ID)
	}
	k.mu.Lock()
	k.kept = ids
	k.mu.Unlock()
}

func (k *keepingStore) has(id string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Contains(k.kept, id)
}

// TestChatKeptBeforeAnyoneSeesIt: in cluster mode a chat message is in the
// kept history before the others receive it and before its sender's ack,
// so a home dying right after cannot take it out of the history everyone
// resumes with.
func TestChatKeptBeforeAnyoneSeesIt(t *testing.T) {
	store := &keepingStore{}
	ts := newTestServer(t, Config{RoomStore: store})
	ada, bob := ts.dial(), ts.dial()
	ada.join("kept", "Ada", "")
	bob.join("kept", "Bob", "")

	r := ada.ask("chat-message", map[string]string{"text": "kept first"})
	if !r.OK {
		t.Fatalf("chat: %s", r.raw)
	}
	var acked struct{ ID string }
	_ = json.Unmarshal(r.raw, &acked)
	if !store.has(acked.ID) {
		t.Fatalf("Ada's message %q was acknowledged before it was kept", acked.ID)
	}
	var seen struct{ ID string }
	_ = json.Unmarshal(bob.waitFor("chat-message", 1)[0], &seen)
	if seen.ID != acked.ID {
		t.Fatalf("Bob saw %q, Ada's ack said %q", seen.ID, acked.ID)
	}
}
