package sioclient

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// startNode runs a Node.js socket.io server script (relative to the repo
// root) on a free port and returns its URL. The tests talk to the real
// socket.io 4.8.4 from the repository's node_modules.
func startNode(t testing.TB, script string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is needed to run the reference server: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(node, filepath.Join(root, script), "--port", fmt.Sprint(port))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(url + "/healthz")
		if err == nil {
			res.Body.Close()
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not start: %v\n%s", script, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dial(t testing.TB, url string, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ackMap(t testing.TB, args []json.RawMessage) map[string]any {
	t.Helper()
	if len(args) != 1 {
		t.Fatalf("ack has %d args, want 1", len(args))
	}
	var m map[string]any
	if err := json.Unmarshal(args[0], &m); err != nil {
		t.Fatalf("ack %s: %v", args[0], err)
	}
	return m
}

// events collects events into a channel so tests can wait for them.
type events chan struct {
	name string
	args []json.RawMessage
}

func (e events) handler(name string) func([]json.RawMessage) {
	return func(args []json.RawMessage) {
		e <- struct {
			name string
			args []json.RawMessage
		}{name, args}
	}
}

func (e events) next(t testing.TB, want string) []json.RawMessage {
	t.Helper()
	select {
	case ev := <-e:
		if ev.name != want {
			t.Fatalf("got event %q %s, want %q", ev.name, ev.args, want)
		}
		return ev.args
	case <-time.After(5 * time.Second):
		t.Fatalf("no %q event within 5s", want)
	}
	return nil
}

func TestJoinAndRelayAgainstReference(t *testing.T) {
	url := startNode(t, "bench/reference/server.mjs")
	for _, tr := range []Transport{WebSocket, Polling} {
		t.Run(string(tr), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			a := dial(t, url, Options{Transport: tr})
			b := dial(t, url, Options{Transport: tr})
			evA := make(events, 100)
			a.On("user-joined", evA.handler("user-joined"))
			a.On("ice-candidate", evA.handler("ice-candidate"))

			room := "room-" + string(tr)
			args, err := a.EmitWithAck(ctx, "join-room", room)
			if err != nil {
				t.Fatal(err)
			}
			if m := ackMap(t, args); m["ok"] != true || m["id"] != a.ID() {
				t.Fatalf("join ack %v, want ok and id %s", m, a.ID())
			}
			args, err = b.EmitWithAck(ctx, "join-room", map[string]any{"room": room, "name": "Bob"})
			if err != nil {
				t.Fatal(err)
			}
			if peers := ackMap(t, args)["peers"].([]any); len(peers) != 1 {
				t.Fatalf("peers %v, want a", peers)
			}
			var joined struct{ ID, Name string }
			json.Unmarshal(evA.next(t, "user-joined")[0], &joined)
			if joined.ID != b.ID() || joined.Name != "Bob" {
				t.Fatalf("user-joined %+v, want b Bob", joined)
			}

			// Events from one socket arrive in the order sent.
			const n = 50
			for i := range n {
				if err := b.Emit("ice-candidate", map[string]any{"to": a.ID(), "candidate": map[string]int{"seq": i}}); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				var got struct {
					From      string
					Candidate struct{ Seq int }
				}
				json.Unmarshal(evA.next(t, "ice-candidate")[0], &got)
				if got.From != b.ID() || got.Candidate.Seq != i {
					t.Fatalf("candidate %d: got %+v", i, got)
				}
			}

			// A refusal comes back in the ack.
			args, err = b.EmitWithAck(ctx, "offer", map[string]any{"to": "nobody", "offer": "x"})
			if err != nil {
				t.Fatal(err)
			}
			if e, _ := ackMap(t, args)["error"].(map[string]any); e["code"] != "unknown-peer" {
				t.Fatalf("offer to nobody: ack %s, want unknown-peer", args[0])
			}
		})
	}
}

