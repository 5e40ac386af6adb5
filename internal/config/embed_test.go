package config

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestEmbedOrigins(t *testing.T) {
	env := func(string) string { return "" }
	c, err := Parse(nil, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Embed.Enabled() {
		t.Errorf("framing allowed by default: %v", c.Embed.Origins)
	}
	c, err = Parse([]string{"--embed-origins", "https://Portal.Example.com/, http://127.0.0.1:5173,https://a.example:443,http://b.example:80,http://c.example:443,http://[::1]:3000"}, env, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://portal.example.com", "http://127.0.0.1:5173", "https://a.example", "http://b.example", "http://c.example:443", "http://[::1]:3000"}
	if !slices.Equal(c.Embed.Origins, want) {
		t.Errorf("origins %q, want %q", c.Embed.Origins, want)
	}
	fromEnv := func(k string) string {
		if k == "HUDDLE_EMBED_ORIGINS" {
			return "https://intranet.example"
		}
		return ""
	}
	if c, err = Parse(nil, fromEnv, &bytes.Buffer{}); err != nil || !slices.Equal(c.Embed.Origins, []string{"https://intranet.example"}) {
		t.Errorf("HUDDLE_EMBED_ORIGINS: %v, %v", c.Embed.Origins, err)
	}
	for _, bad := range []string{
		"*", "https://*.example.com", "portal.example.com", "https://portal.example.com/path",
		"ftp://portal.example.com", "https://user@portal.example.com", "'self'", "https://a.example;script-src",
		"https://a_b.example", "https://a.example?x=1",
	} {
		if _, err := Parse([]string{"--embed-origins", bad}, env, &bytes.Buffer{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("--embed-origins %q: err %v, want ErrInvalid", bad, err)
		}
	}
}
