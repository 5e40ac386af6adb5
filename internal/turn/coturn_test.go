package turn

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// freePort returns a loopback port free for both UDP and TCP right now.
func freePort(t *testing.T) int {
	t.Helper()
	for range 20 {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// startCoturn runs Debian's turnserver on loopback with the REST-API
// shared secret, the way docs/NAT.md tells operators to.
func startCoturn(t *testing.T, secret string) string {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Skip("coturn's turnserver is not installed (make test installs it: scripts/setup-test.sh)")
	}
	port := freePort(t)
	dir := t.TempDir()
	cmd := exec.Command(bin,
		"--listening-port="+strconv.Itoa(port), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--use-auth-secret", "--static-auth-secret="+secret, "--realm=huddle",
		"--no-cli", "--cli-password=x", "--no-tls", "--no-dtls", "--allow-loopback-peers",
		"--min-port=40000", "--max-port=40999", "--fingerprint",
		"--userdb="+filepath.Join(dir, "turndb"), "--pidfile="+filepath.Join(dir, "pid"),
		"--log-file="+filepath.Join(dir, "log"), "--no-stdout-log",
	)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start turnserver: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			if b, err := os.ReadFile(filepath.Join(dir, "log")); err == nil {
				t.Logf("coturn log:\n%s", b)
			}
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		cl := turnClient(t, "udp", addr, "", "")
		_, err := cl.SendBindingRequest()
		cl.Close()
		if err == nil {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("coturn did not answer on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCoturnAcceptsMintedCredentials(t *testing.T) {
	const secret = "shared-with-coturn"
	addr := startCoturn(t, secret)
	ice := NewICE(Config{Secret: secret, ExternalURLs: []string{"stun:" + addr, "turn:" + addr + "?transport=udp"}})
	servers, _ := ice.For("participant-1", nil)
	if len(servers) != 2 || servers[1].Username == "" {
		t.Fatalf("ICE servers %+v", servers)
	}
	cred := servers[1]

	relay, err := turnClient(t, "udp", addr, cred.Username, cred.Credential).Allocate()
	if err != nil {
		t.Fatalf("coturn refused credentials minted by ICE: %v", err)
	}
	relay.Close()

	// coturn does check them: another secret's credentials are refused.
	other := NewICE(Config{Secret: "another-secret", ExternalURLs: []string{"turn:" + addr}})
	bad, _ := other.For("participant-1", nil)
	if relay, err := turnClient(t, "udp", addr, bad[0].Username, bad[0].Credential).Allocate(); err == nil {
		relay.Close()
		t.Fatal("coturn accepted credentials of another secret")
	}

	if testing.Short() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer, answer := callInProcess(ctx, onlyURLs(servers, "turn:"), PolicyRelay)
	checkRelayedCall(t, offer, answer)
}
