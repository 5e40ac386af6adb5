package sfu_test

import (
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Bad input: whatever a participant or a stranger sends, the server
// drops it (and counts it), and the other participants' media keeps
// flowing.

// twoPublishing is a room where alice and bob publish and receive each
// other; it returns once media flows both ways and the goroutines of
// their connections have started.
func twoPublishing(t *testing.T, s *sfu.SFU) (room *sfu.Room, a, b *sfutest.Client) {
	t.Helper()
	room = s.Room("r1")
	a, _ = join(t, room, "alice")
	b, _ = join(t, room, "bob")
	a.Publish()
	b.Publish()
	sfutest.WaitFor(t, "bob receives alice", 10*time.Second, func() bool { return b.Received("alice/cam") > 20 })
	sfutest.WaitFor(t, "alice receives bob", 10*time.Second, func() bool { return a.Received("bob/cam") > 20 })
	time.Sleep(300 * time.Millisecond)
	return room, a, b
}

// stillFlows fails unless c keeps receiving key.
func stillFlows(t *testing.T, c *sfutest.Client, key string) {
	t.Helper()
	n := c.Received(key)
	sfutest.WaitFor(t, c.Name+" still receives "+key, 5*time.Second, func() bool { return c.Received(key) > n+25 })
}

// noLeak fails unless the number of goroutines comes back to baseline
// (with a little slack for pion's timers).
func noLeak(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > baseline+5 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > baseline+5 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rand.Uint32())
	}
	return b
}

// A stranger sends garbage at the media ports: random datagrams, ones
// that look like RTP, RTCP or STUN with an unknown username, and junk
// over TCP.
func TestGarbageAtTheMediaPorts(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	_, a, b := twoPublishing(t, s)
	baseline := runtime.NumGoroutine()

	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	var to *net.UDPAddr
	for _, addr := range s.UDPAddrs() {
		if u := addr.(*net.UDPAddr); u.IP.Equal(net.IPv4(127, 0, 0, 1)) {
			to = u
		}
	}
	if to == nil {
		t.Fatalf("no loopback address among %v", s.UDPAddrs())
	}
	const sent = 2000
	for i := range sent {
		var pkt []byte
		switch i % 4 {
		case 0: // anything
			pkt = randomBytes(1 + rand.IntN(1400))
		case 1: // an RTP header
			pkt = append([]byte{0x80, 96}, randomBytes(10+rand.IntN(1000))...)
		case 2: // an RTCP sender report
			pkt = append([]byte{0x80, 200, 0, 6}, randomBytes(24)...)
		case 3: // a STUN binding request with a username of no connection
			pkt = stunBinding(t, "nobody:"+string(rune('a'+i%26)))
		}
		if _, err := stranger.WriteToUDP(pkt, to); err != nil {
			t.Fatal(err)
		}
		if i%100 == 0 {
			time.Sleep(5 * time.Millisecond) // not so fast that the socket buffer drops them
		}
	}
	// And junk on ICE-TCP, framed or not.
	for i := range 20 {
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			_, _ = c.Write(randomBytes(2000))
		} else {
			_, _ = c.Write(append([]byte{0, 20}, stunBinding(t, "nobody:x")...))
		}
		_ = c.Close()
	}
	sfutest.WaitFor(t, "garbage counted", 5*time.Second, func() bool {
		return s.Stats().Dropped[sfu.DropUnknownSource] >= sent*9/10
	})
	stillFlows(t, b, "alice/cam")
	stillFlows(t, a, "bob/mic")
	noLeak(t, baseline)
}

// stunBinding is a STUN binding request with this username (no
// integrity: the server never gets that far).
func stunBinding(t *testing.T, user string) []byte {
	t.Helper()
	attr := []byte(user)
	pad := (4 - len(attr)%4) % 4
	body := append([]byte{0x00, 0x06, byte(len(attr) >> 8), byte(len(attr))}, attr...)
	body = append(body, make([]byte, pad)...)
	msg := []byte{0x00, 0x01, byte(len(body) >> 8), byte(len(body)), 0x21, 0x12, 0xa4, 0x42}
	msg = append(msg, randomBytes(12)...)
	return append(msg, body...)
}

