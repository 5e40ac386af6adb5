package sfu

import (
	"strings"

	"github.com/pion/webrtc/v4"
)

// Opus with in-band FEC (a lost packet is rebuilt from the one after it)
// and DTX: a browser told usedtx=1 sends a packet every 400 ms while its
// microphone hears silence instead of fifty a second, and in a large room
// most microphones are silent.
const opusFmtp = "minptime=10;useinbandfec=1;usedtx=1"

// registerOpus registers our Opus before pion's defaults (pion keeps the
// first of two registrations of one codec). It is what subscribers are
// offered. The payload type is the one browsers offer, and pion's.
func registerOpus(m *webrtc.MediaEngine) error {
	return m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: opusFmtp,
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio)
}

// askForDTX adds usedtx=1 to the Opus formats of an answer to a
// publisher. Pion answers with the offer's parameters, and a browser's
// offer never asks for DTX itself; the browser's encoder follows what the
// answer asks for. Only the text sent changes: receiving needs nothing.
func askForDTX(sdp string) string {
	lines := strings.Split(sdp, "\r\n")
	opus := map[string]bool{}
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			pt, codec, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(strings.ToLower(codec), "opus/") {
				opus[pt] = true
			}
		}
	}
	for i, l := range lines {
		rest, ok := strings.CutPrefix(l, "a=fmtp:")
		if !ok {
			continue
		}
		pt, params, _ := strings.Cut(rest, " ")
		if opus[pt] && !strings.Contains(params, "usedtx=") {
			lines[i] = l + ";usedtx=1"
		}
	}
	return strings.Join(lines, "\r\n")
}
