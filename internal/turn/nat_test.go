package turn

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// The NAT test builds a small internet out of network namespaces:
//
//	peer A 10.77.11.2 ── 10.77.11.1 router A 10.77.1.2 ──┐
//	   (symmetric NAT: masquerade fully-random)            10.77.1.1
//	                                                     "internet" 10.77.0.1 (TURN)
//	   (port-restricted cone NAT: masquerade)              10.77.2.1
//	peer B 10.77.12.2 ── 10.77.12.1 router B 10.77.2.2 ──┘
//
// The internet has no route to the peers' LANs, so only NAT mappings let
// packets in. A symmetric NAT facing a port-restricted one defeats STUN
// hole punching: the direct call must fail and the relayed one succeed.
// Every address is private and lives only in namespaces made here; the
// relay therefore runs with AllowPrivatePeers.

const (
	natPrefix   = "hdlnat-"
	natInternet = natPrefix + "net"
	natRouterA  = natPrefix + "ra"
	natRouterB  = natPrefix + "rb"
	natPeerA    = natPrefix + "pa"
	natPeerB    = natPrefix + "pb"
	natRelayIP  = "10.77.0.1"
	natSecret   = "nat-test-secret"

	envNATRole = "HUDDLE_NAT_ROLE"
)

func TestNATTraversal(t *testing.T) {
	if testing.Short() {
		t.Skip("network namespace test")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("iproute2 (ip) not installed")
	}
	if _, err := exec.LookPath("nft"); err != nil {
		t.Skip("nftables (nft) not installed")
	}
	removeNamespaces()
	if err := exec.Command("ip", "netns", "add", natPrefix+"probe").Run(); err != nil {
		t.Skipf("ip netns unavailable: %v", err)
	}
	removeNamespaces()
	t.Cleanup(removeNamespaces)
	if err := buildNATWorld(); err != nil {
		t.Fatalf("building namespaces: %v", err)
	}

	relay := startHelper(t, natInternet, map[string]string{envNATRole: "relay"})
	defer relay.stop()
	if line := relay.waitLine(t, "READY"); line == "" {
		t.Fatal("relay helper did not start")
	}

	ice := NewICE(Config{Enabled: true, Listen: "0.0.0.0:3478", PublicIP: natRelayIP, Secret: natSecret})
	all, _ := ice.For("nat-peer", nil)
	stunOnly := onlyURLs(all, "stun:")

	t.Run("direct path fails", func(t *testing.T) {
		a, b := natCall(t, stunOnly, PolicyAll, 12*time.Second)
		if a.Connected || b.Connected {
			t.Fatalf("peers connected without a relay across a symmetric NAT: %+v / %+v", a, b)
		}
		// The failure must be the NAT's doing, not a broken STUN server.
		for side, r := range map[string]callReport{"A": a, "B": b} {
			if !strings.Contains(r.Gathered, "srflx") {
				t.Errorf("peer %s gathered %q: no server-reflexive candidate from the relay's STUN", side, r.Gathered)
			}
		}
	})
	t.Run("relay connects", func(t *testing.T) {
		a, b := natCall(t, all, PolicyAll, 20*time.Second)
		for side, r := range map[string]callReport{"A": a, "B": b} {
			if !r.Connected || r.Echoes != callMessages || r.Error != "" {
				t.Fatalf("peer %s: %+v", side, r)
			}
			if r.LocalType != "relay" && r.RemoteType != "relay" {
				t.Errorf("peer %s: pair %s -> %s has no relay candidate, yet no direct path exists", side, r.LocalType, r.RemoteType)
			}
		}
	})
	t.Run("force relay", func(t *testing.T) {
		a, b := natCall(t, all, PolicyRelay, 20*time.Second)
		checkRelayedCall(t, a, b)
	})
}

// natCall runs peer A (offerer) and peer B in their namespaces.
func natCall(t *testing.T, servers []ICEServer, policy string, timeout time.Duration) (a, b callReport) {
	t.Helper()
	dir := t.TempDir()
	js, err := json.Marshal(servers)
	if err != nil {
		t.Fatal(err)
	}
	env := func(role string) map[string]string {
		return map[string]string{envNATRole: role, "HUDDLE_NAT_SERVERS": string(js), "HUDDLE_NAT_POLICY": policy,
			"HUDDLE_NAT_DIR": dir, "HUDDLE_NAT_TIMEOUT": timeout.String()}
	}
	var wg sync.WaitGroup
	run := func(ns, role string, out *callReport) {
		defer wg.Done()
		h := startHelper(t, ns, env(role))
		defer h.stop()
		line := h.waitLine(t, "REPORT ")
		if line == "" {
			out.Error = "helper gave no report"
			return
		}
		if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "REPORT ")), out); err != nil {
			out.Error = err.Error()
		}
	}
	wg.Add(2)
	go run(natPeerA, "offerer", &a)
	go run(natPeerB, "answerer", &b)
	wg.Wait()
	t.Logf("A: %+v", a)
	t.Logf("B: %+v", b)
	return a, b
}

