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
	if m := c.Media.Media(); m.Mode != media.Auto {
		t.Errorf("default mode %q, want auto", m.Mode)
	}
	c, err = Parse([]string{"--media", "sfu", "--sfu-min-port", "40000", "--sfu-max-port", "40100", "--sfu-public-ip", "203.0.113.7"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	m := c.Media.Media()
	if m.Mode != media.SFU || m.SFU.UDPPortMin != 40000 || m.SFU.UDPPortMax != 40100 || len(m.SFU.NAT1To1IPs) != 1 {
		t.Errorf("parsed %+v", m)
	}
	for _, bad := range [][]string{
		{"--media", "p2p"},
		{"--sfu-min-port", "5000"},
		{"--sfu-min-port", "6000", "--sfu-max-port", "5000"},
		{"--sfu-min-port", "1", "--sfu-max-port", "70000"},
	} {
		if _, err := Parse(bad, env, &bytes.Buffer{}); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
