package turn

import (
	"net"
	"testing"
)

func TestPublicPeer(t *testing.T) {
	cases := map[string]bool{
		"8.8.8.8":                true,
		"203.0.113.5":            true, // documentation range: not routable, not harmful
		"2606:4700::1111":        true,
		"127.0.0.1":              false,
		"127.8.9.10":             false,
		"::1":                    false,
		"::ffff:127.0.0.1":       false,
		"::ffff:10.0.0.1":        false,
		"10.1.2.3":               false,
		"172.16.0.1":             false,
		"172.31.255.255":         false,
		"192.168.1.1":            false,
		"fc00::1":                false,
		"fd12:3456::1":           false,
		"169.254.169.254":        false, // cloud metadata
		"fe80::1":                false,
		"224.0.0.1":              false,
		"239.255.255.250":        false,
		"ff02::1":                false,
		"0.0.0.0":                false,
		"0.1.2.3":                false,
		"::":                     false,
		"100.64.0.1":             false,
		"100.127.255.254":        false,
		"255.255.255.255":        false,
		"64:ff9b::7f00:1":        false,
		"2002:7f00:1::":          false,
		"172.32.0.1":             true,
		"100.128.0.1":            true,
		"2001:db8::1":            true,
		"2001:0:4136:e378::":     false,
		"::ffff:0:7f00:1":        false,
		"198.18.0.1":             false,
		"192.0.0.8":              false,
		"11.0.0.1":               true,
		"192.169.0.1":            true,
		"fec0::1":                false, // deprecated site-local, outside 2000::/3
		"2001:4860:4860::8888":   true,
		"::ffff:8.8.8.8":         true,
		"1.1.1.1":                true,
		"9.255.255.255":          true,
		"169.253.255.255":        true,
		"223.255.255.255":        true,
		"126.255.255.255":        true,
		"128.0.0.1":              true,
		"2000::1":                true,
		"3fff:ffff:ffff:ffff::1": true,
		"fbff:ffff:ffff:ffff::1": false, // not global unicast
	}
	for s, want := range cases {
		ip := net.ParseIP(s)
		if ip == nil {
			t.Fatalf("bad test address %q", s)
		}
		if got := PublicPeer(ip); got != want {
			t.Errorf("PublicPeer(%s) = %v, want %v", s, got, want)
		}
	}
	if PublicPeer(nil) {
		t.Error("PublicPeer(nil) = true")
	}
}