// A participant with valid keys sends what it did not negotiate: RTP of
// SSRCs not in its offer, garbage payloads and header extensions,
// replayed packets, RTCP about SSRCs that do not exist and RTCP that does
// not parse.
func TestBadPacketsFromAParticipant(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room, a, b := twoPublishing(t, s)
	baseline := runtime.NumGoroutine()

	mal := sfutest.New(t, "mallory")
	mp, err := room.Join("mallory", mal)
	if err != nil {
		t.Fatal(err)
	}
	mal.Attach(mp)
	video := sfutest.NewRawTrack(webrtc.MimeTypeVP8, "cam", "mallory")
	audio := sfutest.NewRawTrack(webrtc.MimeTypeOpus, "mic", "mallory")
	mal.PublishTracks(video, audio)
	sfutest.WaitFor(t, "mallory's tracks are bound", 5*time.Second, func() bool {
		_, _, v := video.Negotiated()
		_, _, a := audio.Negotiated()
		return v && a
	})
	before := b.Received("alice/cam")
	seq := map[*sfutest.RawTrack]uint16{}
	var last rtp.Header
	for i := range 2000 {
		tr := video
		if i%2 == 1 {
			tr = audio
		}
		ssrc, pt, _ := tr.Negotiated()
		seq[tr]++
		h := rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: seq[tr], Timestamp: uint32(i) * 900, Marker: i%3 == 0}
		switch i % 8 {
		case 1, 5: // an SSRC it never offered, any payload type
			h.SSRC, h.PayloadType = rand.Uint32(), uint8(rand.IntN(128))
		case 2: // a replay of the packet before
			h = last
		case 3: // garbage header extensions
			_ = h.SetExtension(uint8(1+rand.IntN(14)), randomBytes(1+rand.IntN(16)))
			_ = h.SetExtension(uint8(1+rand.IntN(14)), randomBytes(1+rand.IntN(16)))
		}
		// Payloads of any size, empty and one byte included: the server
		// looks into VP8 payloads for keyframes.
		payload := randomBytes([]int{0, 1, 2, 3, 10, 1100}[rand.IntN(6)])
		_ = tr.WriteRTP(&h, payload)
		if h.SSRC == ssrc {
			last = h
		}
		if i%20 == 0 {
			bogus := []rtcp.Packet{
				&rtcp.PictureLossIndication{SenderSSRC: rand.Uint32(), MediaSSRC: rand.Uint32()},
				&rtcp.FullIntraRequest{SenderSSRC: rand.Uint32(), MediaSSRC: rand.Uint32()},
				&rtcp.TransportLayerNack{SenderSSRC: rand.Uint32(), MediaSSRC: rand.Uint32(), Nacks: []rtcp.NackPair{{PacketID: uint16(rand.Uint32()), LostPackets: 0xffff}}},
				&rtcp.ReceiverReport{SSRC: rand.Uint32(), Reports: []rtcp.ReceptionReport{{SSRC: rand.Uint32(), FractionLost: 255, TotalLost: 1 << 20}}},
				&rtcp.SenderReport{SSRC: rand.Uint32(), NTPTime: rand.Uint64(), RTPTime: rand.Uint32()},
				&rtcp.ReceiverEstimatedMaximumBitrate{SenderSSRC: rand.Uint32(), Bitrate: 1, SSRCs: []uint32{rand.Uint32()}},
			}
			_ = mal.Pub.WriteRTCP(bogus)
			_ = mal.Sub.WriteRTCP(bogus)
			// RTCP that does not parse, in a valid SRTCP packet.
			raw := rtcp.RawPacket(append([]byte{0x80, 200, 0, 1, 0, 0, 0, 1}, randomBytes(rand.IntN(40))...))
			_ = mal.Pub.WriteRTCP([]rtcp.Packet{&raw})
		}
		if i%10 == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if n := b.Received("alice/cam"); n < before+50 {
		t.Errorf("bob received %d packets of alice's camera during the barrage, want 50 or more", n-before)
	}
	stillFlows(t, b, "alice/cam")
	stillFlows(t, a, "bob/mic")
	st := s.Stats()
	t.Logf("dropped: %v", st.Dropped)
	for _, reason := range []string{sfu.DropSRTP, sfu.DropUnknownSSRC} {
		if st.Dropped[reason] == 0 {
			t.Errorf("no packet counted as dropped for %s", reason)
		}
	}
	// The SSRCs mallory did not offer made no tracks.
	if n := b.Tracks(); n > 4 {
		t.Errorf("bob receives %d tracks, want at most alice's two and mallory's two", n)
	}
	mp.Close()
	mal.Close()
	noLeak(t, baseline)
}

