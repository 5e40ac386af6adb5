// Package readme runs the copy-paste examples of README.md: every ```sh
// block right after a line <!-- readme-test: NAME --> runs in bash (set
// -euo pipefail) with a freshly built huddle first on PATH, and its output
// is checked against what the README promises. The only changes made to
// a block before it runs: http://localhost:8080 becomes the test's own
// loopback port (HUDDLE_ADDR tells the server so), and the example webhook
// URL becomes a receiver in the test. Servers a block starts with & are
// killed with its process group.
package readme

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// block is a tested example.
type block struct {
	name, script string
	line         int
}

var marker = regexp.MustCompile(`^<!-- readme-test: ([a-z0-9-]+) -->$`)

// examples reads the marked blocks of README.md.
func examples(t *testing.T) map[string]block {
	t.Helper()
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]block{}
	sc := bufio.NewScanner(f)
	n, name := 0, ""
	var cur *block
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case cur != nil && l == "```":
			out[cur.name] = *cur
			cur = nil
		case cur != nil:
			cur.script += l + "\n"
		case name != "" && l == "```sh":
			cur = &block{name: name, line: n}
			name = ""
		case name != "":
			t.Fatalf("README.md:%d: %q is not followed by a ```sh block", n, name)
		default:
			if m := marker.FindStringSubmatch(l); m != nil {
				if _, dup := out[m[1]]; dup {
					t.Fatalf("README.md:%d: two blocks named %q", n, m[1])
				}
				name = m[1]
			}
		}
	}
	if cur != nil {
		t.Fatalf("README.md:%d: block %q is not closed", cur.line, cur.name)
	}
	return out
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// huddleBin builds cmd/huddle once into a folder for PATH.
func huddleBin(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("../../web/dist/index.html"); err != nil {
		t.Skip("web/dist is not built (make build first): the binary embeds it")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "huddle-readme-bin")
		if buildErr != nil {
			return
		}
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(gobin, "build", "-o", filepath.Join(binDir, "huddle"), "./cmd/huddle")
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// run runs a block (with tail appended, test-only) and returns its stdout.
func run(t *testing.T, b block, port int, rewrite map[string]string, tail string, env ...string) string {
	t.Helper()
	script := b.script
	for from, to := range rewrite {
		script = strings.ReplaceAll(script, from, to)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script+tail)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"PATH="+huddleBin(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"HOME="+dir,
		fmt.Sprintf("HUDDLE_ADDR=127.0.0.1:%d", port),
		"HUDDLE_TURN=false", // the relay's port 3478 is the machine's, and not what is shown
		// So are the SFU's fixed ports (7882/udp, 7881/tcp): another test's
		// server may hold them, and the examples do not show them.
		"HUDDLE_SFU_UDP=0", "HUDDLE_SFU_TCP=0",
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Files, not pipes: a server started with & holds them open, and
	// Wait would wait for it.
	stdout, err := os.Create(filepath.Join(dir, ".stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, ".stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Start()
	if err == nil {
		err = cmd.Wait()
		// The servers the block started with & go with its group.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	out, _ := os.ReadFile(stdout.Name())
	if err != nil {
		errOut, _ := os.ReadFile(stderr.Name())
		t.Fatalf("README.md:%d (%s): %v\nstdout:\n%s\nstderr:\n%s", b.line, b.name, err, out, errOut)
	}
	return string(out)
}

// wantLines checks that out has a line matching each pattern, in order.
func wantLines(t *testing.T, name, out string, patterns ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s: no line matching %q (after the ones before it) in:\n%s", name, p, out)
		}
		i++
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func TestREADMEExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server")
	}
	for _, tool := range []string{"bash", "openssl", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the README's examples use %s, which is not installed", tool)
		}
	}
	blocks := examples(t)
	for _, name := range []string{"token", "api", "webhooks"} {
		if _, ok := blocks[name]; !ok {
			t.Fatalf("README.md has no block marked <!-- readme-test: %s -->", name)
		}
	}
	const jwt = `eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`

	t.Run("token", func(t *testing.T) {
		out := run(t, blocks["token"], freePort(t), nil, "")
		wantLines(t, "token", out, "^"+jwt+"$", `^https://meet\.example\.com/standup\?token=`+jwt+"$")
	})

	t.Run("api", func(t *testing.T) {
		port := freePort(t)
		out := run(t, blocks["api"], port, map[string]string{"http://localhost:8080": fmt.Sprintf("http://127.0.0.1:%d", port)}, "")
		wantLines(t, "api", out,
			`^\{"id":"board","url":"https://meet\.example\.com/board",.*"waitingRoom":true,"maxParticipants":6\}.*"persistent":true`,
			`^\{"expiresAt":.*"token":"`+jwt+`","url":"https://meet\.example\.com/board\?token=`,
			`^\{"rooms":\[\{"id":"board"`,
			`"locked":true`,
			`^\{"id":".+","from":"system","name":"Huddle","text":"We start in 5 minutes"`,
			`^\{"lowered":\[\]\}$`,
			`^\{"recordings":\[\]\}$`,
			`^$`, // DELETE: 204, nothing but the echo's newline
		)
	})

	t.Run("webhooks", func(t *testing.T) {
		port := freePort(t)
		hookDir := t.TempDir()
		var once sync.Once
		recv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := readAll(r)
			once.Do(func() {
				// The first delivery, for the block's verify; the body
				// file is written last, as the signal.
				_ = os.WriteFile(filepath.Join(hookDir, "sig"), []byte(r.Header.Get("Huddle-Signature")), 0o600)
				_ = os.WriteFile(filepath.Join(hookDir, "body.tmp"), body, 0o600)
				_ = os.Rename(filepath.Join(hookDir, "body.tmp"), filepath.Join(hookDir, "body"))
			})
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go recv.Serve(ln)
		defer recv.Close()

		// Someone joins once the block's server is up: meeting.started.
		joined := make(chan error, 1)
		go func() { joined <- joinWhenUp(port) }()
		// Test-only: wait for the delivery, then use the block's verify
		// on it, and on a tampered copy.
		tail := `
for _ in $(seq 150); do [ -s "$HOOK_DIR/body" ] && break; sleep 0.1; done
sig=$(cat "$HOOK_DIR/sig"); body=$(cat "$HOOK_DIR/body")
verify "$sig" "$body" && echo "verified: $body"
verify "$sig" "${body/meeting/m33ting}" || echo "tampered: refused"
`
		out := run(t, blocks["webhooks"], port,
			map[string]string{"https://portal.example.com/huddle-events": "http://" + ln.Addr().String() + "/huddle-events"},
			tail, "HOOK_DIR="+hookDir)
		if err := <-joined; err != nil {
			t.Fatalf("join: %v", err)
		}
		wantLines(t, "webhooks", out, `^verified: \{.*"type":"meeting\.started","room":"readme"`, `^tampered: refused$`)
	})
}

func readAll(r *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(http.MaxBytesReader(nil, r.Body, 1<<20))
	return b.Bytes(), err
}

// joinWhenUp waits for the server on port, then joins room "readme".
func joinWhenUp(port int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the block's server never answered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := sioclient.Dial(ctx, url, sioclient.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.EmitWithAck(ctx, "join-room", map[string]string{"room": "readme", "name": "Readme"})
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond) // stay a moment: the meeting has started
	return nil
}
