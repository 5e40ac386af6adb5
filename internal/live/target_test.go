package live

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
)

func TestParseTarget(t *testing.T) {
	long := "rtmp://a.example/" + strings.Repeat("x", MaxURLLen)
	for _, c := range []struct {
		url, key string
		want     error
	}{
		{"rtmp://a.rtmp.youtube.com/live2", "abcd-efgh", nil},
		{"rtmps://live-api-s.facebook.com:443/rtmp/", "FB-123", nil},
		{"rtmp://host/app", "", nil},
		{"", "k", ErrBadURL},
		{"http://host/app", "k", ErrBadURL},
		{"file:///etc/passwd", "k", ErrBadURL},
		{"rtmp:///app", "k", ErrBadURL},
		{"rtmp://host:0/app", "k", ErrBadURL},
		{"rtmp://host:99999/app", "k", ErrBadURL},
		{"rtmp://host/app?x=1", "k", ErrBadURL},
		{"rtmp://host/app x", "k", ErrBadURL},
		{"rtmp://host/app\n-i", "k", ErrBadURL},
		{"rtmp://hôst/app", "k", ErrBadURL},
		{long, "k", ErrBadURL},
		{"rtmp://host/app", "a b", ErrBadKey},
		{"rtmp://host/app", "../x", ErrBadKey},
		{"rtmp://host/app", "k?x", ErrBadKey},
		{"rtmp://host/app", strings.Repeat("k", MaxKeyLen+1), ErrBadKey},
	} {
		if _, err := parseTarget(c.url, c.key); !errors.Is(err, c.want) {
			t.Errorf("parseTarget(%q, %q) = %v, want %v", c.url, c.key, err, c.want)
		}
	}
}

// The key goes to ffmpeg as the last path element; shown, it is masked,
// and so is a password in the URL.
func TestTargetMasking(t *testing.T) {
	tg, err := parseTarget("rtmp://user:hunter22@host:1935/live", "sk-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.ffmpegURL(); got != "rtmp://user:hunter22@host:1935/live/sk-0123456789" {
		t.Errorf("ffmpeg URL %q", got)
	}
	if got := tg.Masked(); got != "rtmp://host:1935/live/****89" {
		t.Errorf("masked %q", got)
	}
	if got := tg.scrub("rtmp://user:hunter22@host:1935/live/sk-0123456789: Connection refused"); strings.Contains(got, "sk-0123456789") || strings.Contains(got, "hunter22") {
		t.Errorf("scrubbed %q", got)
	}
	short, _ := parseTarget("rtmp://host/live/", "abc")
	if got := short.Masked(); got != "rtmp://host/live/****" {
		t.Errorf("a short key masked as %q", got)
	}
}

func TestCheckHost(t *testing.T) {
	ctx := context.Background()
	for _, host := range []string{"127.0.0.1", "::1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254",
		"0.0.0.0", "100.64.1.1", "fd00::1", "fe80::1", "::ffff:127.0.0.1", "localhost"} {
		if err := checkHost(ctx, host, false, net.DefaultResolver); !errors.Is(err, ErrPrivateTarget) {
			t.Errorf("%s: %v, want ErrPrivateTarget", host, err)
		}
		if err := checkHost(ctx, host, true, net.DefaultResolver); err != nil {
			t.Errorf("%s allowed: %v", host, err)
		}
	}
	for _, host := range []string{"8.8.8.8", "2001:4860:4860::8888"} {
		if err := checkHost(ctx, host, false, net.DefaultResolver); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	if err := checkHost(ctx, "no-such-host.invalid", false, net.DefaultResolver); !errors.Is(err, ErrUnresolved) {
		t.Errorf("unresolvable: %v", err)
	}
}

// Start refuses a bad or private target before anything runs.
func TestStartRefusesBadTargets(t *testing.T) {
	st := &statuses{}
	m := New(Config{OnStatus: st.add}, &sfuSource{})
	for _, c := range []struct {
		url  string
		want error
	}{
		{"http://example.com/live", ErrBadURL},
		{"rtmp://127.0.0.1:1935/live", ErrPrivateTarget},
		{"rtmp://localhost/live", ErrPrivateTarget},
	} {
		if _, err := m.Start("r1", "alice", c.url, "key"); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.url, err, c.want)
		}
	}
	if n := len(st.list()); n != 0 || m.Stats().Started != 0 {
		t.Errorf("a refused start told %d statuses, stats %+v", n, m.Stats())
	}
}

