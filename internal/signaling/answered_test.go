package signaling

import (
	"encoding/json"
	"testing"

	"github.com/huddlehq/huddle/internal/rooms"
	"github.com/huddlehq/huddle/socketio"
)

// An event done for a connection whose acks died with its node is
// recognised once when the client sends it again, from that participant
// only; what is gone for good is forgotten.
func TestAnsweredEventsTakenOnce(t *testing.T) {
	g := rooms.NewRegistry(rooms.Config{})
	res, err := g.Join(rooms.JoinRequest{Room: "r", ID: "ada"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := g.Join(rooms.JoinRequest{Room: "r", ID: "bob"})
	ada, bob := &session{}, &session{}
	ada.setMember(res.Room, res.Participant)
	bob.setMember(other.Room, other.Participant)
	ev := &socketio.Event{Name: "chat-message", Args: []json.RawMessage{json.RawMessage(`{"text":"n Ada 49"}`)}}
	var a answeredEvents
	if a.take(ada, ev) {
		t.Fatal("taken with nothing noted")
	}
	// As the link hashes the client's packet 2<ack id>[...] from its '['.
	a.add("ada", []uint64{EventHash([]byte(`["chat-message",{"text":"n Ada 49"}]`))})
	if a.take(bob, ev) {
		t.Fatal("another participant's event taken")
	}
	other50 := &socketio.Event{Name: "chat-message", Args: []json.RawMessage{json.RawMessage(`{"text":"n Ada 50"}`)}}
	if a.take(ada, other50) {
		t.Fatal("a different event taken")
	}
	if !a.take(ada, ev) {
		t.Fatal("the event sent again not recognised")
	}
	if a.take(ada, ev) {
		t.Fatal("taken twice: a third send is a new message")
	}
	a.add("ada", []uint64{1, 2})
	a.forget("ada")
	if a.n.Load() != 0 || len(a.m) != 0 {
		t.Fatalf("after forget: %d %v", a.n.Load(), a.m)
	}
}
