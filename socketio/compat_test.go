package socketio

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// repoRoot finds the directory holding go.mod.
func repoRoot(t *testing.T) string {
	dir, _ := filepath.Abs(".")
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func testLogger(t *testing.T) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("SOCKETIO_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func rawArgs(args []json.RawMessage) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = a
	}
	return out
}

// newEchoServer is the application the compatibility cases talk to.
func newEchoServer(t *testing.T, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	srv := NewServer(cfg)
	srv.Use(func(s *Socket, auth json.RawMessage) error {
		var a struct {
			Token string `json:"token"`
		}
		if len(auth) > 0 {
			if err := json.Unmarshal(auth, &a); err != nil {
				return err
			}
		}
		if a.Token == "bad" {
			return errors.New("not allowed")
		}
		s.Set(auth)
		return nil
	})
	srv.OnConnection(func(s *Socket) {
		next, inOrder := 0, true
		s.On("echo", func(s *Socket, e *Event) {
			if e.HasAck() {
				_ = e.Ack(rawArgs(e.Args)...)
				return
			}
			_ = s.Emit("echo", rawArgs(e.Args)...)
		})
		s.On("binary", func(s *Socket, e *Event) {
			var args []any
			for _, a := range e.Attachments {
				args = append(args, a)
			}
			_ = s.Emit("binary", args...)
			_ = e.Ack(args...)
		})
		s.On("join", func(s *Socket, e *Event) {
			var room string
			_ = json.Unmarshal(e.Args[0], &room)
			s.Join(room)
			_ = e.Ack(true)
		})
		s.On("broadcast", func(s *Socket, e *Event) {
			var room string
			_ = json.Unmarshal(e.Args[0], &room)
			_ = srv.To(room).Except(s.ID()).Emit("broadcast", e.Args[1])
			_ = e.Ack(true)
		})
		s.On("ask", func(s *Socket, e *Event) {
			_ = s.EmitWithAck(func(reply []json.RawMessage) {
				_ = s.Emit("answer", rawArgs(reply)...)
			}, "question", rawArgs(e.Args)...)
		})
		s.On("seq", func(s *Socket, e *Event) {
			var i int
			_ = json.Unmarshal(e.Args[0], &i)
			if i != next {
				inOrder = false
			}
			next++
		})
		s.On("seq-done", func(s *Socket, e *Event) {
			_ = e.Ack(map[string]any{"count": next, "inOrder": inOrder})
		})
		s.On("seq-request", func(s *Socket, e *Event) {
			var n int
			_ = json.Unmarshal(e.Args[0], &n)
			for i := range n {
				_ = s.Emit("seq", i)
			}
		})
		s.On("whoami", func(s *Socket, e *Event) {
			_ = e.Ack(map[string]any{"id": s.ID(), "auth": s.Get()})
		})
		s.On("kick", func(s *Socket, e *Event) { s.Disconnect() })
		s.On("where", func(s *Socket, e *Event) { _ = e.Ack("/", s.ID()) })
	})
	// A second namespace, with handlers of its own, registered once for
	// the namespace rather than per socket.
	custom := srv.Of("/custom")
	custom.On("where", func(s *Socket, e *Event) { _ = e.Ack("/custom", s.ID()) })
	custom.On("echo", func(s *Socket, e *Event) {
		if e.HasAck() {
			_ = e.Ack(rawArgs(e.Args)...)
			return
		}
		_ = s.Emit("echo", rawArgs(e.Args)...)
	})
	custom.On("binary", func(s *Socket, e *Event) {
		var args []any
		for _, a := range e.Attachments {
			args = append(args, a)
		}
		_ = e.Ack(args...)
	})
	custom.On("ask", func(s *Socket, e *Event) {
		_ = s.EmitWithAck(func(reply []json.RawMessage) {
			_ = s.Emit("answer", rawArgs(reply)...)
		}, "question", rawArgs(e.Args)...)
	})
	return srv
}

// startOn serves srv on addr ("127.0.0.1:0" for any port).
func startOn(t *testing.T, srv *Server, addr string) (*httptest.Server, string) {
	var ln net.Listener
	var err error
	for range 50 { // the port of a closed server may take a moment to free
		if ln, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener = ln
	ts.Start()
	return ts, ts.URL
}

// stop ends a test server as a crash would: transports closed, no
// DISCONNECT, so clients reconnect.
func stop(srv *Server, ts *httptest.Server) {
	srv.engine.CloseAll("transport close")
	ts.CloseClientConnections()
	ts.Close()
}

func nodeScript(t *testing.T) (root, script string) {
	root = repoRoot(t)
	if _, err := os.Stat(filepath.Join(root, "node_modules", "socket.io-client")); err != nil {
		t.Fatalf("node_modules/socket.io-client is missing: run scripts/setup-node.sh first (%v)", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed")
	}
	script, _ = filepath.Abs("testdata/compat.mjs")
	return root, script
}

// TestOfficialClient runs each case of testdata/compat.mjs with the real
// socket.io-client against the echo server.
func TestOfficialClient(t *testing.T) {
	root, script := nodeScript(t)
	cases := []string{
		"websocket", "polling", "upgrade", "acks", "binary", "unicode-polling",
		"order-websocket", "order-polling", "room", "auth", "namespace",
		"namespaces", "namespaces-polling", "server-disconnect", "reconnect",
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newEchoServer(t, Config{})
			ts, url := startOn(t, srv, "127.0.0.1:0")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", script, url, name)
			cmd.Dir = root
			cmd.Stderr = testWriter{t}
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var lines []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				line := sc.Text()
				lines = append(lines, line)
				t.Log("node: " + line)
				if line == "RESTART" {
					addr := ts.Listener.Addr().String()
					stop(srv, ts)
					srv = newEchoServer(t, Config{})
					ts, _ = startOn(t, srv, addr)
				}
			}
			err = cmd.Wait()
			stop(srv, ts)
			if err != nil || len(lines) == 0 || lines[len(lines)-1] != "PASS "+name {
				t.Fatalf("case %s failed: %v\n%s", name, err, strings.Join(lines, "\n"))
			}
		})
	}
}

// The echo server also works behind a mux with the Node.js default path.
var _ http.Handler = (*Server)(nil)