// A server that refuses the connection: "reconnecting" with ffmpeg's
// reason, then "failed" after MaxAttempts runs, the key masked; the room
// may stream again after. With MaxStreams 1, a second room must wait.
func TestFailsAfterMaxAttempts(t *testing.T) {
	needFFmpeg(t)
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	src := &sfuSource{s: s}
	st := &statuses{}
	cfg := testConfig(st, nil)
	cfg.MaxAttempts, cfg.MaxStreams = 2, 1
	m := New(cfg, src)
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live", freePort(t))
	if _, err := m.Start("r1", "alice", url, testKey); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Start("r2", "bob", url, testKey); !errors.Is(err, ErrBusy) {
		t.Errorf("a second stream beyond MaxStreams: %v, want ErrBusy", err)
	}
	sfutest.WaitFor(t, "the stream fails", 20*time.Second, func() bool { return st.count(StateFailed) == 1 })
	if got := st.states(); got != "starting,reconnecting,failed" {
		t.Errorf("states %s", got)
	}
	for _, s := range st.list()[1:] {
		if !strings.Contains(s.Reason, "refused") || strings.Contains(s.Reason, testKey) {
			t.Errorf("reason %q: want ffmpeg's, without the key", s.Reason)
		}
	}
	sfutest.WaitFor(t, "the stream is forgotten", 5*time.Second, func() bool { _, ok := m.Status("r1"); return !ok })
	if s := m.Stats(); s.Failed != 1 || s.Reconnects != 1 || s.Active != 0 {
		t.Errorf("stats %+v", s)
	}
	if err := m.Stop("r1"); !errors.Is(err, ErrNotActive) {
		t.Errorf("stop after the failure: %v", err)
	}
	if _, err := m.Start("r1", "alice", url, testKey); err != nil {
		t.Errorf("start again after a failure: %v", err)
	}
	if err := m.Stop("r1"); err != nil {
		t.Error(err)
	}
	if n := src.required.Load(); n != 0 {
		t.Errorf("the SFU is still required %d times", n)
	}
}

// A server that accepts the connection and then says nothing (ffmpeg
// would wait for its handshake forever): after StallTimeout without a
// frame ffmpeg is killed and the stream is "reconnecting"; the meeting's
// end stops it.
func TestStallIsReconnecting(t *testing.T) {
	needFFmpeg(t)
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // kept open, never answered
		}
	}()
	st := &statuses{}
	cfg := testConfig(st, nil)
	cfg.StallTimeout = 2 * time.Second
	m := New(cfg, &sfuSource{s: s})
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	if _, err := m.Start("r1", "alice", "rtmp://"+l.Addr().String()+"/live", testKey); err != nil {
		t.Fatal(err)
	}
	sfutest.WaitFor(t, "the stalled stream is reconnecting", 10*time.Second, func() bool { return st.count(StateReconnecting) == 1 })
	if s, _ := m.Status("r1"); s.Reason != "no frames sent for 2s" {
		t.Errorf("reason %q", s.Reason)
	}
	m.MeetingEnded("r1")
	all := st.list()
	if last := all[len(all)-1]; last.State != StateStopped || last.Reason != ReasonMeetingEnd {
		t.Errorf("after the meeting ended: %+v", last)
	}
}

// rtmps:// checks the server's certificate (ffmpeg's default does not):
// a self-signed server fails, with the reason.
func TestRTMPSVerifiesTheCertificate(t *testing.T) {
	needFFmpeg(t)
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	defer srv.Close()
	st := &statuses{}
	cfg := testConfig(st, nil)
	cfg.MaxAttempts = 1
	m := New(cfg, &sfuSource{s: s})
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	if _, err := m.Start("r1", "alice", "rtmps://"+srv.Listener.Addr().String()+"/live", testKey); err != nil {
		t.Fatal(err)
	}
	sfutest.WaitFor(t, "the stream fails", 15*time.Second, func() bool { return st.count(StateFailed) == 1 })
	all := st.list()
	if r := all[len(all)-1].Reason; !strings.Contains(r, "certificate") || strings.Contains(r, testKey) {
		t.Errorf("reason %q: want the certificate's failure, without the key", r)
	}
}
