// Package deploy holds the files to deploy Huddle (huddle.service; the
// Dockerfile is at the repository's root) and the tests of them and of
// the release build: scripts/release.sh, scripts/docker-test.sh and
// systemd-analyze verify.
package deploy

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

const testVersion = "v0.0.0-releasetest"

var (
	releaseOnce sync.Once
	releaseDir  string
	releaseErr  error
)

// release runs scripts/release.sh once for this machine's architecture
// and returns the folder with the binary and SHA256SUMS.
func release(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a release binary")
	}
	if _, err := os.Stat("../web/dist/index.html"); err != nil {
		t.Skip("web/dist is not built (make build first): the binary embeds it")
	}
	releaseOnce.Do(func() {
		releaseDir, releaseErr = os.MkdirTemp("", "huddle-release-test")
		if releaseErr != nil {
			return
		}
		cmd := exec.Command("scripts/release.sh")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "DIST="+releaseDir, "PLATFORMS=linux/"+runtime.GOARCH,
			"VERSION="+testVersion, "GO="+filepath.Join(runtime.GOROOT(), "bin", "go"))
		if out, err := cmd.CombinedOutput(); err != nil {
			releaseErr = fmt.Errorf("scripts/release.sh: %v\n%s", err, out)
		}
	})
	if releaseErr != nil {
		t.Fatal(releaseErr)
	}
	return releaseDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if releaseDir != "" {
		os.RemoveAll(releaseDir)
	}
	os.Exit(code)
}

// The release binary is static (no interpreter, no dynamic section, so it
// runs FROM scratch and on any Linux), prints the version it was built
// with, and SHA256SUMS is right about it.
func TestReleaseBinaryIsStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("release binaries are for Linux")
	}
	dir := release(t)
	name := "huddle-linux-" + runtime.GOARCH
	bin := filepath.Join(dir, name)

	out, err := exec.Command(bin, "--version").CombinedOutput()
	if err != nil || string(out) != "huddle "+testVersion+"\n" {
		t.Fatalf("--version: %q %v", out, err)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", p.Type)
		}
	}
	if s := f.Section(".dynamic"); s != nil {
		t.Error("the binary has a .dynamic section")
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary needs %v", libs)
	}
	if _, err := exec.LookPath("file"); err == nil {
		desc, _ := exec.Command("file", "-b", bin).Output()
		if !bytes.Contains(desc, []byte("statically linked")) {
			t.Errorf("file says: %s", desc)
		}
	}
	// -trimpath: no path of the build machine in the binary.
	raw, _ := os.ReadFile(bin)
	if wd, _ := os.Getwd(); bytes.Contains(raw, []byte(filepath.Dir(wd))) {
		t.Errorf("the binary holds the build folder %s (built without -trimpath?)", filepath.Dir(wd))
	}

	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if want := hex.EncodeToString(sum[:]) + "  " + name + "\n"; string(sums) != want {
		t.Errorf("SHA256SUMS %q, want %q", sums, want)
	}
	if v, _ := os.ReadFile(filepath.Join(dir, "VERSION")); strings.TrimSpace(string(v)) != testVersion {
		t.Errorf("VERSION %q", v)
	}
}

// The FROM scratch image builds without pulling anything and runs: see
// scripts/docker-test.sh. It skips (exit 77) where no Docker daemon can run.
func TestDockerImage(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Docker test on Linux only")
	}
	bin := filepath.Join(release(t), "huddle-linux-"+runtime.GOARCH)
	cmd := exec.Command("scripts/docker-test.sh")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "HUDDLE_BIN="+bin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 77 {
		t.Skipf("scripts/docker-test.sh skipped:\n%s", out.String())
	}
	if err != nil {
		t.Fatalf("scripts/docker-test.sh: %v\n%s", err, out.String())
	}
	t.Log(strings.TrimSpace(out.String()))
}

// unitKeys reads a systemd unit's [Service] settings (a key given twice
// keeps both values).
func unitKeys(t *testing.T, path string) map[string][]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	section := ""
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			section = l
		case section == "[Service]":
			k, v, _ := strings.Cut(l, "=")
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// huddle.service has the hardening it promises, and systemd itself finds
// nothing wrong with it (systemd-analyze verify, where installed).
func TestSystemdUnit(t *testing.T) {
	keys := unitKeys(t, "huddle.service")
	for k, want := range map[string]string{
		"DynamicUser": "yes", "ProtectSystem": "strict", "NoNewPrivileges": "yes",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE", "AmbientCapabilities": "CAP_NET_BIND_SERVICE",
		"StateDirectory": "huddle", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"Environment": "HUDDLE_RECORDINGS_DIR=/var/lib/huddle/recordings",
	} {
		if !contains(keys[k], want) {
			t.Errorf("%s=%v, want %s", k, keys[k], want)
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd): the unit was not verified")
	}
	// Verified as installed, with ExecStart at a binary that exists here
	// (verify refuses a missing one).
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile("huddle.service")
	unit := strings.Replace(string(raw), "ExecStart=/usr/local/bin/huddle", "ExecStart="+exe, 1)
	path := filepath.Join(t.TempDir(), "huddle.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	// verify exits 0 on unknown keys and bad values, only warning: any
	// line it prints about the unit is a failure.
	if err != nil || bytes.Contains(out, []byte("huddle.service")) {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if len(out) > 0 {
		t.Logf("systemd-analyze verify said (not about the unit):\n%s", out)
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