// An offer over the track limit, again and again, is refused every time;
// a valid one afterwards is not.
func TestTrackFlood(t *testing.T) {
	s := newTestSFU(t, sfu.Config{MaxTracksPerPeer: 4})
	room, _, b := twoPublishing(t, s)
	baseline := runtime.NumGoroutine()

	mal := sfutest.New(t, "mallory")
	mp, err := room.Join("mallory", mal)
	if err != nil {
		t.Fatal(err)
	}
	mal.Attach(mp)
	for i := range 24 {
		if _, err := mal.Pub.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		if i < 4 {
			continue
		}
		offer, err := mal.Pub.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mp.Publish(offer); !errors.Is(err, sfu.ErrTooManyTracks) {
			t.Fatalf("offer of %d tracks with a limit of 4: %v, want ErrTooManyTracks", i+1, err)
		}
	}
	stillFlows(t, b, "alice/cam")
	mp.Close()
	mal.Close()
	noLeak(t, baseline)

	// Refusals leave nothing behind: a participant that then offers
	// within the limit publishes.
	c := sfutest.New(t, "carol")
	cp, err := room.Join("carol", c)
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(cp)
	t.Cleanup(cp.Close)
	offer := func(n int) webrtc.SessionDescription {
		for range n {
			if _, err := c.Pub.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
				t.Fatal(err)
			}
		}
		o, err := c.Pub.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if _, err := cp.Publish(offer(5)); !errors.Is(err, sfu.ErrTooManyTracks) {
		t.Fatalf("5 tracks: %v", err)
	}
	c.Close()
	c = sfutest.New(t, "carol2")
	cp2, err := room.Join("carol2", c)
	if err != nil {
		t.Fatal(err)
	}
	c.Attach(cp2)
	t.Cleanup(cp2.Close)
	c.Publish() // two tracks, sent
	sfutest.WaitFor(t, "bob receives carol2", 10*time.Second, func() bool { return b.Received("carol2/cam") > 10 })
}

// A participant whose offer names another participant's stream and
// track ids does not take them over: its tracks reach the others under
// its own id, and the real owner's keep flowing.
func TestCannotClaimAnothersTrack(t *testing.T) {
	s := newTestSFU(t, sfu.Config{})
	room, _, b := twoPublishing(t, s)
	c, _ := join(t, room, "carol")
	sfutest.WaitFor(t, "carol receives alice", 10*time.Second, func() bool { return c.Received("alice/cam") > 10 })
	// mallory's client calls itself alice: stream "alice", tracks "cam"
	// and "mic".
	mal := sfutest.New(t, "alice")
	mp, err := room.Join("mallory", mal)
	if err != nil {
		t.Fatal(err)
	}
	mal.Attach(mp)
	t.Cleanup(mp.Close)
	mal.Publish()
	sfutest.WaitFor(t, "carol receives mallory's camera under mallory's id", 20*time.Second, func() bool { return c.Received("mallory/cam") > 20 })
	if n := b.Received("mallory/cam"); n == 0 {
		t.Error("bob does not receive mallory's camera under her id")
	}
	stillFlows(t, c, "alice/cam")
	// Nobody receives two tracks under alice's name: there would be
	// two "alice/cam" tracks, seen as one key.
	if n := c.Tracks(); n != 6 {
		t.Errorf("carol receives %d tracks, want 6 (alice, bob, mallory; camera and microphone)", n)
	}
}

