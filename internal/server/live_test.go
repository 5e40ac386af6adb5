package server

import (
	"context"
	"encoding/json"
	"strings"
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
