package config

import (
	"errors"
	"io"
	"testing"
)

func TestFilesFlags(t *testing.T) {
	none := func(string) string { return "" }
	c, err := Parse(nil, none, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	fc := c.Files.Files()
	if !c.Files.Enabled || fc.MaxFileBytes != 25_000_000 || fc.MaxFilesPerMeeting != 100 || fc.Dir != "" {
		t.Errorf("defaults: %+v %+v", c.Files, fc)
	}
	env := func(k string) string {
		if k == "HUDDLE_CHAT_FILE_MAX_BYTES" {
			return "1000"
		}
		return ""
	}
	if c, err = Parse([]string{"--chat-files-dir", "/srv/x"}, env, io.Discard); err != nil || c.Files.MaxFileBytes != 1000 || c.Files.Dir != "/srv/x" {
		t.Errorf("from the environment and a flag: %+v %v", c.Files, err)
	}
	for _, args := range [][]string{
		{"--chat-file-max-bytes", "0"},
		{"--chat-files-per-meeting", "-1"},
		{"--chat-file-max-bytes", "2000", "--chat-files-meeting-bytes", "1000"},
		{"--chat-files-meeting-bytes", "1000000000", "--chat-files-total-bytes", "1000"},
	} {
		if _, err := Parse(args, none, io.Discard); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v", args, err)
		}
	}
}
