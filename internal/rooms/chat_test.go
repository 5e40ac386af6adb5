package rooms

import (
	"fmt"
	"strings"
	"testing"
)

func TestChatRoomByteBudget(t *testing.T) {
	g := keyed(Config{ChatRoomBytes: 10_000})
	a := join(t, g, "r", "a")
	text := strings.Repeat("x", 1000)
	for i := 0; i < 50; i++ {
		a.Room.AddChat(ChatMessage{ID: fmt.Sprint(i), Text: text})
	}
	chat := a.Room.Snapshot(a.Participant).Chat
	size := 0
	for _, m := range chat {
		size += chatSize(m)
	}
	if size > 10_000 || len(chat) == 0 || chat[len(chat)-1].ID != "49" {
		t.Fatalf("%d messages, %d bytes, want the newest within 10,000 bytes", len(chat), size)
	}
	if chat[0].ID != fmt.Sprint(50-len(chat)) {
		t.Fatalf("kept from %s, want the oldest dropped first", chat[0].ID)
	}
	if got := g.ChatBytes(); got != int64(size) {
		t.Fatalf("server count %d, room holds %d", got, size)
	}
}

func TestChatServerByteBudget(t *testing.T) {
	g := keyed(Config{ChatRoomBytes: 10_000, ChatServerBytes: 25_000})
	text := strings.Repeat("y", 1000)
	var rooms []JoinResult
	for i := 0; i < 5; i++ {
		r := join(t, g, fmt.Sprint("room", i), fmt.Sprint("p", i))
		rooms = append(rooms, r)
		for j := 0; j < 20; j++ {
			r.Room.AddChat(ChatMessage{ID: fmt.Sprint(j), Text: text})
		}
	}
	if got := g.ChatBytes(); got > 25_000 {
		t.Fatalf("server holds %d bytes of chat, budget 25,000", got)
	}
	// A later room makes space from its own history only: the rooms that
	// came first keep theirs.
	if n := len(rooms[0].Room.Snapshot(nil).Chat); n == 0 {
		t.Fatal("the first room lost its history to later rooms")
	}
	// Ending a meeting gives its bytes back.
	before := g.ChatBytes()
	rooms[0].Room.Leave(rooms[0].Participant)
	if after := g.ChatBytes(); after >= before {
		t.Fatalf("chat bytes %d -> %d after a meeting ended", before, after)
	}
	// And a room that had nothing can store again.
	rooms[4].Room.AddChat(ChatMessage{ID: "new", Text: text})
	if chat := rooms[4].Room.Snapshot(nil).Chat; len(chat) == 0 || chat[len(chat)-1].ID != "new" {
		t.Fatalf("room 4 history %d after space was freed", len(chat))
	}
	// An ended room stores nothing.
	rooms[0].Room.AddChat(ChatMessage{ID: "late", Text: text})
	if got := g.ChatBytes(); got > 25_000 {
		t.Fatalf("%d", got)
	}
	total := int64(0)
	for _, r := range rooms[1:] {
		for _, m := range r.Room.Snapshot(nil).Chat {
			total += int64(chatSize(m))
		}
	}
	if total != g.ChatBytes() {
		t.Fatalf("rooms hold %d bytes, server counts %d", total, g.ChatBytes())
	}
}
