package server

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// upgradeServer serves h behind an upgradeListener, as Serve does, and
// returns its address.
func upgradeServer(t *testing.T, h http.Handler, headTimeout time.Duration) (string, *upgradeListener, chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ul := newUpgradeListener(ln, h, slog.New(slog.DiscardHandler), headTimeout, nil)
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ul) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String(), ul, done
}

const wsHead = "GET /ws?x=1 HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nOrigin: http://example.test\r\n\r\n"

// echoUpgrade hijacks upgrade requests, says which writer served them, and
// echoes what the client sent after the head; other requests get "plain".
func echoUpgrade(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			io.WriteString(w, "plain "+r.Method)
			return
		}
		_, fast := w.(*upgradeWriter)
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nX-Fast: %v\r\nX-Query: %s\r\nX-Origin: %s\r\nX-Remote: %v\r\n\r\n",
			fast, r.URL.Query().Get("x"), r.Header.Get("Origin"), r.RemoteAddr != "")
		line, _ := brw.Reader.ReadString('\n')
		io.WriteString(conn, "echo "+line)
	})
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c
}

func readResponse(t *testing.T, c net.Conn) (*http.Response, *bufio.Reader) {
	t.Helper()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp, br
}

func TestUpgradeListenerServesHandshakes(t *testing.T) {
	addr, _, _ := upgradeServer(t, echoUpgrade(t), time.Second)
	for _, split := range []bool{false, true} {
		c := dialRaw(t, addr)
		// The bytes after the head arrive with it, or the head comes in
		// two pieces; either way the handler gets all of it.
		if split {
			io.WriteString(c, wsHead[:30])
			time.Sleep(20 * time.Millisecond)
			io.WriteString(c, wsHead[30:])
			io.WriteString(c, "early bytes\n")
		} else {
			io.WriteString(c, wsHead+"early bytes\n")
		}
		resp, br := readResponse(t, c)
		if resp.StatusCode != 101 || resp.Header.Get("X-Fast") != "true" {
			t.Fatalf("split=%v: status %d, fast path %q", split, resp.StatusCode, resp.Header.Get("X-Fast"))
		}
		if resp.Header.Get("X-Query") != "1" || resp.Header.Get("X-Origin") != "http://example.test" || resp.Header.Get("X-Remote") != "true" {
			t.Errorf("request lost on the way: %v", resp.Header)
		}
		if line, _ := br.ReadString('\n'); line != "echo early bytes\n" {
			t.Errorf("split=%v: echo %q", split, line)
		}
	}
}

func TestUpgradeListenerHandsOverOtherRequests(t *testing.T) {
	addr, _, _ := upgradeServer(t, echoUpgrade(t), time.Second)
	client := &http.Client{Timeout: 5 * time.Second}
	for _, method := range []string{"GET", "POST", "GET"} { // the last on a kept-alive connection
		req, _ := http.NewRequest(method, "http://"+addr+"/page", strings.NewReader("body"))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "plain "+method {
			t.Errorf("%s: %q", method, b)
		}
	}

	// Handshakes net/http must judge: a head too long for the fast path,
	// and one without Host (net/http refuses it).
	c := dialRaw(t, addr)
	long := strings.Replace(wsHead, "\r\n\r\n", "\r\nX-Pad: "+strings.Repeat("a", maxFastHead)+"\r\n\r\n", 1)
	io.WriteString(c, long+"tail\n")
	resp, br := readResponse(t, c)
	if resp.StatusCode != 101 || resp.Header.Get("X-Fast") != "false" {
		t.Fatalf("long head: status %d, fast path %q", resp.StatusCode, resp.Header.Get("X-Fast"))
	}
	if line, _ := br.ReadString('\n'); line != "echo tail\n" {
		t.Errorf("long head: echo %q", line)
	}
	c = dialRaw(t, addr)
	io.WriteString(c, strings.Replace(wsHead, "Host: example.test\r\n", "", 1))
	if resp, _ := readResponse(t, c); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no Host: status %d, want 400", resp.StatusCode)
	}
}

func TestUpgradeListenerWritesRefusals(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Why", "origin")
		http.Error(w, "origin not allowed", http.StatusForbidden)
	})
	addr, _, _ := upgradeServer(t, h, time.Second)
	c := dialRaw(t, addr)
	io.WriteString(c, wsHead)
	resp, br := readResponse(t, c)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || string(body) != "origin not allowed\n" || resp.Header.Get("X-Why") != "origin" || !resp.Close {
		t.Fatalf("refusal: %d %q %v close=%v", resp.StatusCode, body, resp.Header, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("connection left open after a refusal: %v", err)
	}
}

func TestUpgradeListenerSurvivesPanicsAndSilence(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("x") == "1" {
			panic("handler bug")
		}
		io.WriteString(w, "fine")
	})
	addr, _, _ := upgradeServer(t, h, 100*time.Millisecond)
	c := dialRaw(t, addr)
	io.WriteString(c, wsHead)
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a panicking handler's connection got an answer")
	}
	// Silent past the head timeout: closed.
	c = dialRaw(t, addr)
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("silent connection: err %v after %v", err, time.Since(start))
	}
	// And the server goes on.
	c = dialRaw(t, addr)
	io.WriteString(c, strings.Replace(wsHead, "?x=1", "?x=2", 1))
	resp, _ := readResponse(t, c)
	if b, _ := io.ReadAll(resp.Body); string(b) != "fine" {
		t.Errorf("after the panic: %d %q", resp.StatusCode, b)
	}
}

func TestUpgradeListenerClose(t *testing.T) {
	_, ul, done := upgradeServer(t, echoUpgrade(t), time.Second)
	if err := ul.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("Serve returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	if _, err := ul.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v", err)
	}
}
