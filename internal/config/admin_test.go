package config

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdminPassword(t *testing.T) {
	env := func(k string) string {
		if k == "HUDDLE_ADMIN_PASSWORD" {
			return "from-the-environment"
		}
		return ""
	}
	c, err := Parse(nil, env, io.Discard)
	if err != nil || c.Admin.Password != "from-the-environment" {
		t.Fatalf("from HUDDLE_ADMIN_PASSWORD: %q, %v", c.Admin.Password, err)
	}
	file := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(file, []byte("from-a-file-0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err = Parse([]string{"--admin-password-file", file}, func(string) string { return "" }, io.Discard); err != nil || c.Admin.Password != "from-a-file-0123" {
		t.Fatalf("from --admin-password-file: %q, %v", c.Admin.Password, err)
	}
	if c, err = Parse(nil, func(string) string { return "" }, io.Discard); err != nil || c.Admin.Password != "" {
		t.Fatalf("default: %q, %v", c.Admin.Password, err)
	}
	_, err = Parse([]string{"--admin-password", "short-pw"}, func(string) string { return "" }, io.Discard)
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "short-pw") {
		t.Fatalf("short password: %v (must be refused without repeating it)", err)
	}
}
