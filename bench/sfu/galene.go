package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lxzan/gws"
	"github.com/pion/webrtc/v4"
)

// galeneClient is one participant of Galène, driven by its protocol
// (galene-protocol.md in the anchor's folder): a WebSocket of JSON
// messages, one peer connection per stream, the sender of a stream
// always the offerer.
type galeneClient struct {
	gws.BuiltinEventHandler
	api    *webrtc.API
	rcv    *receiver
	id     string
	user   string
	ws     *gws.Conn
	wmu    sync.Mutex
	joined chan error

	mu    sync.Mutex
	pcs   map[string]*webrtc.PeerConnection // by stream id
	early map[string][]webrtc.ICECandidateInit
	pubr  *publisher
	// work runs the SDP and ICE messages in the order they came, off the
	// socket's reader: a close must not overtake the offer it closes.
	work *queue
}

// galeneMsg is the subset of Galène's message fields the generator uses.
type galeneMsg struct {
	Type      string                   `json:"type"`
	Kind      string                   `json:"kind,omitempty"`
	ID        string                   `json:"id,omitempty"`
	Source    string                   `json:"source,omitempty"`
	Username  string                   `json:"username,omitempty"`
	Password  string                   `json:"password,omitempty"`
	Group     string                   `json:"group,omitempty"`
	Label     string                   `json:"label,omitempty"`
	SDP       string                   `json:"sdp,omitempty"`
	Version   []string                 `json:"version,omitempty"`
	Request   map[string][]string      `json:"request,omitempty"`
	Candidate *webrtc.ICECandidateInit `json:"candidate,omitempty"`
	Value     any                      `json:"value,omitempty"`
	Error     string                   `json:"error,omitempty"`
}

var galeneIDs sync.Mutex
var galeneNext int

func newGaleneID(prefix string) string {
	galeneIDs.Lock()
	defer galeneIDs.Unlock()
	galeneNext++
	return fmt.Sprintf("%s%d-%d", prefix, time.Now().UnixNano()%1e6, galeneNext)
}

