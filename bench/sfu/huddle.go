package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/huddlehq/huddle/internal/sioclient"
	"github.com/pion/webrtc/v4"
)

// huddleClient is one participant of Huddle's SFU (internal/media's
// events): join-room with sfu: true, a publishing connection it offers
// (sfu-publish) and a receiving one the server offers (sfu-offer).
type huddleClient struct {
	api  *webrtc.API
	sock *sioclient.Client
	rcv  *receiver

	mu       sync.Mutex // serialises the receiving connection's negotiations
	pub, sub *webrtc.PeerConnection
	early    map[string][]webrtc.ICECandidateInit
	pubr     *publisher
	// work runs the server's offers and candidates in the order they
	// came, off the socket's reader.
	work *queue
}

func joinHuddle(ctx context.Context, g *gen, url, room, name string, publish bool, rcv *receiver) (participant, error) {
	c := &huddleClient{api: g.api, rcv: rcv, early: map[string][]webrtc.ICECandidateInit{}, work: newQueue()}
	var err error
	if c.sub, err = g.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return nil, err
	}
	sub := c.sub
	sub.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) { rcv.read(sub, tr, rx) })
	if publish {
		if c.pub, err = g.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
			c.close()
			return nil, err
		}
	}
	c.sock, err = sioclient.Dial(ctx, url, sioclient.Options{OnEvent: func(_ *sioclient.Client, ev string, args []json.RawMessage) { c.onEvent(ev, args) }})
	if err != nil {
		c.close()
		return nil, err
	}
	if err := c.ack(ctx, "join-room", map[string]any{"room": room, "name": name, "sfu": true}); err != nil {
		c.close()
		return nil, fmt.Errorf("join-room: %w", err)
	}
	if !publish {
		if err := c.ack(ctx, "sfu-subscribe", map[string]any{}); err != nil {
			c.close()
			return nil, fmt.Errorf("sfu-subscribe: %w", err)
		}
		return c, nil
	}
	if c.pubr, err = newPublisher(c.pub, name, &g.st.win); err != nil {
		c.close()
		return nil, err
	}
	connected := make(chan struct{})
	var once sync.Once
	c.pub.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := c.pub.CreateOffer(nil)
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(c.pub)
		err = c.pub.SetLocalDescription(offer)
		<-gathered
	}
	if err != nil {
		c.close()
		return nil, err
	}
	args, err := c.sock.EmitWithAck(ctx, "sfu-publish", map[string]string{"type": "offer", "sdp": c.pub.LocalDescription().SDP})
	var ans struct {
		OK   bool   `json:"ok"`
		SDP  string `json:"sdp"`
		Code string `json:"code"`
	}
	if err == nil && (len(args) == 0 || json.Unmarshal(args[0], &ans) != nil || !ans.OK) {
		err = fmt.Errorf("refused: %s", args)
	}
	if err == nil {
		c.mu.Lock()
		err = c.pub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP})
		c.flush("publish", c.pub)
		c.mu.Unlock()
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("sfu-publish: %w", err)
	}
	// Send once the media path is up, as the Galène client does.
	select {
	case <-connected:
	case <-ctx.Done():
		c.close()
		return nil, fmt.Errorf("sfu-publish: not connected: %w", ctx.Err())
	}
	go c.pubr.run()
	return c, nil
}

func (c *huddleClient) ack(ctx context.Context, ev string, v any) error {
	args, err := c.sock.EmitWithAck(ctx, ev, v)
	if err != nil {
		return err
	}
	var a struct {
		OK bool `json:"ok"`
	}
	if len(args) == 0 || json.Unmarshal(args[0], &a) != nil || !a.OK {
		return fmt.Errorf("refused: %s", args)
	}
	return nil
}

// onEvent runs on the socket's reader: the work goes to a goroutine, in
// order under c.mu.
func (c *huddleClient) onEvent(ev string, args []json.RawMessage) {
	if len(args) == 0 {
		return
	}
	switch ev {
	case "sfu-offer":
		var d struct{ Type, SDP string }
		if json.Unmarshal(args[0], &d) != nil {
			return
		}
		c.work.push(func() { c.answer(d.SDP) })
	case "sfu-candidate":
		var m struct {
			Direction string                  `json:"direction"`
			Candidate webrtc.ICECandidateInit `json:"candidate"`
		}
		if json.Unmarshal(args[0], &m) != nil {
			return
		}
		c.work.push(func() { c.candidate(m.Direction, m.Candidate) })
	}
}

func (c *huddleClient) conn(dir string) *webrtc.PeerConnection {
	if dir == "subscribe" {
		return c.sub
	}
	return c.pub
}

func (c *huddleClient) candidate(dir string, cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.conn(dir)
	if pc == nil {
		return
	}
	if pc.RemoteDescription() == nil {
		c.early[dir] = append(c.early[dir], cand)
		return
	}
	_ = pc.AddICECandidate(cand)
}

// flush adds the candidates that came before the description; c.mu is held.
func (c *huddleClient) flush(dir string, pc *webrtc.PeerConnection) {
	for _, cand := range c.early[dir] {
		_ = pc.AddICECandidate(cand)
	}
	delete(c.early, dir)
}

// answer answers the server's offer for the receiving connection once
// the generator's candidates are in it.
func (c *huddleClient) answer(sdp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	err := c.sub.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	c.flush("subscribe", c.sub)
	var answer webrtc.SessionDescription
	if err == nil {
		answer, err = c.sub.CreateAnswer(nil)
	}
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(c.sub)
		err = c.sub.SetLocalDescription(answer)
		<-gathered
	}
	if err == nil {
		err = c.sock.EmitAckFunc(func([]json.RawMessage, error) {}, "sfu-answer", map[string]string{"type": "answer", "sdp": c.sub.LocalDescription().SDP})
	}
	if err != nil && !errors.Is(err, sioclient.ErrClosed) {
		// The tracks of this offer never come: the pairs count shows it.
		debugf("huddle: answer: %v", err)
	}
}

func (c *huddleClient) publisher() *publisher { return c.pubr }

func (c *huddleClient) close() {
	if c.pubr != nil {
		c.pubr.close()
	}
	if c.sock != nil {
		_ = c.sock.Close()
	}
	c.work.stop()
	for _, pc := range []*webrtc.PeerConnection{c.pub, c.sub} {
		if pc != nil {
			_ = pc.Close()
		}
	}
}
