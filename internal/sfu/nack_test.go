package sfu_test

import (
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/rtcp"
)

// A subscriber's NACK is answered from the server's cache: the packet
// comes again (as RTX, which pion hands to the reader as the original).
// It was never answered while the estimator's pacer refused the RTX SSRC.
func TestNACKIsAnswered(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room := s.Room("r1")
	a, _ := join(t, room, "alice")
	b, _ := join(t, room, "bob")
	a.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 50 })
	var ssrc uint32
	for _, tr := range b.Sub.GetTransceivers() {
		if r := tr.Receiver(); r != nil && r.Track() != nil && r.Track().ID() == "cam" {
			ssrc = uint32(r.Track().SSRC())
		}
	}
	// bob does not know which sequence numbers the server's cache holds
	// (the stream is renumbered): he asks for one packet in every 17 of
	// the whole space, in small batches. Each packet the server has comes
	// again, behind the newest.
	before := b.Behind("alice/cam")
	for first := 0; first < 1<<16; {
		var pairs []rtcp.NackPair
		for ; first < 1<<16 && len(pairs) < 250; first += 17 {
			pairs = append(pairs, rtcp.NackPair{PacketID: uint16(first)})
		}
		if err := b.Sub.WriteRTCP([]rtcp.Packet{&rtcp.TransportLayerNack{MediaSSRC: ssrc, Nacks: pairs}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	sfutest.WaitFor(t, "a retransmission reaches bob", 2*time.Second, func() bool { return b.Behind("alice/cam") > before })
}
