package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHealthcheckExitStatus(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := func(k string) string {
		if k == "HUDDLE_ADDR" {
			return ":" + port // as the server's own environment says it
		}
		return ""
	}
	check := func(want int, args ...string) string {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := runHealthcheck(args, env, &stdout, &stderr); code != want {
			t.Errorf("%q (status %d): exit %d, want %d; stderr %q", args, status, code, want, stderr.String())
		}
		return stderr.String()
	}
	check(0)
	check(0, "--addr", "127.0.0.1:"+port)
	status = http.StatusServiceUnavailable
	if msg := check(1); !strings.Contains(msg, "503") {
		t.Errorf("stderr %q does not say the status", msg)
	}
	status = http.StatusOK
	check(1, "--healthcheck-url", srv.URL+"/nothing")
	check(2, "--addr", "no-port")
	check(2, "--healthcheck-url", "ftp://x/")

	// Nobody listening: a quick 1, not a hang.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	check(1, "--addr", addr, "--healthcheck-timeout", "2s")
}

func TestHealthcheckTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	env := func(k string) string {
		switch k {
		case "HUDDLE_ADDR":
			return srv.Listener.Addr().String()
		case "HUDDLE_TLS_SELF_SIGNED":
			return "true"
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	if code := runHealthcheck(nil, env, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestVersionFlag(t *testing.T) {
	old := version
	version = "v1.2.3-4-gabcdef"
	defer func() { version = old }()
	for _, arg := range []string{"--version", "version"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{arg}, &stdout, &stderr); code != 0 {
			t.Fatalf("%s: exit %d: %s", arg, code, stderr.String())
		}
		if got := stdout.String(); got != "huddle v1.2.3-4-gabcdef\n" {
			t.Errorf("%s: %q", arg, got)
		}
	}
	version = ""
	var stdout bytes.Buffer
	run([]string{"--version"}, &stdout, &stdout)
	if !strings.HasPrefix(stdout.String(), "huddle ") || len(stdout.String()) < len("huddle x\n") {
		t.Errorf("without a linked version: %q", stdout.String())
	}
}
