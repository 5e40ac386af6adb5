package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const secret32 = "0123456789abcdef0123456789abcdef"

func TestAuthFlags(t *testing.T) {
	keys := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(keys, []byte("first-key-0123456789, second-key-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse([]string{"--auth", "token", "--auth-secret", secret32, "--api-keys-file", keys,
		"--webhook-urls", "https://hooks.example.com/huddle", "--webhook-secret", "s"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.TokenMode() || len(c.Auth.APIKeys) != 2 || c.Auth.APIKeys[1] != "second-key-0123456789" || c.Auth.APIRate != 10 {
		t.Fatalf("%+v", c.Auth)
	}
	for name, args := range map[string][]string{
		"bad mode":           {"--auth", "jwt"},
		"token without keys": {"--auth", "token"},
		"short secret":       {"--auth-secret", "short"},
		"short api key":      {"--api-keys", "abc"},
		"hooks without sig":  {"--webhook-urls", "https://x.example.com/"},
		"hook not http":      {"--webhook-urls", "ftp://x.example.com/", "--webhook-secret", "s"},
		"zero api rate":      {"--api-rate", "0"},
	} {
		_, err := Parse(args, func(string) string { return "" }, io.Discard)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		} else if strings.Contains(err.Error(), "short") && name == "short secret" {
			t.Errorf("%s: the error repeats the secret: %v", name, err)
		}
	}
}