func TestAuthEchoAndServerAck(t *testing.T) {
	url := startNode(t, "internal/sioclient/testdata/echo.mjs")
	for _, tr := range []Transport{WebSocket, Polling} {
		t.Run(string(tr), func(t *testing.T) {
			ev := make(events, 10)
			c := dial(t, url, Options{Transport: tr, Auth: map[string]string{"token": "good"}, OnEvent: func(_ *Client, name string, args []json.RawMessage) {
				ev.handler(name)(args)
			}})
			if got := string(ev.next(t, "auth")[0]); got != `{"token":"good"}` {
				t.Fatalf("server saw auth %s", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			args, err := c.EmitWithAck(ctx, "echo", "hé", 1, map[string]bool{"x": true})
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%s", args); got != `[["hé" 1 {"x":true}]]` && got != `["hé" 1 {"x":true}]` {
				t.Fatalf("echo ack %s", got)
			}
			c.Emit("ask")
			if got := string(ev.next(t, "question")[0]); got != "42" {
				t.Fatalf("question %s", got)
			}
			if got := string(ev.next(t, "answered")[0]); got != "null" { // ack() resolves emitWithAck with undefined
				t.Fatalf("server got ack %s, want the empty ack", got)
			}
		})
	}
}

func TestConnectErrorIsReturnedByDial(t *testing.T) {
	url := startNode(t, "internal/sioclient/testdata/echo.mjs")
	for _, tr := range []Transport{WebSocket, Polling} {
		_, err := Dial(context.Background(), url, Options{Transport: tr, Auth: map[string]string{"token": "bad"}})
		var ce *ConnectError
		if !errors.As(err, &ce) || ce.Message != "denied by test" || !strings.Contains(string(ce.Data), "bad token") {
			t.Fatalf("%s: Dial err %v, want ConnectError denied by test", tr, err)
		}
	}
}

func TestServerDisconnectAndPingsKeepAlive(t *testing.T) {
	url := startNode(t, "internal/sioclient/testdata/echo.mjs")
	for _, tr := range []Transport{WebSocket, Polling} {
		t.Run(string(tr), func(t *testing.T) {
			gone := make(chan error, 1)
			c := dial(t, url, Options{Transport: tr, OnDisconnect: func(_ *Client, err error) { gone <- err }})
			// The echo server pings every 300 ms with a 300 ms timeout:
			// only answered pings keep the client for 1.5 s.
			select {
			case err := <-gone:
				t.Fatalf("dropped while idle: %v", err)
			case <-time.After(1500 * time.Millisecond):
			}
			c.Emit("kick")
			select {
			case err := <-gone:
				if !errors.Is(err, ErrServerDisconnect) {
					t.Fatalf("disconnect reason %v, want ErrServerDisconnect", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no disconnect after kick")
			}
			if err := c.Emit("echo", 1); !errors.Is(err, ErrClosed) {
				t.Fatalf("Emit after disconnect: %v, want ErrClosed", err)
			}
		})
	}
}

func TestPingTimeoutWhenServerStops(t *testing.T) {
	// A TCP server that completes the WebSocket handshake and Engine.IO
	// open, then never pings.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		n, _ := conn.Read(buf)
		key := ""
		for _, line := range strings.Split(string(buf[:n]), "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
				key = strings.TrimSpace(v)
			}
		}
		fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acceptKey(key))
		writeFrame(conn, `0{"sid":"s","pingInterval":100,"pingTimeout":100,"maxPayload":1000}`)
		conn.Read(buf) // the client's CONNECT
		writeFrame(conn, `40{"sid":"x"}`)
		time.Sleep(3 * time.Second)
	}()
	gone := make(chan error, 1)
	c, err := Dial(context.Background(), "http://"+ln.Addr().String(), Options{OnDisconnect: func(_ *Client, err error) { gone <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case err := <-gone:
		if !errors.Is(err, ErrPingTimeout) {
			t.Fatalf("reason %v, want ErrPingTimeout", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no ping timeout")
	}
}

func TestBadInput(t *testing.T) {
	url := startNode(t, "internal/sioclient/testdata/echo.mjs")
	if _, err := Dial(context.Background(), url+"/admin", Options{}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("namespace URL: %v", err)
	}
	if _, err := Dial(context.Background(), "ftp://x", Options{}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("ftp URL: %v", err)
	}
	if _, err := Dial(context.Background(), url, Options{Transport: "carrier-pigeon"}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("transport: %v", err)
	}
	if _, err := Dial(context.Background(), url, Options{Auth: "not an object"}); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("auth: %v", err)
	}
	c := dial(t, url, Options{})
	if err := c.Emit("x", []byte{1}); !errors.Is(err, ErrBinaryUnsupported) {
		t.Fatalf("binary: %v", err)
	}
	if err := c.Emit("x", func() {}); err == nil {
		t.Fatal("unmarshalable argument accepted")
	}
	gone := make(chan error, 1)
	c2 := dial(t, url, Options{OnDisconnect: func(_ *Client, err error) { gone <- err }})
	c2.Close()
	if err := <-gone; err != nil {
		t.Fatalf("OnDisconnect after Close: %v, want nil", err)
	}
	if _, err := c2.EmitWithAck(context.Background(), "echo"); !errors.Is(err, ErrClosed) {
		t.Fatalf("EmitWithAck after Close: %v", err)
	}
}

// TestManyClientsAreLight checks the cost that lets one process hold 10,000
// clients: at most one goroutine per WebSocket client.
func TestManyClientsAreLight(t *testing.T) {
	url := startNode(t, "bench/reference/server.mjs")
	const n = 300
	before := runtime.NumGoroutine()
	var mu sync.Mutex
	got := 0
	clients := make([]*Client, 0, n)
	for range n {
		c := dial(t, url, Options{OnEvent: func(*Client, string, []json.RawMessage) {
			mu.Lock()
			got++
			mu.Unlock()
		}})
		clients = append(clients, c)
	}
	time.Sleep(100 * time.Millisecond)
	if g := runtime.NumGoroutine() - before; g > n+5 {
		t.Fatalf("%d clients use %d goroutines", n, g)
	}
	for _, c := range clients {
		c.Emit("no-such-event") // the reference answers with signaling-error
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		g := got
		mu.Unlock()
		if g == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("shared OnEvent saw %d of %d events", g, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame writes one unmasked text frame (server to client), < 126 bytes.
func writeFrame(w io.Writer, s string) {
	w.Write(append([]byte{0x81, byte(len(s))}, s...))
}