// A participant that sends RTP under ever new SSRCs, which pion would
// keep a stream for each of until the connection closes, is cut off
// past a hundred or so: the server's memory stays put, and its own and
// the others' media still flow.
func TestManySSRCsDoNotGrowTheServer(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	room, a, b := twoPublishing(t, s)
	mal := sfutest.New(t, "mallory")
	mp, err := room.Join("mallory", mal)
	if err != nil {
		t.Fatal(err)
	}
	mal.Attach(mp)
	t.Cleanup(mp.Close)
	video := sfutest.NewRawTrack(webrtc.MimeTypeVP8, "cam", "mallory")
	mal.PublishTracks(video)
	sfutest.WaitFor(t, "mallory's track is bound", 5*time.Second, func() bool { _, _, ok := video.Negotiated(); return ok })
	ssrc, pt, _ := video.Negotiated()
	// Her own stream, keyframes all along, first and throughout: the
	// server knows it before the flood.
	stop := make(chan struct{})
	sent := make(chan struct{})
	defer func() { close(stop); <-sent }()
	go func() {
		defer close(sent)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			_ = video.WriteRTP(&rtp.Header{Version: 2, PayloadType: pt, SSRC: ssrc, SequenceNumber: uint16(i), Timestamp: uint32(i) * 1800, Marker: true}, []byte{0x10, 0, 0, 0})
		}
	}()
	sfutest.WaitFor(t, "bob receives mallory", 10*time.Second, func() bool { return b.Received("mallory/cam") > 0 })
	time.Sleep(500 * time.Millisecond)
	before := heapInUse()
	const n = 20000
	for i := range n {
		_ = video.WriteRTP(&rtp.Header{Version: 2, PayloadType: pt, SSRC: rand.Uint32(), SequenceNumber: 1}, make([]byte, 100))
		if i%50 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	time.Sleep(time.Second) // the last are read
	grown := int64(heapInUse()) - int64(before)
	t.Logf("heap grew %d KB for %d SSRCs; dropped %v", grown>>10, n, s.Stats().Dropped)
	// pion keeps ~3.7 KB for each SSRC it sees: 74 MB for all of them
	// (83 MB measured without the limit; 3 MB with it, 11 MB under the
	// race detector).
	if grown > 24<<20 {
		t.Errorf("the server grew by %d MB for %d random SSRCs", grown>>20, n)
	}
	// A loaded machine drops some at the socket before they are read.
	if d := s.Stats().Dropped[sfu.DropTooManySSRCs]; d < n/2 {
		t.Errorf("%d packets of new SSRCs dropped, want about %d", d, n-maxSSRCs)
	}
	stillFlows(t, b, "mallory/cam")
	stillFlows(t, b, "alice/cam")
	stillFlows(t, a, "bob/cam")
}

// maxSSRCs is the SFU's limit of SSRCs per connection (ssrcguard.go).
const maxSSRCs = 128

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// One address cannot hold more than 64 ICE-TCP connections: the rest are
// closed at accept.
func TestICETCPConnectionsPerAddress(t *testing.T) {
	s := newMuxSFU(t, sfu.Config{})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range 70 {
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	sfutest.WaitFor(t, "6 connections refused", 5*time.Second, func() bool { return s.Stats().Dropped[sfu.DropTCPLimit] == 6 })
	// Closing gives the slots back.
	for _, c := range conns[:10] {
		_ = c.Close()
	}
	conns = conns[10:]
	time.Sleep(300 * time.Millisecond)
	for range 10 {
		c, err := net.Dial("tcp", s.TCPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond)
	if n := s.Stats().Dropped[sfu.DropTCPLimit]; n != 6 {
		t.Errorf("%d refused after slots were given back, want still 6", n)
	}
}
