package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// movedAck is a join refused with moved.
type movedAck struct {
	OK    bool `json:"ok"`
	Error struct {
		Code, Node, Cookie string
	} `json:"error"`
}

// askRaw emits with an ack and returns the ack's first argument, refused
// or not.
func (m *member) askRaw(event string, arg any) json.RawMessage {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := m.c.EmitWithAck(ctx, event, arg)
	if err != nil || len(res) == 0 {
		m.t.Fatalf("%s: %v %s", event, err, res)
	}
	return res[0]
}

// Behind HAProxy (deploy/haproxy.cfg, real HAProxy), a client that can
// move (as the web app: join with move: true) and whose connection HAProxy
// sent to a node that is not its meeting's home is told to go there; it
// sets HAProxy's cookie to the home's id, reconnects, joins again with
// move: false and ends up with its socket on the home, nothing relayed,
// over polling and WebSocket; the chat flows. A seed-dialect client on
// the same node is still relayed.
func TestClusterMoveBehindHAProxy(t *testing.T) {
	nodes := startClusterNodes(t, startRedis(t), 3)
	url := startHAProxy(t, nodes)
	u, _ := neturl.Parse(url)
	// HAProxy's cookie is one the web app can overwrite: not HttpOnly,
	// on path / as the app sets it (else the browser holds two).
	res, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if sc := res.Header.Get("Set-Cookie"); !strings.HasPrefix(sc, "HUDDLE_NODE=") || !strings.Contains(strings.ToLower(sc), "path=/") ||
		strings.Contains(strings.ToLower(sc), "httponly") {
		t.Fatalf("HAProxy's cookie %q: want HUDDLE_NODE, path=/, not HttpOnly", sc)
	}

	// Ada starts the meeting, connected to n1 directly: a new meeting may
	// be placed on another node (the less loaded of two), and Ada then
	// goes there too.
	ada := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	var mv movedAck
	if err := json.Unmarshal(ada.askRaw("join-room", map[string]any{"room": "move", "name": "Ada", "move": true}), &mv); err != nil {
		t.Fatal(err)
	}
	if !mv.OK {
		ada.c.Close()
		i := slices.IndexFunc(nodes, func(n *realServer) bool { return n.cluster.NodeID() == mv.Error.Node })
		if mv.Error.Code != "moved" || i < 0 {
			t.Fatalf("Ada's join: %+v", mv)
		}
		t.Logf("the new meeting was placed on %s: Ada moved there", mv.Error.Node)
		ada = connectMember(t, nodes[i].url(), sioclient.WebSocket)
		ada.ask(nil, "join-room", map[string]any{"room": "move", "name": "Ada"})
	}
	home := homeOf(t, nodes, "move")
	homeID := nodes[home].cluster.NodeID()
	away := nodes[(home+1)%3].cluster.NodeID()

	for _, tc := range []struct {
		name string
		tr   sioclient.Transport
	}{{"Bob", sioclient.Polling}, {"Cy", sioclient.WebSocket}} {
		// HAProxy routes by the cookie: to a node that is not the home.
		jar := cookieJar(t, u, away)
		opts := func(o *sioclient.Options) {
			o.HTTPClient = &http.Client{Jar: jar, Timeout: 60 * time.Second}
			if tc.tr == sioclient.WebSocket { // the handshake does not use the jar
				o.Header = http.Header{"Cookie": {"HUDDLE_NODE=" + cookieOf(jar, u)}}
			}
		}
		m := connectMember(t, url, tc.tr, opts)
		var mv movedAck
		if err := json.Unmarshal(m.askRaw("join-room", map[string]any{"room": "move", "name": tc.name, "move": true}), &mv); err != nil {
			t.Fatal(err)
		}
		if mv.OK || mv.Error.Code != "moved" || mv.Error.Node != homeID || mv.Error.Cookie != "HUDDLE_NODE" {
			t.Fatalf("%s (%s) on %s: %+v, want moved to %s with cookie HUDDLE_NODE", tc.name, tc.tr, away, mv, homeID)
		}
		m.c.Close()
		// As the web app: the cookie set to the home, a new connection.
		jar.SetCookies(u, []*http.Cookie{{Name: mv.Error.Cookie, Value: mv.Error.Node, Path: "/"}})
		homeSockets := nodes[home].parts.engine.Stats()
		m = connectMember(t, url, tc.tr, opts)
		var j joined
		m.ask(&j, "join-room", map[string]any{"room": "move", "name": tc.name, "move": false})
		now := nodes[home].parts.engine.Stats()
		if tc.tr == sioclient.Polling && now.Polling <= homeSockets.Polling || tc.tr == sioclient.WebSocket && now.WebSocket <= homeSockets.WebSocket {
			t.Fatalf("%s's new connection is not on the home %s: %+v then %+v", tc.name, homeID, homeSockets, now)
		}
		ada.await("user-joined", `"id":"`+j.ID+`"`)
		m.ask(nil, "chat-message", map[string]string{"text": "hello from " + tc.name})
		ada.await("chat-message", "hello from "+tc.name, `"from":"`+j.ID+`"`)
		ada.ask(nil, "chat-message", map[string]string{"text": "hi " + tc.name})
		m.await("chat-message", "hi "+tc.name)
	}
	// Nobody relayed: no node holds a socket for the home, and the home
	// serves none relayed.
	for i, n := range nodes {
		if st := n.link.Stats(); st.Proxied != 0 || st.Homed != 0 {
			t.Errorf("node n%d relays %d sockets, serves %d relayed: want none", i+1, st.Proxied, st.Homed)
		}
	}

	// A client without move on the node that is not home: relayed, as
	// before.
	dee := connectMember(t, nodes[(home+1)%3].url(), sioclient.WebSocket)
	var dj joined
	dee.ask(&dj, "join-room", map[string]string{"room": "move", "name": "Dee"})
	ada.await("user-joined", `"id":"`+dj.ID+`"`)
	if st := nodes[(home+1)%3].link.Stats(); st.Proxied != 1 {
		t.Errorf("a client without move: %d sockets relayed by its node, want 1", st.Proxied)
	}
}

// cookieJar is a cookie jar holding HAProxy's cookie for node.
func cookieJar(t *testing.T, u *neturl.URL, node string) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	jar.SetCookies(u, []*http.Cookie{{Name: "HUDDLE_NODE", Value: node, Path: "/"}})
	return jar
}

func cookieOf(jar http.CookieJar, u *neturl.URL) string {
	for _, c := range jar.Cookies(u) {
		if c.Name == "HUDDLE_NODE" {
			return c.Value
		}
	}
	return ""
}
