package recording

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

// smallDisk mounts a tmpfs of size bytes for the test, unmounted after.
// Mounting needs root (CAP_SYS_ADMIN): without it the test is skipped.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+strconv.Itoa(size)+",mode=0700"); err != nil {
		t.Skipf("cannot mount a %d-byte tmpfs to fill (needs root or CAP_SYS_ADMIN): %v", size, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// flowing reports whether every client still receives every other one's
// camera and microphone: the counts grow over a second.
func flowing(t *testing.T, clients []*sfutest.Client) {
	t.Helper()
	count := func() map[string]uint64 {
		n := map[string]uint64{}
		for _, c := range clients {
			for _, from := range clients {
				if from == c {
					continue
				}
				for _, tr := range []string{"cam", "mic"} {
					k := c.Name + "<-" + from.Name + "/" + tr
					n[k] = c.Received(from.Name + "/" + tr)
				}
			}
		}
		return n
	}
	before := count()
	time.Sleep(time.Second)
	for k, v := range count() {
		if v <= before[k] {
			t.Errorf("media stopped: %s received %d packets, %d a second before", k, v, before[k])
		}
	}
}

// A recording on a disk that fills up (a real one: a tmpfs of 384 KiB,
// with the free-space floor off so that the writes themselves fail)
// stops by itself as disk-full: the host is told, /metrics counts it,
// the meeting's media keeps flowing, and the files written up to the
// full disk play.
func TestFullDiskStopsCleanly(t *testing.T) {
	src, clients := meetingClients(t, "alice", "bob")
	dir := smallDisk(t, 384<<10)
	stopped := make(chan Manifest, 1)
	m := newManager(t, Config{Dir: dir, MinFreeDisk: -1, FFmpeg: "-", OnStop: func(room string, man Manifest) { stopped <- man }}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	var got Manifest
	select {
	case got = <-stopped:
	case <-time.After(30 * time.Second):
		t.Fatal("the recording did not stop when the disk filled")
	}
	// A full disk is disk-full, not a broken disk (write-error).
	if got.Reason != ReasonDiskFull || got.ID != man.ID || !strings.Contains(got.Error, "no space") {
		t.Errorf("stopped as %q (%q), want %q with the file system's error", got.Reason, got.Error, ReasonDiskFull)
	}
	if _, ok := m.Active("r1"); ok {
		t.Error("still active after the disk filled")
	}
	if st := m.Stats(); st.Stopped[ReasonDiskFull] != 1 || st.Stopped[ReasonWriteError] != 0 || st.Active != 0 {
		t.Errorf("stats %+v, want one disk-full stop", st)
	}
	if n := src.required.Load(); n != 0 {
		t.Errorf("the SFU is still required %d times after the stop", n)
	}
	flowing(t, clients)

	// The manifest on the full disk says how it ended, so that the host's
	// list shows it stopped and why.
	if disk := readMan(t, m, man.ID); disk.Reason != ReasonDiskFull || disk.Stopped == nil || len(disk.Tracks) != len(got.Tracks) {
		t.Errorf("manifest on disk: reason %q, stopped %v, %d tracks; want disk-full, stopped, %d tracks", disk.Reason, disk.Stopped, len(disk.Tracks), len(got.Tracks))
	}

	// The files play up to where the disk filled.
	played := 0
	for _, tr := range got.Tracks {
		if tr.File == "" || tr.Frames == 0 {
			continue
		}
		path := m.path(man.ID, tr.File)
		p, d := ffprobe(t, path)
		if len(p.Streams) != 1 || d <= 0 {
			t.Errorf("%s: streams %+v, duration %.2f", tr.File, p.Streams, d)
		}
		if out, err := exec.Command("ffmpeg", "-v", "error", "-i", path, "-f", "null", "-").CombinedOutput(); err != nil {
			t.Errorf("%s does not decode: %v %s", tr.File, err, out)
		}
		played++
	}
	if played == 0 {
		t.Errorf("no track was written before the disk filled: %+v", got.Tracks)
	}
}

// ffmpegKiller is an ffmpeg that is really ffmpeg, reading its inputs at
// their own pace (-re, so that composing takes as long as the meeting and
// can be caught in the act), and that writes its pid where the test finds
// it.
func ffmpegKiller(t *testing.T) (prog, pidFile string) {
	t.Helper()
	dir := t.TempDir()
	pidFile = filepath.Join(dir, "pid")
	script := `#!/bin/sh
echo $$ > ` + pidFile + `
for a in "$@"; do
  if [ "$a" = "-i" ]; then set -- "$@" -re; fi
  set -- "$@" "$a"
  shift
done
exec ffmpeg "$@"
`
	prog = filepath.Join(dir, "ffmpeg-slow")
	if err := os.WriteFile(prog, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return prog, pidFile
}

// ffmpeg killed while it composes: the composition fails with its reason
// in the manifest, the host is told, /metrics counts it, no half file is
// left, and the tracks still play.
func TestKilledFFmpegDuringComposition(t *testing.T) {
	src := meeting(t, "alice", "bob")
	prog, pidFile := ffmpegKiller(t)
	composed := make(chan Manifest, 1)
	m := newManager(t, Config{FFmpeg: prog, OnComposed: func(room string, man Manifest) { composed <- man }}, src)
	man, err := m.Start("r1", "alice")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if _, err := m.Stop("r1"); err != nil {
		t.Fatal(err)
	}
	var pid int
	sfutest.WaitFor(t, "ffmpeg starts composing", 10*time.Second, func() bool {
		b, err := os.ReadFile(pidFile)
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	time.Sleep(time.Second) // well into the composition, which takes 4 s now
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill ffmpeg %d: %v", pid, err)
	}
	var got Manifest
	select {
	case got = <-composed:
	case <-time.After(20 * time.Second):
		t.Fatal("the host was not told that the composition ended")
	}
	if got.Composed != "" || !strings.Contains(got.ComposeError, "killed") || got.ID != man.ID {
		t.Errorf("told composed %q, error %q; want the failure with its reason", got.Composed, got.ComposeError)
	}
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	disk := readMan(t, m, man.ID)
	if disk.ComposeError != got.ComposeError || disk.Reason != ReasonStopped {
		t.Errorf("manifest: reason %q, compose error %q", disk.Reason, disk.ComposeError)
	}
	if _, err := os.Stat(m.path(man.ID, composedName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a half composed file is left: %v", err)
	}
	if st := m.Stats(); st.ComposeFailed != 1 || st.Composed != 0 {
		t.Errorf("stats %+v, want one failed composition", st)
	}
	for _, tr := range disk.Tracks {
		if _, d := ffprobe(t, m.path(man.ID, tr.File)); d < 3 {
			t.Errorf("%s lasts %.2f s", tr.File, d)
		}
		decodes(t, m.path(man.ID, tr.File))
	}
}