// TestNATHelper is not a test: TestNATTraversal runs the test binary
// inside a namespace with this test selected and a role in the environment.
func TestNATHelper(t *testing.T) {
	role := os.Getenv(envNATRole)
	switch role {
	case "":
		t.Skip("helper process of TestNATTraversal")
	case "relay":
		// A specific address: a UDP socket on 0.0.0.0 of a host with several
		// addresses answers from the address of the outgoing route, which
		// the clients' NATs do not know (see docs/NAT.md).
		s, err := NewServer(Config{Enabled: true, Listen: natRelayIP + ":3478", PublicIP: natRelayIP,
			Secret: natSecret, AllowPrivatePeers: true}, nil)
		if err != nil {
			fmt.Println("ERROR", err)
			t.Fatal(err)
		}
		defer s.Close()
		fmt.Println("READY")
		io.Copy(io.Discard, os.Stdin) // until the test closes our stdin
	case "offerer", "answerer":
		var servers []ICEServer
		json.Unmarshal([]byte(os.Getenv("HUDDLE_NAT_SERVERS")), &servers)
		timeout, _ := time.ParseDuration(os.Getenv("HUDDLE_NAT_TIMEOUT"))
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		rep := runPeer(ctx, role == "offerer", servers, os.Getenv("HUDDLE_NAT_POLICY"),
			fileExchange(os.Getenv("HUDDLE_NAT_DIR"), role == "offerer"))
		js, _ := json.Marshal(rep)
		fmt.Printf("REPORT %s\n", js)
	}
}

// fileExchange signals through two files in dir: offer.json, answer.json.
func fileExchange(dir string, offerer bool) exchange {
	mine, theirs := "answer.json", "offer.json"
	if offerer {
		mine, theirs = theirs, mine
	}
	return func(ctx context.Context, sd webrtc.SessionDescription) (webrtc.SessionDescription, error) {
		var got webrtc.SessionDescription
		if sd.SDP != "" {
			js, _ := json.Marshal(sd)
			tmp := filepath.Join(dir, mine+".tmp")
			if err := os.WriteFile(tmp, js, 0o600); err != nil {
				return got, err
			}
			if err := os.Rename(tmp, filepath.Join(dir, mine)); err != nil {
				return got, err
			}
			if !offerer {
				return got, nil
			}
		}
		for {
			if js, err := os.ReadFile(filepath.Join(dir, theirs)); err == nil {
				return got, json.Unmarshal(js, &got)
			}
			select {
			case <-ctx.Done():
				return got, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// helper is the test binary running in a namespace.
type helper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startHelper(t *testing.T, ns string, env map[string]string) *helper {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestNATHelper$", "-test.count=1")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start helper in %s: %v", ns, err)
	}
	h := &helper{cmd: cmd, stdin: stdin, lines: make(chan string, 64)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
		close(h.lines)
	}()
	return h
}

// waitLine returns the first output line starting with prefix, or "" when
// the helper ends without one (or after a minute).
func (h *helper) waitLine(t *testing.T, prefix string) string {
	timeout := time.After(time.Minute)
	for {
		select {
		case l, ok := <-h.lines:
			if !ok {
				return ""
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			return ""
		}
	}
}

func (h *helper) stop() {
	h.stdin.Close()
	done := make(chan struct{})
	go func() { h.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		h.cmd.Process.Kill()
		<-done
	}
}

// buildNATWorld creates the namespaces, links, routes and NAT rules.
func buildNATWorld() error {
	var cmds [][]string
	ip := func(args ...string) { cmds = append(cmds, append([]string{"ip"}, args...)) }
	in := func(ns string, args ...string) {
		cmds = append(cmds, append([]string{"ip", "netns", "exec", ns}, args...))
	}
	for _, ns := range []string{natInternet, natRouterA, natRouterB, natPeerA, natPeerB} {
		ip("netns", "add", ns)
		ip("-n", ns, "link", "set", "lo", "up")
	}
	link := func(a, aNS, aAddr, b, bNS, bAddr string) {
		ip("link", "add", a, "type", "veth", "peer", "name", b)
		ip("link", "set", a, "netns", aNS)
		ip("link", "set", b, "netns", bNS)
		ip("-n", aNS, "addr", "add", aAddr, "dev", a)
		ip("-n", bNS, "addr", "add", bAddr, "dev", b)
		ip("-n", aNS, "link", "set", a, "up")
		ip("-n", bNS, "link", "set", b, "up")
	}
	ip("-n", natInternet, "addr", "add", natRelayIP+"/32", "dev", "lo")
	in(natInternet, "sysctl", "-qw", "net.ipv4.ip_forward=1")
	for _, side := range []struct{ ns, peer, n, masq string }{
		{natRouterA, natPeerA, "1", "masquerade fully-random"}, // symmetric: a new port per destination
		{natRouterB, natPeerB, "2", "masquerade"},              // keeps the port: cone mapping, port-restricted filtering
	} {
		wan, lan := "10.77."+side.n, "10.77.1"+side.n
		link("hn"+side.n+"net", natInternet, wan+".1/24", "wan", side.ns, wan+".2/24")
		link("lan", side.ns, lan+".1/24", "hn"+side.n+"peer", side.peer, lan+".2/24")
		ip("-n", side.ns, "route", "add", "default", "via", wan+".1")
		ip("-n", side.peer, "route", "add", "default", "via", lan+".1")
		in(side.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		in(side.ns, "nft", fmt.Sprintf("add table ip nat; "+
			"add chain ip nat post { type nat hook postrouting priority srcnat; }; "+
			"add rule ip nat post oifname wan %s; "+
			"add table ip filter; "+
			"add chain ip filter guard { type filter hook forward priority 0; policy drop; }; "+
			"add rule ip filter guard ct state established,related accept; "+
			"add rule ip filter guard iifname lan oifname wan accept", side.masq))
	}
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// removeNamespaces deletes every namespace of this test, stale ones too;
// their links go with them.
func removeNamespaces() {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(out), "\n") {
		if name, _, _ := strings.Cut(strings.TrimSpace(l), " "); strings.HasPrefix(name, natPrefix) {
			exec.Command("ip", "netns", "del", name).Run()
		}
	}
}
