package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// ackOf emits event and decodes its ack.
func ackOf(t *testing.T, c *sioclient.Client, event string, arg any) (ok bool, code string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.EmitWithAck(ctx, event, arg)
	if err != nil || len(res) == 0 {
		t.Fatalf("%s: %v", event, err)
	}
	var a struct {
		OK    bool `json:"ok"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(res[0], &a); err != nil {
		t.Fatalf("%s: ack %s", event, res[0])
	}
	return a.OK, a.Error.Code
}

// Live streaming through the whole server: the streamer's refusals reach
// the host with their codes (a bad URL, a private target without
// --stream-allow-private), a guest may not start, the counts are on
// /metrics; --streaming=false refuses with stream-off and exports none.
func TestWholeServerStreaming(t *testing.T) {
	r := startReal(t, testConfig(t))
	host, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	guest, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, code := ackOf(t, host, "join-room", map[string]string{"room": "live-1", "name": "Host"}); !ok {
		t.Fatalf("join: %s", code)
	}
	if ok, code := ackOf(t, guest, "join-room", map[string]string{"room": "live-1", "name": "Guest"}); !ok {
		t.Fatalf("join: %s", code)
	}
	for _, c := range []struct {
		who  *sioclient.Client
		arg  map[string]string
		code string
	}{
		{guest, map[string]string{"url": "rtmp://a.rtmp.youtube.com/live2", "key": "k"}, "not-host"},
		{host, map[string]string{"url": "http://example.com/live", "key": "k"}, "stream-bad-url"},
		{host, map[string]string{"url": "rtmp://example.com/live", "key": "a b"}, "stream-bad-key"},
		{host, map[string]string{"url": "rtmp://127.0.0.1:1935/live", "key": "k"}, "stream-private-target"},
	} {
		if ok, code := ackOf(t, c.who, "stream-start", c.arg); ok || code != c.code {
			t.Errorf("stream-start %v: ok %v code %q, want %q", c.arg, ok, code, c.code)
		}
	}
	if ok, code := ackOf(t, host, "stream-stop", map[string]string{}); ok || code != "stream-inactive" {
		t.Errorf("stream-stop without a stream: %v %q", ok, code)
	}
	body := scrapeMetrics(t, r.Handler())
	for _, series := range []string{
		"huddle_live_streams_active 0", "huddle_live_streams_started_total 0", "huddle_live_streams_failed_total 0",
		"huddle_live_stream_reconnects_total 0",
	} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %q", series)
		}
	}

	off := startReal(t, testConfig(t, "--streaming=false"))
	if body := scrapeMetrics(t, off.Handler()); strings.Contains(body, "huddle_live_") {
		t.Error("streaming metrics without --streaming")
	}
	c, err := dial(t, off.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ackOf(t, c, "join-room", map[string]string{"room": "live-2", "name": "Host"})
	if ok, code := ackOf(t, c, "stream-start", map[string]string{"url": "rtmp://example.com/live"}); ok || code != "stream-off" {
		t.Errorf("stream-start with --streaming=false: %v %q", ok, code)
	}
}

// A stream through the whole server, to a local RTMP receiver (allowed by
// --stream-allow-private): the meeting, with nobody publishing yet, moves
// to the SFU; everyone hears starting then live; the receiver gets H.264
// and AAC (the empty grid and silence); the host stops it and everyone
// hears stopped.
func TestWholeServerStreamsToReceiver(t *testing.T) {
	for _, p := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	r := startReal(t, testConfig(t, "--stream-allow-private", "--stream-video-bitrate", "300"))
	var mu sync.Mutex
	var states []string
	clients := map[string]*sioclient.Client{}
	for _, name := range []string{"Host", "Guest"} {
		c, err := dial(t, r.url(), sioclient.Options{})
		if err != nil {
			t.Fatal(err)
		}
		c.On("stream-status", func(args []json.RawMessage) {
			var st struct{ State, Reason, Target string }
			_ = json.Unmarshal(args[0], &st)
			if st.Target != "" {
				t.Errorf("stream-status shows the target to %s", name)
			}
			mu.Lock()
			states = append(states, name+":"+st.State)
			mu.Unlock()
		})
		if ok, code := ackOf(t, c, "join-room", map[string]any{"room": "live-3", "name": name, "sfu": true}); !ok {
			t.Fatalf("join: %s", code)
		}
		clients[name] = c
	}
	seen := func(s string) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(states, s)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	file := filepath.Join(t.TempDir(), "got.flv")
	rx := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-listen", "1",
		"-analyzeduration", "500000", "-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/sk-test-1234", port),
		"-c", "copy", "-f", "flv", file)
	if err := rx.Start(); err != nil {
		t.Fatal(err)
	}
	rxDone := make(chan struct{})
	go func() { _ = rx.Wait(); close(rxDone) }()
	t.Cleanup(func() { _ = rx.Process.Kill(); <-rxDone })
	time.Sleep(500 * time.Millisecond) // the receiver binds its port

	if ok, code := ackOf(t, clients["Host"], "stream-start", map[string]string{"url": fmt.Sprintf("rtmp://127.0.0.1:%d/live", port), "key": "sk-test-1234"}); !ok {
		t.Fatalf("stream-start: %s", code)
	}
	for _, want := range []string{"Host:starting", "Guest:starting", "Host:live", "Guest:live"} {
		deadline := time.Now().Add(20 * time.Second)
		for !seen(want) {
			if time.Now().After(deadline) {
				t.Fatalf("never %s; saw %v", want, states)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	time.Sleep(2 * time.Second)
	if ok, code := ackOf(t, clients["Host"], "stream-stop", map[string]string{}); !ok {
		t.Fatalf("stream-stop: %s", code)
	}
	eventually(t, "everyone hears stopped", func() bool { return seen("Host:stopped") && seen("Guest:stopped") })
	select {
	case <-rxDone:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver did not see the stream end")
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", file).Output()
	if err != nil || strings.Join(strings.Fields(string(out)), ",") != "h264,aac" {
		t.Errorf("received streams %q (%v), want h264,aac", out, err)
	}
	body := scrapeMetrics(t, r.Handler())
	if !strings.Contains(body, "huddle_live_streams_started_total 1") || !strings.Contains(body, "huddle_live_streams_active 0") {
		t.Error("/metrics does not count the stream")
	}
}
