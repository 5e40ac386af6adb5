package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelpExitsZeroOnStdout(t *testing.T) {
	for _, arg := range []string{"--help", "-h"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit %d", arg, code)
		}
		out := stdout.String()
		for _, want := range []string{"Usage: huddle", "--addr", "HUDDLE_ADDR", "--max-conns-per-ip", "--tls-self-signed"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: help lacks %q", arg, want)
			}
		}
		if stderr.Len() != 0 {
			t.Errorf("%s: stderr %q", arg, stderr.String())
		}
	}
}

func TestBadFlagsExitTwo(t *testing.T) {
	for _, args := range [][]string{{"--no-such-flag"}, {"--log-format", "xml"}, {"--max-conns-per-ip", "-3"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "huddle:") {
			t.Errorf("%q: no error on stderr: %q", args, stderr.String())
		}
	}
}
