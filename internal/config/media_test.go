package config

import (
	"bytes"
	"testing"

	"github.com/huddlehq/huddle/internal/media"
)

func TestMediaFlags(t *testing.T) {
	env := func(string) string { return "" }
	c, err := Parse(nil, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Media.Media(); m.Mode != media.Auto || m.SFU.UDPPort != 7882 || m.SFU.TCPPort != 7881 || m.SFU.NAT1To1IPs != nil {
		t.Errorf("defaults %+v, want auto, UDP 7882, TCP 7881, no public IP", m)
	}
	c, err = Parse([]string{"--turn-public-ip", "203.0.113.9"}, func(k string) string {
		return map[string]string{"HUDDLE_SFU_UDP": "0", "HUDDLE_SFU_TCP": "0"}[k]
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if m := c.Media.Media(); m.SFU.UDPPort != 0 || m.SFU.TCPPort != 0 || len(m.SFU.NAT1To1IPs) != 1 || m.SFU.NAT1To1IPs[0] != "203.0.113.9" {
		t.Errorf("HUDDLE_SFU_UDP=0 HUDDLE_SFU_TCP=0 --turn-public-ip 203.0.113.9: %+v, want no ports and the relay's address", m.SFU)
	}
	c, err = Parse([]string{"--media", "sfu", "--sfu-min-port", "40000", "--sfu-max-port", "40100", "--sfu-public-ip", "203.0.113.7"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Media.Media()
	if m.Mode != media.SFU || m.SFU.UDPPortMin != 40000 || m.SFU.UDPPortMax != 40100 || len(m.SFU.NAT1To1IPs) != 1 {
		t.Errorf("parsed %+v", m)
	}
	if d := c.Media.Media().SFU; d.AudioLoudest != 3 || d.AudioLoudestFrom != 10 {
		t.Errorf("audio defaults: loudest %d from %d, want 3 from 10", d.AudioLoudest, d.AudioLoudestFrom)
	}
	c, err = Parse([]string{"--sfu-audio-loudest", "0"}, func(k string) string {
		return map[string]string{"HUDDLE_SFU_AUDIO_LOUDEST_FROM": "25"}[k]
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Media.Media().SFU; d.AudioLoudest >= 0 || d.AudioLoudestFrom != 25 {
		t.Errorf("--sfu-audio-loudest 0, HUDDLE_SFU_AUDIO_LOUDEST_FROM=25: loudest %d from %d, want everyone's (negative) from 25", d.AudioLoudest, d.AudioLoudestFrom)
	}
	for _, bad := range [][]string{
		{"--sfu-audio-loudest", "-1"},
		{"--sfu-audio-loudest-from", "0"},
		{"--media", "p2p"},
		{"--sfu-min-port", "5000"},
		{"--sfu-min-port", "6000", "--sfu-max-port", "5000"},
		{"--sfu-min-port", "1", "--sfu-max-port", "70000"},
		{"--sfu-udp", "70000"},
		{"--sfu-tcp", "-1"},
	} {
		if _, err := Parse(bad, env, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
