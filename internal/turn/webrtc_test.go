package turn

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// onlyURLs keeps the TURN entry with the URLs that contain want.
func onlyURLs(servers []ICEServer, want string) []ICEServer {
	var out []ICEServer
	for _, s := range servers {
		var urls []string
		for _, u := range s.URLs {
			if strings.Contains(u, want) {
				urls = append(urls, u)
			}
		}
		if len(urls) > 0 {
			s.URLs = urls
			out = append(out, s)
		}
	}
	return out
}

func checkRelayedCall(t *testing.T, offer, answer callReport) {
	t.Helper()
	for side, r := range map[string]callReport{"offerer": offer, "answerer": answer} {
		if r.Error != "" || !r.Connected || r.Echoes != callMessages {
			t.Fatalf("%s: %+v", side, r)
		}
		if r.LocalType != "relay" {
			t.Errorf("%s: selected pair %s -> %s, want a relay local candidate", side, r.LocalType, r.RemoteType)
		}
	}
}

func TestPionCallThroughEmbeddedRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("WebRTC call")
	}
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			s, cfg := startRelay(t, Config{AllowPrivatePeers: true, ForceRelay: true})
			r := httptest.NewRequest("GET", "/socket.io/", nil)
			r.Host = "127.0.0.1:8080"
			servers, policy := NewICE(cfg).For("pid-"+transport, r)
			if policy != PolicyRelay {
				t.Fatalf("policy %q with ForceRelay", policy)
			}
			servers = onlyURLs(servers, "turn:127.0.0.1:"+portOf(cfg.Listen)+"?transport="+transport)
			if len(servers) != 1 || len(servers[0].URLs) != 1 {
				t.Fatalf("no %s TURN URL in %+v", transport, servers)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			offer, answer := callInProcess(ctx, servers, policy)
			checkRelayedCall(t, offer, answer)
			if st := s.Stats(); st.BytesToPeers == 0 || st.BytesFromPeers == 0 || st.AllocationsTotal < 2 {
				t.Errorf("relay stats show no relayed call: %+v", st)
			}
		})
	}
}

func portOf(hostport string) string {
	return hostport[strings.LastIndex(hostport, ":")+1:]
}
