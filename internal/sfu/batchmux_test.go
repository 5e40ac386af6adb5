package sfu_test

import (
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// On the shared UDP port, what the server forwards to several
// subscribers leaves in sendmmsg batches, and every subscriber gets it.
func TestSharedPortSendsInBatches(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	subs := []*sfutest.Client{}
	for _, name := range []string{"bob", "carol", "dave"} {
		c, _ := join(t, room, name)
		subs = append(subs, c)
	}
	a.Publish()
	for _, c := range subs {
		sfutest.WaitFor(t, c.Name+" receives alice", 10*time.Second, func() bool { return c.Received("alice/cam") > 50 })
	}
	n, calls := s.BatchedDatagrams()
	if n < 150 || calls == 0 || calls >= n {
		t.Errorf("%d datagrams in %d sendmmsg calls: want the forwarded packets batched", n, calls)
	}
	t.Logf("%d datagrams in %d sendmmsg calls", n, calls)
}
