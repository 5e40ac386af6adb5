package server

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	pionturn "github.com/pion/turn/v4"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// The metrics of docs/OPERATIONS.md, checked end to end: real Socket.IO
// traffic and real relay allocations against a started server, read back
// by scraping /metrics.

// metricValue is the value of the sample line that starts with series
// (name and labels as written), or -1 if there is none.
func metricValue(body, series string) float64 {
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(line, series+" ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(rest, 64)
		if err != nil {
			return -1
		}
		return v
	}
	return -1
}

// metricWant is what a series' value should be.
type metricWant struct {
	what string
	ok   func(float64) bool
}

func eq(want float64) metricWant {
	return metricWant{strconv.FormatFloat(want, 'g', -1, 64), func(v float64) bool { return v == want }}
}

func ge(want float64) metricWant {
	return metricWant{">= " + strconv.FormatFloat(want, 'g', -1, 64), func(v float64) bool { return v >= want }}
}

// wantMetrics waits until every series has its value: counts are updated
// as events are handled, which may be after the acks.
func wantMetrics(t *testing.T, r *realServer, wants map[string]metricWant) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		body := scrapeMetrics(t, r.Handler())
		var bad []string
		for series, w := range wants {
			if v := metricValue(body, series); !w.ok(v) {
				bad = append(bad, series+" = "+strconv.FormatFloat(v, 'g', -1, 64)+", want "+w.what)
			}
		}
		if len(bad) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, b := range bad {
				t.Error(b)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// joinAck is the part of the join-room ack these tests read.
type joinAck struct {
	OK          bool   `json:"ok"`
	ID          string `json:"id"`
	ResumeToken string `json:"resumeToken"`
	Resumed     bool   `json:"resumed"`
	ICEServers  []struct {
		URLs       []string `json:"urls"`
		Username   string   `json:"username"`
		Credential string   `json:"credential"`
	} `json:"iceServers"`
	Error *struct {
		Code string `json:"code"`
	} `json:"error"`
}

func join(t *testing.T, c *sioclient.Client, payload any) joinAck {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args, err := c.EmitWithAck(ctx, "join-room", payload)
	if err != nil {
		t.Fatal(err)
	}
	var ack joinAck
	if len(args) == 0 || json.Unmarshal(args[0], &ack) != nil {
		t.Fatalf("join ack %q", args)
	}
	return ack
}

// Signaling's counts: events relayed and how long relaying took, refusals
// with their reason, participants that resumed their place.
func TestMetricsEndpoint(t *testing.T) {
	r := startReal(t, testConfig(t))
	ada, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	offers := make(chan json.RawMessage, 1)
	bob, err := dial(t, r.url(), sioclient.Options{Transport: sioclient.Polling})
	if err != nil {
		t.Fatal(err)
	}
	bob.On("offer", func(args []json.RawMessage) { offers <- args[0] })
	a := join(t, ada, map[string]string{"room": "ops-metrics", "name": "Ada"})
	if !a.OK {
		t.Fatalf("Ada's join: %+v", a)
	}
	b := join(t, bob, map[string]string{"room": "ops-metrics", "name": "Bob"})
	if !b.OK {
		t.Fatalf("Bob's join: %+v", b)
	}

	// A relayed offer.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ada.EmitWithAck(ctx, "offer", map[string]any{"to": b.ID, "offer": map[string]string{"type": "offer", "sdp": "v=0"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-offers:
	case <-time.After(5 * time.Second):
		t.Fatal("Bob never got the offer")
	}

	// A refusal: a room id signaling does not accept.
	eve, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if bad := join(t, eve, map[string]string{"room": "not a room!", "name": "Eve"}); bad.OK || bad.Error == nil || bad.Error.Code != "invalid-room" {
		t.Fatalf("bad room id: %+v", bad)
	}

	// A resume from another socket takes Ada's place back.
	ada2, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if back := join(t, ada2, map[string]string{"room": "ops-metrics", "name": "Ada", "resume": a.ResumeToken}); !back.OK || !back.Resumed {
		t.Fatalf("resume: %+v", back)
	}

	wantMetrics(t, r, map[string]metricWant{
		`huddle_events_relayed_total{event="offer"}`:                           eq(1),
		`huddle_events_relayed_total{event="join-room"}`:                       eq(3),
		`huddle_relay_seconds_count`:                                           ge(1),
		`huddle_events_refused_total{event="join-room",reason="invalid-room"}`: eq(1),
		`huddle_reconnections_total`:                                           eq(1),
		`huddle_rooms`:                                                         eq(1),
		`huddle_participants`:                                                  eq(2),
		`huddle_sockets{transport="polling"}`:                                  eq(1),
		`huddle_handshake_seconds_count`:                                       eq(4),
	})
}

