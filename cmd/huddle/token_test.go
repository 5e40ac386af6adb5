package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/auth"
)

const cliSecret = "cli-test-secret-0123456789abcdef"

func TestTokenCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--room", "standup", "--name", "Ada", "--role", "host", "--ttl", "2h",
		"--public-url", "https://meet.example.com/", "--auth-secret", cliSecret}
	if code := runToken(args, func(string) string { return "" }, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 || lines[1] != "https://meet.example.com/standup?token="+lines[0] {
		t.Fatalf("output %q", stdout.String())
	}
	v, _ := auth.NewVerifier(auth.Config{Secret: []byte(cliSecret)})
	g, err := v.Verify(lines[0], "standup")
	if err != nil || g.Role != auth.RoleHost || g.Name != "Ada" {
		t.Fatalf("token: %+v %v", g, err)
	}
	if d := time.Until(g.Expires); d < 119*time.Minute || d > 2*time.Hour {
		t.Fatalf("expires in %v", d)
	}
}

func TestTokenCommandReadsTheSecretAsTheServerDoes(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte(cliSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HUDDLE_AUTH_SECRET_FILE": file}
	var stdout, stderr bytes.Buffer
	if code := runToken([]string{"--room", "r"}, func(k string) string { return env[k] }, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	v, _ := auth.NewVerifier(auth.Config{Secret: []byte(cliSecret)})
	if g, err := v.Verify(strings.TrimSpace(stdout.String()), "r"); err != nil || g.Role != auth.RoleGuest {
		t.Fatalf("%+v %v", g, err)
	}
}

func TestTokenCommandErrors(t *testing.T) {
	for name, args := range map[string][]string{
		"no room":      {"--auth-secret", cliSecret},
		"no secret":    {"--room", "r"},
		"short secret": {"--room", "r", "--auth-secret", "short"},
		"bad role":     {"--room", "r", "--role", "admin", "--auth-secret", cliSecret},
		"bad ttl":      {"--room", "r", "--ttl", "-1h", "--auth-secret", cliSecret},
	} {
		var stdout, stderr bytes.Buffer
		if code := runToken(args, func(string) string { return "" }, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d", name, code)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "huddle token:") || strings.Contains(stderr.String(), cliSecret) {
			t.Errorf("%s: stdout %q stderr %q", name, stdout.String(), stderr.String())
		}
	}
	// Through run, as the binary is called.
	var stdout, stderr bytes.Buffer
	if code := run([]string{"token", "--help"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "huddle token --room") {
		t.Errorf("help: %d %q", code, stdout.String())
	}
}
