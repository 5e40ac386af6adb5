package config

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

func TestSignalingLimitFlags(t *testing.T) {
	c, err := Parse(nil, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Signaling
	if s.MaxParticipantsPerIP != 50 || s.RoomsPerIPPerMinute != 10 || s.ChatRoomBytes != 256<<10 || s.ChatServerBytes != 64<<20 {
		t.Fatalf("defaults %+v", s)
	}
	if s.ResumeKey != nil {
		t.Fatalf("resume key by default: %x", s.ResumeKey)
	}
	// A meeting holds 100 with the SFU, 8 in a mesh.
	if s.MaxParticipants != 100 || s.MeshLimit != 8 {
		t.Fatalf("participants %d, mesh limit %d; want 100 and 8", s.MaxParticipants, s.MeshLimit)
	}
	for args, want := range map[string]int{"--media mesh": 8, "--media sfu": 100, "--media mesh --mesh-max-participants 6": 6, "--media mesh --max-participants 4": 4} {
		c, err := Parse(strings.Fields(args), env(), io.Discard)
		if err != nil || c.Signaling.MaxParticipants != want {
			t.Errorf("%s: max participants %d (%v), want %d", args, c.Signaling.MaxParticipants, err, want)
		}
	}
	c, err = Parse([]string{"--max-participants-per-ip", "0", "--rooms-per-ip-per-minute", "3"}, env(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Signaling.MaxParticipantsPerIP >= 0 || c.Signaling.RoomsPerIPPerMinute != 3 {
		t.Fatalf("0 must mean no limit (negative in signaling.Config): %+v", c.Signaling)
	}
	c, err = Parse(nil, env("HUDDLE_ROOMS_PER_IP_PER_MINUTE", "0"), io.Discard)
	if err != nil || c.Signaling.RoomsPerIPPerMinute >= 0 {
		t.Fatalf("env 0: %v %+v", err, c.Signaling)
	}
	if _, err := Parse([]string{"--max-participants-per-ip", "-2"}, env(), io.Discard); err == nil {
		t.Fatal("negative limit accepted")
	}
}

func TestResumeKeyFlag(t *testing.T) {
	want := []byte("0123456789abcdef")
	for _, v := range []string{
		"30313233343536373839616263646566", // hex
		"MDEyMzQ1Njc4OWFiY2RlZg==",         // base64
		"MDEyMzQ1Njc4OWFiY2RlZg",           // unpadded
	} {
		c, err := Parse([]string{"--resume-key", v}, env(), io.Discard)
		if err != nil || !bytes.Equal(c.Signaling.ResumeKey, want) {
			t.Fatalf("%q: %v %q", v, err, c.Signaling.ResumeKey)
		}
	}
	c, err := Parse(nil, env("HUDDLE_RESUME_KEY", "30313233343536373839616263646566"), io.Discard)
	if err != nil || !bytes.Equal(c.Signaling.ResumeKey, want) {
		t.Fatalf("env: %v %q", err, c.Signaling.ResumeKey)
	}
	for _, bad := range []string{"short", "abcd", "not base64 or hex!!!!!!!!!!!!!!!!!"} {
		var out strings.Builder
		_, err := Parse([]string{"--resume-key", bad}, env(), &out)
		if err == nil {
			t.Fatalf("%q accepted", bad)
		}
		if strings.Contains(err.Error(), bad) || strings.Contains(out.String(), bad) {
			t.Fatalf("the refused key is echoed: %v / %s", err, out.String())
		}
	}
}
