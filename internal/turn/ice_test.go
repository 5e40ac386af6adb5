package turn

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestICEFor(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	exp := "1700000600:pid" // the default TTL: 10 minutes
	base := Config{Enabled: true, Listen: "0.0.0.0:3478", Secret: "sec"}
	cases := []struct {
		name   string
		cfg    Config
		host   string
		want   []ICEServer
		policy string
	}{
		{
			name: "request host names the relay",
			cfg:  base, host: "localhost:8080",
			want: []ICEServer{
				{URLs: []string{"stun:localhost:3478"}},
				{URLs: []string{"turn:localhost:3478?transport=udp", "turn:localhost:3478?transport=tcp"}, Username: exp},
			},
			policy: "all",
		},
		{
			name: "public IP wins, TLS adds turns, force relay",
			cfg: func() Config {
				c := base
				c.PublicIP, c.TLSListen, c.TLSCertFile, c.TLSKeyFile, c.ForceRelay = "203.0.113.7", ":5349", "c.pem", "k.pem", true
				return c
			}(),
			host: "meet.example.com",
			want: []ICEServer{
				{URLs: []string{"stun:203.0.113.7:3478"}},
				{URLs: []string{"turn:203.0.113.7:3478?transport=udp", "turn:203.0.113.7:3478?transport=tcp", "turns:203.0.113.7:5349?transport=tcp"}, Username: exp},
			},
			policy: "relay",
		},
		{
			name: "IPv6 request host is bracketed",
			cfg:  base, host: "[::1]:8080",
			want: []ICEServer{
				{URLs: []string{"stun:[::1]:3478"}},
				{URLs: []string{"turn:[::1]:3478?transport=udp", "turn:[::1]:3478?transport=tcp"}, Username: exp},
			},
			policy: "all",
		},
		{
			name: "disabled relay hands out only external URLs",
			cfg: Config{Secret: "sec", ExternalURLs: []string{
				"stun:stun.example.com:3478", "turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349",
			}},
			host: "localhost:8080",
			want: []ICEServer{
				{URLs: []string{"stun:stun.example.com:3478"}},
				{URLs: []string{"turn:turn.example.com:3478?transport=udp", "turns:turn.example.com:5349"}, Username: exp},
			},
			policy: "all",
		},
		{
			name: "external beside embedded",
			cfg: func() Config {
				c := base
				c.Listen = "127.0.0.1:3479"
				c.ExternalURLs = []string{"turn:t.example.com:3478"}
				return c
			}(),
			host: "127.0.0.1:8080",
			want: []ICEServer{
				{URLs: []string{"stun:127.0.0.1:3479"}},
				{URLs: []string{"turn:127.0.0.1:3479?transport=udp", "turn:127.0.0.1:3479?transport=tcp"}, Username: exp},
				{URLs: []string{"turn:t.example.com:3478"}, Username: exp},
			},
			policy: "all",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ice := NewICE(c.cfg)
			ice.now = func() time.Time { return now }
			r := httptest.NewRequest("GET", "/socket.io/", nil)
			r.Host = c.host
			got, policy := ice.For("pid", r)
			if policy != c.policy {
				t.Errorf("policy %q, want %q", policy, c.policy)
			}
			for i := range c.want {
				if c.want[i].Username != "" {
					c.want[i].Credential = referencePassword("sec", c.want[i].Username)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestICEForRefusesHostileHostHeader(t *testing.T) {
	ice := NewICE(Config{Enabled: true, Listen: "10.1.2.3:3478", Secret: "s"})
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "evil.com?transport=tcp&x=:80"
	got, _ := ice.For("p", r)
	for _, s := range got {
		for _, u := range s.URLs {
			if strings.Contains(u, "evil") {
				t.Fatalf("Host header leaked into URL %q", u)
			}
			if !strings.Contains(u, "10.1.2.3:3478") {
				t.Fatalf("URL %q does not fall back to the relay's IP", u)
			}
		}
	}
}

func TestICEForMintsFreshCredentials(t *testing.T) {
	ice := NewICE(Config{Enabled: true, Secret: "s", CredentialTTL: time.Minute})
	t0 := time.Unix(1000, 0)
	ice.now = func() time.Time { return t0 }
	a, _ := ice.For("alice", nil)
	ice.now = func() time.Time { return t0.Add(time.Hour) }
	b, _ := ice.For("alice", nil)
	if a[1].Username != "1060:alice" || b[1].Username != "4660:alice" {
		t.Fatalf("usernames %q, %q", a[1].Username, b[1].Username)
	}
	if a[1].Credential == b[1].Credential {
		t.Fatal("two expiries gave one password")
	}
}
