package turn

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// A pion peer for the call tests: it connects over ICE with the given
// servers and policy, exchanges data-channel messages and reports the
// selected candidate pair. Signaling is a function so the same peer runs
// in process (channels) and inside network namespaces (files).

// callReport is what one side of a call saw.
type callReport struct {
	Connected  bool   `json:"connected"`
	LocalType  string `json:"local"`
	RemoteType string `json:"remote"`
	Echoes     int    `json:"echoes"`
	Gathered   string `json:"gathered"` // local candidate types, e.g. "host srflx"
	Error      string `json:"error,omitempty"`
}

const callMessages = 5

// exchange sends our session description and returns the other side's.
type exchange func(ctx context.Context, mine webrtc.SessionDescription) (webrtc.SessionDescription, error)

func toICEServers(servers []ICEServer) []webrtc.ICEServer {
	out := make([]webrtc.ICEServer, 0, len(servers))
	for _, s := range servers {
		out = append(out, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}

func newPeer(servers []ICEServer, policy string) (*webrtc.PeerConnection, error) {
	var se webrtc.SettingEngine
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeTCP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	p := webrtc.ICETransportPolicyAll
	if policy == PolicyRelay {
		p = webrtc.ICETransportPolicyRelay
	}
	return api.NewPeerConnection(webrtc.Configuration{ICEServers: toICEServers(servers), ICETransportPolicy: p})
}

// runPeer plays one side of a call until the messages have been echoed or
// ctx ends. The offerer sends numbered messages, the answerer echoes them.
func runPeer(ctx context.Context, offerer bool, servers []ICEServer, policy string, signal exchange) callReport {
	pc, err := newPeer(servers, policy)
	if err != nil {
		return callReport{Error: err.Error()}
	}
	defer pc.Close()

	connected := make(chan struct{})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	echoed := make(chan string, callMessages)
	if offerer {
		dc, err := pc.CreateDataChannel("chat", nil)
		if err != nil {
			return callReport{Error: err.Error()}
		}
		dc.OnOpen(func() {
			for i := range callMessages {
				dc.SendText(fmt.Sprintf("ping %d", i))
			}
		})
		dc.OnMessage(func(m webrtc.DataChannelMessage) { echoed <- string(m.Data) })
	} else {
		pc.OnDataChannel(func(dc *webrtc.DataChannel) {
			dc.OnMessage(func(m webrtc.DataChannelMessage) {
				dc.SendText("echo " + string(m.Data))
				echoed <- string(m.Data)
			})
		})
	}

	if err := negotiate(ctx, pc, offerer, signal); err != nil {
		return callReport{Error: err.Error()}
	}
	var rep callReport
	if d := pc.LocalDescription(); d != nil {
		rep.Gathered = candidateTypes(d.SDP)
	}
	select {
	case <-connected:
		rep.Connected = true
	case <-ctx.Done():
		rep.Error = "ICE did not connect: " + ctx.Err().Error()
		return rep
	}
	for rep.Echoes < callMessages {
		select {
		case m := <-echoed:
			want := fmt.Sprintf("ping %d", rep.Echoes)
			if offerer {
				want = "echo " + want
			}
			if m != want {
				rep.Error = fmt.Sprintf("message %q, want %q", m, want)
				return rep
			}
			rep.Echoes++
		case <-ctx.Done():
			rep.Error = fmt.Sprintf("only %d of %d messages: %v", rep.Echoes, callMessages, ctx.Err())
			return rep
		}
	}
	if pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
		rep.LocalType, rep.RemoteType = pair.Local.Typ.String(), pair.Remote.Typ.String()
	}
	if !offerer {
		time.Sleep(200 * time.Millisecond) // let the last echo leave before closing
	}
	return rep
}

// negotiate does a non-trickle offer/answer: descriptions are sent once
// gathering is complete, so one exchange carries every candidate.
func negotiate(ctx context.Context, pc *webrtc.PeerConnection, offerer bool, signal exchange) error {
	gathered := webrtc.GatheringCompletePromise(pc)
	if offerer {
		offer, err := pc.CreateOffer(nil)
		if err != nil {
			return err
		}
		if err := pc.SetLocalDescription(offer); err != nil {
			return err
		}
		if err := wait(ctx, gathered); err != nil {
			return err
		}
		answer, err := signal(ctx, *pc.LocalDescription())
		if err != nil {
			return err
		}
		return pc.SetRemoteDescription(answer)
	}
	offer, err := signal(ctx, webrtc.SessionDescription{})
	if err != nil {
		return err
	}
	if err := pc.SetRemoteDescription(offer); err != nil {
		return err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return err
	}
	if err := wait(ctx, gathered); err != nil {
		return err
	}
	_, err = signal(ctx, *pc.LocalDescription())
	return err
}

// candidateTypes lists the distinct candidate types in an SDP.
func candidateTypes(sdp string) string {
	var types []string
	for _, typ := range []string{"host", "srflx", "relay"} {
		if strings.Contains(sdp, " typ "+typ) {
			types = append(types, typ)
		}
	}
	return strings.Join(types, " ")
}

func wait(ctx context.Context, done <-chan struct{}) error {
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("ICE gathering did not complete")
	}
}

// callInProcess runs both peers here, signaling over channels.
func callInProcess(ctx context.Context, servers []ICEServer, policy string) (offer, answer callReport) {
	offers, answers := make(chan webrtc.SessionDescription, 1), make(chan webrtc.SessionDescription, 1)
	offerSide := func(ctx context.Context, mine webrtc.SessionDescription) (webrtc.SessionDescription, error) {
		offers <- mine
		select {
		case a := <-answers:
			return a, nil
		case <-ctx.Done():
			return webrtc.SessionDescription{}, ctx.Err()
		}
	}
	answerSide := func(ctx context.Context, mine webrtc.SessionDescription) (webrtc.SessionDescription, error) {
		if mine.SDP != "" {
			answers <- mine
			return webrtc.SessionDescription{}, nil
		}
		select {
		case o := <-offers:
			return o, nil
		case <-ctx.Done():
			return webrtc.SessionDescription{}, ctx.Err()
		}
	}
	done := make(chan callReport, 1)
	go func() { done <- runPeer(ctx, false, servers, policy, answerSide) }()
	offer = runPeer(ctx, true, servers, policy, offerSide)
	answer = <-done
	return offer, answer
}
