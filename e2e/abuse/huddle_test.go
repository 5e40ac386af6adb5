package abuse

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// huddleBin is the huddle executable built once by TestMain.
var huddleBin string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "huddle-abuse-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	huddleBin, err = buildHuddle(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// buildHuddle compiles ./cmd/huddle from the module root into dir.
func buildHuddle(dir string) (string, error) {
	root, err := filepath.Abs("../..")
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("module root not found at %s: %w", root, err)
	}
	out := filepath.Join(dir, "huddle")
	args := []string{"build", "-o", out}
	if raceServer() {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/huddle")...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/huddle: %v\n%s", err, msg)
	}
	return out, nil
}

// raceServer reports whether HUDDLE_ABUSE_RACE_SERVER=1 asks for the
// server under test to be built with the race detector. It is off by
// default: a race-built process keeps its shadow memory, so the RSS leak
// check is then only logged.
func raceServer() bool { return os.Getenv("HUDDLE_ABUSE_RACE_SERVER") == "1" }

// huddle is one running server process.
type huddle struct {
	addr string // host:port
	url  string // http://host:port
	cmd  *exec.Cmd
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid after done
}

// startHuddle runs the binary on a free loopback port with extra flags and
// waits until /healthz answers. The process is stopped at cleanup.
func startHuddle(t *testing.T, extra ...string) *huddle {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"--addr", addr, "--turn=false", "--sfu-udp=0", "--sfu-tcp=0"}, extra...)
	h := &huddle{addr: addr, url: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	h.cmd = exec.Command(huddleBin, args...)
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		h.err = h.cmd.Wait()
		close(h.done)
	}()
	t.Cleanup(func() {
		h.stop(t)
		if t.Failed() {
			t.Logf("server output:\n%s", h.logs.tail(200))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if h.healthz() == nil {
			return h
		}
		select {
		case <-h.done:
			t.Fatalf("huddle exited at start (%v):\n%s", h.err, h.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("huddle did not become healthy:\n%s", h.logs.String())
		}
	}
}

// stop sends SIGTERM and waits for a clean exit (SIGKILL after 20 s).
func (h *huddle) stop(t *testing.T) {
	select {
	case <-h.done:
		return
	default:
	}
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.done:
		if h.err != nil {
			t.Errorf("huddle exited with %v after SIGTERM", h.err)
		}
	case <-time.After(20 * time.Second):
		_ = h.cmd.Process.Kill()
		<-h.done
		t.Error("huddle did not exit within 20 s of SIGTERM")
	}
}

func (h *huddle) alive() bool {
	select {
	case <-h.done:
		return false
	default:
		return h.cmd.Process.Signal(syscall.Signal(0)) == nil
	}
}

// plainClient makes one connection per request, so that the server keeps
// no idle keep-alive connection (and its goroutine) for the leak check.
var plainClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true},
	Timeout:   15 * time.Second,
}

// ErrUnhealthy means /healthz did not answer 200.
var ErrUnhealthy = errors.New("healthz not ok")

func (h *huddle) healthz() error {
	resp, err := plainClient.Get(h.url + "/healthz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s", ErrUnhealthy, resp.Status)
	}
	return nil
}

// metric reads one unlabelled sample from /metrics.
func (h *huddle) metric(name string) (float64, error) {
	resp, err := plainClient.Get(h.url + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s not in /metrics", name)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer collects the server's output from two pipes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail is the last n lines.
func (b *syncBuffer) tail(n int) string {
	lines := strings.Split(b.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// eventually polls cond until it holds or ctx ends; it returns the last
// reason cond gave for not holding.
func eventually(ctx context.Context, every time.Duration, cond func() (bool, string)) error {
	for {
		ok, why := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", why, ctx.Err())
		case <-time.After(every):
		}
	}
}