func joinGalene(ctx context.Context, g *gen, base, group, name string, publish bool, rcv *receiver) (participant, error) {
	c := &galeneClient{api: g.api, rcv: rcv, id: newGaleneID("c"), user: name, joined: make(chan error, 1),
		pcs: map[string]*webrtc.PeerConnection{}, early: map[string][]webrtc.ICECandidateInit{},
		work: newQueue()}
	endpoint, err := galeneEndpoint(ctx, base, group)
	if err != nil {
		return nil, err
	}
	c.ws, _, err = gws.NewClient(c, &gws.ClientOption{Addr: endpoint, HandshakeTimeout: 10 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("galene websocket: %w", err)
	}
	go c.ws.ReadLoop()
	c.send(galeneMsg{Type: "handshake", Version: []string{"2"}, ID: c.id})
	c.send(galeneMsg{Type: "join", Kind: "join", Group: group, Username: name, Password: "x"})
	select {
	case err = <-c.joined:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		c.close()
		return nil, fmt.Errorf("galene join: %w", err)
	}
	c.send(galeneMsg{Type: "request", Request: map[string][]string{"": {"audio", "video"}}})
	if publish {
		if err := c.publish(ctx, g); err != nil {
			c.close()
			return nil, fmt.Errorf("galene publish: %w", err)
		}
	}
	return c, nil
}

// galeneEndpoint reads the group's status for its WebSocket endpoint.
func galeneEndpoint(ctx context.Context, base, group string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/group/"+group+"/.status", nil)
	if err != nil {
		return "", err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var st struct {
		Endpoint string `json:"endpoint"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || st.Endpoint == "" {
		return "", fmt.Errorf("galene status of %s: %d %v", group, res.StatusCode, err)
	}
	return st.Endpoint, nil
}

func (c *galeneClient) send(m galeneMsg) {
	b, _ := json.Marshal(m)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.WriteMessage(gws.OpcodeText, b)
}

// publish offers one stream (camera and microphone) on a connection of
// its own and waits for Galène's answer.
func (c *galeneClient) publish(ctx context.Context, g *gen) error {
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return err
	}
	sid := newGaleneID("s")
	c.mu.Lock()
	c.pcs[sid] = pc
	c.mu.Unlock()
	if c.pubr, err = newPublisher(pc, c.user, &g.st.win); err != nil {
		return err
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return err
	}
	<-gathered
	c.send(galeneMsg{Type: "offer", ID: sid, Label: "camera", Source: c.id, Username: c.user, SDP: pc.LocalDescription().SDP})
	// The answer comes as a message; wait for the media path to be up,
	// as Huddle's client waits for its ack.
	select {
	case <-connected:
	case <-ctx.Done():
		return ctx.Err()
	}
	go c.pubr.run()
	return nil
}

// OnMessage handles Galène's messages on the socket's reader; SDP work
// goes to goroutines.
func (c *galeneClient) OnMessage(_ *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	var m galeneMsg
	if err := json.Unmarshal(msg.Bytes(), &m); err != nil {
		return
	}
	if os.Getenv("SFUBENCH_DEBUG") != "" && m.Type != "ice" && m.Type != "offer" && m.Type != "answer" {
		fmt.Fprintf(os.Stderr, "galene %s: %s\n", c.user, msg.Bytes())
	}
	switch m.Type {
	case "ping":
		c.send(galeneMsg{Type: "pong"})
	case "joined":
		switch m.Kind {
		case "join":
			c.signalJoined(nil)
		case "fail":
			c.signalJoined(fmt.Errorf("refused: %s %v", m.Error, m.Value))
		}
	case "offer":
		debugf("galene %s: offer %s", c.user, m.ID)
		c.work.push(func() { c.answer(m.ID, m.SDP) })
	case "answer":
		c.work.push(func() { c.setAnswer(m.ID, m.SDP) })
	case "ice":
		if m.Candidate != nil {
			c.work.push(func() { c.candidate(m.ID, *m.Candidate) })
		}
	case "close":
		c.work.push(func() {
			c.mu.Lock()
			pc := c.pcs[m.ID]
			delete(c.pcs, m.ID)
			delete(c.early, m.ID)
			c.mu.Unlock()
			if pc != nil {
				_ = pc.Close()
			}
		})
	}
}

func (c *galeneClient) OnClose(*gws.Conn, error) { c.signalJoined(fmt.Errorf("websocket closed")) }

func (c *galeneClient) signalJoined(err error) {
	select {
	case c.joined <- err:
	default:
	}
}

// answer answers a stream Galène offers, on a new connection (or the
// stream's own, on renegotiation).
func (c *galeneClient) answer(id, sdp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.pcs[id]
	if pc == nil {
		var err error
		if pc, err = c.api.NewPeerConnection(webrtc.Configuration{}); err != nil {
			return
		}
		c.pcs[id] = pc
		p := pc
		pc.OnTrack(func(tr *webrtc.TrackRemote, rx *webrtc.RTPReceiver) {
			debugf("galene %s: %s track %s", c.user, id, tr.Kind())
			c.rcv.read(p, tr, rx)
		})
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { debugf("galene %s: %s %s", c.user, id, s) })
	}
	err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
	c.flush(id, pc)
	var ans webrtc.SessionDescription
	if err == nil {
		ans, err = pc.CreateAnswer(nil)
	}
	if err == nil {
		gathered := webrtc.GatheringCompletePromise(pc)
		err = pc.SetLocalDescription(ans)
		<-gathered
	}
	if err != nil {
		if os.Getenv("SFUBENCH_DEBUG") != "" {
			fmt.Fprintf(os.Stderr, "galene %s: answer %s: %v\n", c.user, id, err)
		}
		c.send(galeneMsg{Type: "abort", ID: id})
		return
	}
	c.send(galeneMsg{Type: "answer", ID: id, SDP: pc.LocalDescription().SDP})
}

func (c *galeneClient) setAnswer(id, sdp string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pc := c.pcs[id]; pc != nil {
		_ = pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
		c.flush(id, pc)
	}
}

func (c *galeneClient) candidate(id string, cand webrtc.ICECandidateInit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	pc := c.pcs[id]
	if pc == nil || pc.RemoteDescription() == nil {
		c.early[id] = append(c.early[id], cand)
		return
	}
	_ = pc.AddICECandidate(cand)
}

// flush adds candidates that came before their description; c.mu is held.
func (c *galeneClient) flush(id string, pc *webrtc.PeerConnection) {
	for _, cand := range c.early[id] {
		_ = pc.AddICECandidate(cand)
	}
	delete(c.early, id)
}

func (c *galeneClient) publisher() *publisher { return c.pubr }

func (c *galeneClient) close() {
	if c.pubr != nil {
		c.pubr.close()
	}
	if c.ws != nil {
		_ = c.ws.WriteClose(1000, nil)
		_ = c.ws.NetConn().Close()
	}
	c.mu.Lock()
	pcs := c.pcs
	c.pcs = map[string]*webrtc.PeerConnection{}
	c.mu.Unlock()
	c.work.stop()
	for _, pc := range pcs {
		_ = pc.Close()
	}
}

// galeneGroups writes a group per meeting, each as open as the anchor's
// "lt" (any name, any password, everyone may publish).
func galeneGroupFile(name string) (string, []byte) {
	return strings.TrimSuffix(name, ".json") + ".json", []byte(`{"wildcard-user":{"password":{"type":"wildcard"},"permissions":"present"}}`)
}

func debugf(format string, args ...any) {
	if os.Getenv("SFUBENCH_DEBUG") != "" {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}
}
