package signaling_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/huddlehq/huddle/internal/signaling"
	"github.com/huddlehq/huddle/internal/sioclient"
	"github.com/huddlehq/huddle/socketio"
)

// TestPionPeersCallThroughServer is the seeds' ten steps with real WebRTC
// stacks: two pion peers join a room on a running server, the host offers
// when the guest joins, both trickle ICE, and media and data flow on
// loopback.
func TestPionPeersCallThroughServer(t *testing.T) {
	io := socketio.NewServer(socketio.Config{})
	signaling.NewService(signaling.Config{}, nil, nil, nil).Attach(io)
	srv := httptest.NewServer(io)
	defer srv.Close()

	host := newPionPeer(t, srv.URL, "host")
	guest := newPionPeer(t, srv.URL, "guest")
	defer host.close()
	defer guest.close()

	// The host sends video and opens a data channel.
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "video", "host")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := host.pc.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	dc, err := host.pc.CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	dc.OnOpen(func() { _ = dc.SendText("hello through huddle") })

	var rtpPackets atomic.Int64
	guest.pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			rtpPackets.Add(1)
		}
	})
	message := make(chan string, 1)
	guest.pc.OnDataChannel(func(d *webrtc.DataChannel) {
		d.OnMessage(func(m webrtc.DataChannelMessage) {
			select {
			case message <- string(m.Data):
			default:
			}
		})
	})

	// When the guest joins, the host makes the offer (seed step 8).
	host.sio.On("user-joined", func(args []json.RawMessage) {
		var j struct{ ID string }
		_ = json.Unmarshal(args[0], &j)
		host.setRemotePeer(j.ID)
		offer, err := host.pc.CreateOffer(nil)
		if err == nil {
			err = host.pc.SetLocalDescription(offer)
		}
		if err != nil {
			t.Errorf("host offer: %v", err)
			return
		}
		_ = host.sio.Emit("offer", map[string]any{"to": j.ID, "offer": offer})
	})
	guest.sio.On("offer", func(args []json.RawMessage) {
		var m struct {
			From  string
			Offer webrtc.SessionDescription
		}
		_ = json.Unmarshal(args[0], &m)
		guest.setRemotePeer(m.From)
		if err := guest.pc.SetRemoteDescription(m.Offer); err != nil {
			t.Errorf("guest remote: %v", err)
			return
		}
		guest.flushCandidates()
		answer, err := guest.pc.CreateAnswer(nil)
		if err == nil {
			err = guest.pc.SetLocalDescription(answer)
		}
		if err != nil {
			t.Errorf("guest answer: %v", err)
			return
		}
		_ = guest.sio.Emit("answer", map[string]any{"to": m.From, "answer": answer})
	})
	host.sio.On("answer", func(args []json.RawMessage) {
		var m struct{ Answer webrtc.SessionDescription }
		_ = json.Unmarshal(args[0], &m)
		if err := host.pc.SetRemoteDescription(m.Answer); err != nil {
			t.Errorf("host remote: %v", err)
		}
		host.flushCandidates()
	})

	room := "pion-e2e"
	host.join(room)
	guest.join(room)

	// Send RTP until the guest has received some (seed step 10).
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		seq := uint16(0)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				seq++
				_ = track.WriteRTP(&rtp.Packet{
					Header:  rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, SSRC: 1234},
					Payload: []byte{0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a},
				})
			}
		}
	}()

	deadline := time.After(30 * time.Second)
	gotMessage := ""
	for rtpPackets.Load() < 10 || gotMessage == "" {
		select {
		case gotMessage = <-message:
		case <-deadline:
			t.Fatalf("no media: %d RTP packets received, data channel message %q, host ICE %s, guest ICE %s",
				rtpPackets.Load(), gotMessage, host.pc.ICEConnectionState(), guest.pc.ICEConnectionState())
		case <-time.After(50 * time.Millisecond):
		}
	}
	if gotMessage != "hello through huddle" {
		t.Fatalf("data channel message %q", gotMessage)
	}
	t.Logf("guest received %d RTP packets and the data channel message", rtpPackets.Load())
}

type pionPeer struct {
	t   *testing.T
	sio *sioclient.Client
	pc  *webrtc.PeerConnection

	mu      sync.Mutex
	remote  string
	pending []webrtc.ICECandidateInit // candidates that came before the remote description
	local   []webrtc.ICECandidateInit // candidates gathered before the peer was known
}

func newPionPeer(t *testing.T, url, name string) *pionPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, sioclient.Options{})
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetInterfaceFilter(func(iface string) bool { return iface == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pionPeer{t: t, sio: c, pc: pc}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand != nil {
			p.sendCandidate(cand.ToJSON())
		}
	})
	c.On("ice-candidate", func(args []json.RawMessage) {
		var m struct{ Candidate webrtc.ICECandidateInit }
		_ = json.Unmarshal(args[0], &m)
		p.addCandidate(m.Candidate)
	})
	return p
}

func (p *pionPeer) join(room string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := p.sio.EmitWithAck(ctx, "join-room", map[string]string{"room": room})
	if err != nil {
		p.t.Fatalf("join: %v", err)
	}
	var ack struct{ OK bool }
	if json.Unmarshal(res[0], &ack) != nil || !ack.OK {
		p.t.Fatalf("join refused: %s", res[0])
	}
}

func (p *pionPeer) setRemotePeer(id string) {
	p.mu.Lock()
	p.remote = id
	local := p.local
	p.local = nil
	p.mu.Unlock()
	for _, c := range local {
		p.sendCandidate(c)
	}
}

func (p *pionPeer) sendCandidate(c webrtc.ICECandidateInit) {
	p.mu.Lock()
	to := p.remote
	if to == "" {
		p.local = append(p.local, c)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = p.sio.Emit("ice-candidate", map[string]any{"to": to, "candidate": c})
}

func (p *pionPeer) addCandidate(c webrtc.ICECandidateInit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pc.RemoteDescription() == nil {
		p.pending = append(p.pending, c)
		return
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		p.t.Errorf("add candidate: %v", err)
	}
}

func (p *pionPeer) flushCandidates() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.pending {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.t.Errorf("add candidate: %v", err)
		}
	}
	p.pending = nil
}

func (p *pionPeer) close() {
	_ = p.pc.Close()
	_ = p.sio.Close()
}