// turnAllocate allocates on the relay at addr over UDP with the given
// credentials; it returns the relayed connection or the error.
func turnAllocate(t *testing.T, addr, user, pass string) (net.PacketConn, error) {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{
		STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: user, Password: pass, Realm: "huddle", RTO: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); conn.Close() })
	relay, err := cl.Allocate()
	if err == nil {
		t.Cleanup(func() { relay.Close() })
	}
	return relay, err
}

// relayCredentials joins a room on r and returns the relay's address and
// the TURN credentials of the join ack.
func relayCredentials(t *testing.T, r *realServer, turnAddr string) (user, pass string) {
	t.Helper()
	c, err := dial(t, r.url(), sioclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ack := join(t, c, map[string]string{"room": "ops-relay", "name": "Ada"})
	for _, s := range ack.ICEServers {
		if s.Username != "" {
			return s.Username, s.Credential
		}
	}
	t.Fatalf("no TURN credentials in the join ack: %+v", ack.ICEServers)
	return "", ""
}

// The relay's counts, through real allocations with the credentials a
// join hands out.
func TestWholeServerRelayMetrics(t *testing.T) {
	t.Run("allocations, bytes and auth failures", func(t *testing.T) {
		turnAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
		r := startReal(t, testConfig(t, "--turn=true", "--turn-listen", turnAddr,
			"--turn-public-ip", "127.0.0.1", "--turn-allow-private"))
		user, pass := relayCredentials(t, r, turnAddr)
		relay, err := turnAllocate(t, turnAddr, user, pass)
		if err != nil {
			t.Fatalf("allocate with the join's credentials: %v", err)
		}
		peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer peer.Close()
		payload := []byte("hello through the relay")
		if _, err := relay.WriteTo(payload, peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1500)
		if n, _, err := peer.ReadFrom(buf); err != nil || string(buf[:n]) != string(payload) {
			t.Fatalf("peer got %q, %v", buf[:n], err)
		}
		if _, err := turnAllocate(t, turnAddr, user, pass+"x"); err == nil {
			t.Fatal("a wrong password allocated")
		}
		wantMetrics(t, r, map[string]metricWant{
			"huddle_turn_allocations":         eq(1),
			"huddle_turn_allocations_total":   eq(1),
			"huddle_turn_relayed_bytes_total": ge(float64(len(payload))),
			"huddle_turn_auth_failures_total": ge(1),
		})
	})

	t.Run("refused peers", func(t *testing.T) {
		turnAddr := "127.0.0.1:" + strconv.Itoa(freeTCPPort(t))
		r := startReal(t, testConfig(t, "--turn=true", "--turn-listen", turnAddr, "--turn-public-ip", "127.0.0.1"))
		user, pass := relayCredentials(t, r, turnAddr)
		relay, err := turnAllocate(t, turnAddr, user, pass)
		if err != nil {
			t.Fatalf("allocate: %v", err)
		}
		// A loopback peer is refused without --turn-allow-private.
		_, _ = relay.WriteTo([]byte("x"), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9})
		wantMetrics(t, r, map[string]metricWant{
			"huddle_turn_refused_peers_total": ge(1),
			"huddle_turn_relayed_bytes_total": eq(0),
		})
	})
}

// A session that never sends CONNECT shows in huddle_sessions_pending
// while it is open, and is gone from it after --connect-timeout.
func TestPendingSessionsMetric(t *testing.T) {
	cfg := testConfig(t)
	cfg.Engine.ConnectTimeout = time.Second
	r := startReal(t, cfg)
	res, err := http.Get(r.url() + "/socket.io/?EIO=4&transport=polling")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("handshake: %s", res.Status)
	}
	wantMetrics(t, r, map[string]metricWant{"huddle_sessions_pending": eq(1)})
	wantMetrics(t, r, map[string]metricWant{"huddle_sessions_pending": eq(0)})
}

// The recorder's counts are on /metrics, every stop reason as its own
// series from the start, and none of them without --recording.
func TestRecordingMetrics(t *testing.T) {
	dir := t.TempDir()
	r := startReal(t, testConfig(t, "--recordings-dir", dir))
	body := scrapeMetrics(t, r.Handler())
	for _, series := range []string{
		"huddle_recordings_active 0", "huddle_recordings_started_total 0",
		`huddle_recordings_stopped_total{reason="disk-full"} 0`, `huddle_recordings_stopped_total{reason="max-duration"} 0`,
		"huddle_recordings_compose_failed_total 0",
	} {
		if !strings.Contains(body, series) {
			t.Errorf("/metrics lacks %q", series)
		}
	}
	off := startReal(t, testConfig(t, "--recording=false"))
	if body := scrapeMetrics(t, off.Handler()); strings.Contains(body, "huddle_recordings_") {
		t.Error("recording metrics without --recording")
	}
}
