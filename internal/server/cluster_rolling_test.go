package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// Rolling restart: three node processes behind HAProxy, each in turn
// stopped with SIGTERM and started again, with ten meetings running.

// nodeProc is a node in a child process (TestClusterHelperNode) on a fixed
// address, so that it can be stopped with SIGTERM and started again where
// HAProxy expects it.
type nodeProc struct {
	t      *testing.T
	id     string
	addr   string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd ended
	err    error         // cmd's end, once exited is closed
	logs   *syncBuffer   // of every run
}

// startNodeAt starts a node process with id on addr and waits until its
// /readyz says 200.
func startNodeAt(t *testing.T, id, addr string, args ...string) *nodeProc {
	t.Helper()
	n := &nodeProc{t: t, id: id, addr: addr, logs: &syncBuffer{},
		args: append([]string{"--addr", addr, "--node-id", id, "--turn=false", "--sfu-udp=0", "--sfu-tcp=0"}, args...)}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("node %s (%s):\n%s", id, addr, n.logs.String())
		}
	})
	n.start()
	return n
}

// start runs the node (again) and waits until it is ready.
func (n *nodeProc) start() {
	n.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestClusterHelperNode$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HUDDLE_TEST_NODE_ARGS="+strings.Join(n.args, "\x1f"))
	cmd.Stdout, cmd.Stderr = n.logs, n.logs
	cmd.SysProcAttr = childProcAttr()
	fmt.Fprintf(n.logs, "--- %s starts\n", n.id)
	if err := cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	exited := make(chan struct{})
	n.cmd, n.exited = cmd, exited
	go func() {
		err := cmd.Wait()
		n.err = err
		close(exited)
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !n.ready() {
		select {
		case <-exited:
			n.t.Fatalf("node %s exited while starting: %v", n.id, n.err)
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("node %s never ready", n.id)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readyz is the status of the node's /readyz, 0 when it does not answer.
func (n *nodeProc) readyz() int {
	c := http.Client{Timeout: time.Second}
	res, err := c.Get("http://" + n.addr + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

func (n *nodeProc) ready() bool { return n.readyz() == http.StatusOK }

// running reports whether the process has not exited.
func (n *nodeProc) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

func (n *nodeProc) signal(s os.Signal) {
	n.t.Helper()
	if err := n.cmd.Process.Signal(s); err != nil {
		n.t.Fatalf("signal to %s: %v", n.id, err)
	}
}

func (n *nodeProc) kill() {
	if n.cmd != nil && n.running() {
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

// ownerIn is the node holding room's lease, read from Redis as
// cluster.Owner does ("" when none holds it).
func ownerIn(rc *redis.Client, room string) string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	lease, err := rc.Get(ctx, "huddle:room:{"+room+"}:lease").Result()
	if err != nil {
		return ""
	}
	v, err := rc.HMGet(ctx, "huddle:room:{"+room+"}:owner", "node", "token").Result()
	if err != nil || len(v) != 2 {
		return ""
	}
	node, _ := v[0].(string)
	tok, _ := v[1].(string)
	if tok != lease {
		return ""
	}
	return node
}

// readyNodes is the ids of the nodes the registry offers for new rooms.
func readyNodes(rc *redis.Client) []string {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	keys, err := rc.Keys(ctx, "huddle:node:*").Result()
	if err != nil || len(keys) == 0 {
		return nil
	}
	vals, err := rc.MGet(ctx, keys...).Result()
	if err != nil {
		return nil
	}
	var ids []string
	for _, v := range vals {
		var n struct {
			ID       string `json:"id"`
			Draining bool   `json:"draining"`
		}
		if s, ok := v.(string); ok && json.Unmarshal([]byte(s), &n) == nil && !n.Draining {
			ids = append(ids, n.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// roller is a participant that reconnects through url (HAProxy) whenever
// its connection drops and resumes with its token, as the browser app
// does, counting its reconnects.
type roller struct {
	t                     *testing.T
	name, room, url       string
	tr                    sioclient.Transport
	jar                   http.CookieJar // polling: HAProxy's sticky cookie
	mu                    sync.Mutex
	c                     *sioclient.Client
	id, token             string
	peers                 map[string]bool
	chat                  map[string]int  // chat texts received, by text
	shown                 int             // joins and leaves of members it was shown
	members               map[string]bool // the meeting's members, once all are in (nil: anyone)
	resumes, attempts     int
	droppedAt, backAt     time.Time
	done                  bool
	joinedIDs, resumedIDs []string
}

func newRoller(t *testing.T, name, room, url string, tr sioclient.Transport) *roller {
	r := &roller{t: t, name: name, room: room, url: url, tr: tr, peers: map[string]bool{}, chat: map[string]int{}}
	if tr == sioclient.Polling {
		r.jar, _ = cookiejar.New(nil)
	}
	t.Cleanup(func() {
		r.mu.Lock()
		r.done = true
		c := r.c
		r.mu.Unlock()
		if c != nil {
			c.Close()
		}
	})
	return r
}

// join connects to url and joins (resuming with the token it has); false
// when that failed.
func (r *roller) join(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	o := sioclient.Options{Transport: r.tr,
		OnEvent:      func(_ *sioclient.Client, event string, args []json.RawMessage) { r.onEvent(event, args) },
		OnDisconnect: func(c *sioclient.Client, _ error) { r.dropped(c) }}
	if r.jar != nil {
		o.HTTPClient = &http.Client{Jar: r.jar, Timeout: 60 * time.Second}
	}
	r.mu.Lock()
	r.attempts++
	token := r.token
	r.mu.Unlock()
	c, err := sioclient.Dial(ctx, url, o)
	if err != nil {
		return false
	}
	res, err := c.EmitWithAck(ctx, "join-room", map[string]string{"room": r.room, "name": r.name, "resume": token})
	var ack resumedAck
	if err != nil || len(res) == 0 || json.Unmarshal(res[0], &ack) != nil || ack.ID == "" {
		c.Close()
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		c.Close()
		return true
	}
	if r.id != "" {
		if ack.ID != r.id || !ack.Resumed {
			r.t.Errorf("%s came back as %s resumed=%v, was %s", r.name, ack.ID, ack.Resumed, r.id)
		}
		r.resumes++
		r.backAt = time.Now()
	}
	r.c, r.id, r.token = c, ack.ID, ack.ResumeToken
	clear(r.peers)
	for _, p := range ack.Peers {
		r.peers[p.ID] = true
	}
	return true
}

func (r *roller) onEvent(event string, args []json.RawMessage) {
	var a struct {
		ID   string `json:"id"`
		Text string `json:"text"`
	}
	if len(args) > 0 {
		_ = json.Unmarshal(args[0], &a)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch event {
	case "chat-message":
		r.chat[a.Text]++
	case "user-joined":
		r.peers[a.ID] = true
		if r.members == nil || r.members[a.ID] {
			r.shown++
		}
	case "user-left":
		delete(r.peers, a.ID)
		if r.members == nil || r.members[a.ID] {
			r.shown++
		}
	}
}

// dropped reconnects through HAProxy at once, then every 200 ms.
func (r *roller) dropped(c *sioclient.Client) {
	r.mu.Lock()
	if r.c != c || r.done {
		r.mu.Unlock()
		return
	}
	r.c = nil
	r.droppedAt = time.Now()
	r.mu.Unlock()
	go func() {
		for start := time.Now(); time.Since(start) < 25*time.Second; time.Sleep(200 * time.Millisecond) {
			r.mu.Lock()
			done := r.done
			r.mu.Unlock()
			if done || r.join(r.url) {
				return
			}
		}
		r.t.Errorf("%s never got back into %s", r.name, r.room)
	}()
}

func (r *roller) connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.c != nil
}

func (r *roller) snapshot() (resumes int, droppedAt, backAt time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.resumes, r.droppedAt, r.backAt
}

// peerList is the room's other members as r sees them, sorted.
func (r *roller) peerList() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for id := range r.peers {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return strings.Join(ids, ",")
}

// say sends a chat message and waits for its ack.
func (r *roller) say(text string) error {
	r.mu.Lock()
	c := r.c
	r.mu.Unlock()
	if c == nil {
		return fmt.Errorf("%s not connected", r.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.EmitWithAck(ctx, "chat-message", map[string]string{"text": text})
	if err != nil {
		return fmt.Errorf("%s's chat: %w", r.name, err)
	}
	if len(res) == 0 || !strings.Contains(string(res[0]), `"ok":true`) {
		return fmt.Errorf("%s's chat refused: %s", r.name, res)
	}
	return nil
}

func (r *roller) heard(text string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chat[text] > 0
}

// Rolling restart of three nodes (child processes, so SIGTERM is real)
// behind HAProxy with ten meetings of three running, their members spread
// over the nodes, a quarter of them over long-polling. Each node in turn
// gets SIGTERM: while it drains its /readyz says 503 and meetings started
// meanwhile (through HAProxy and on the draining node itself) are homed
// elsewhere; its participants, and those relayed to meetings homed on it,
// reconnect through HAProxy and resume under the same ids, at most once
// each; it is started again (same --node-id, as an operator restarting a
// node with a fixed id does: the harder case, for the others know the old
// process under that id) before the next. Afterwards every meeting has all
// its members, nobody was shown a leave or a join, everyone's list of the
// meeting agrees, and chat flows in every meeting.
func TestClusterRollingRestart(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Skip("haproxy not installed (scripts/setup-test.sh installs it)")
	}
	rp := startRedisProc(t)
	rc := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rp.port)})
	defer rc.Close()
	args := []string{"--redis-url", rp.url, "--resume-key", "cluster-test-resume-key-0123456789",
		"--shutdown-delay", "2s", "--shutdown-timeout", "6s", "--log-level", "info",
		"--max-conns-per-ip", "0", "--max-tcp-per-ip", "0", "--max-sessions-per-ip", "0",
		"--max-participants-per-ip", "0", "--rooms-per-ip-per-minute", "0"}
	var nodes []*nodeProc
	var addrs []string
	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		nodes = append(nodes, startNodeAt(t, fmt.Sprintf("n%d", i+1), addr, args...))
		addrs = append(addrs, addr)
	}
	eventually(t, "three nodes offered for rooms", func() bool { return len(readyNodes(rc)) == 3 })
	url := startHAProxyFor(t, addrs)
	nodeIndex := func(id string) int {
		for i, n := range nodes {
			if n.id == id {
				return i
			}
		}
		return -1
	}

	// Ten meetings of three, member j of meeting i first on node (i+j)%3.
	const meetings = 10
	var all []*roller
	byRoom := map[string][]*roller{}
	var rooms []string
	for i := range meetings {
		if i == 4 || i == 7 {
			// New rooms go to the less loaded of two nodes, by their
			// heartbeats: let a beat tell the load of the first ones, so
			// that the homes spread over the three nodes.
			time.Sleep(1100 * time.Millisecond)
		}
		room := fmt.Sprintf("roll-%d", i)
		rooms = append(rooms, room)
		for j := range 3 {
			tr := sioclient.WebSocket
			if (i+j)%4 == 3 {
				tr = sioclient.Polling
			}
			r := newRoller(t, fmt.Sprintf("p%d-%d", i, j), room, url, tr)
			if !r.join("http://" + addrs[(i+j)%3]) {
				t.Fatalf("%s could not join", r.name)
			}
			all = append(all, r)
			byRoom[room] = append(byRoom[room], r)
		}
	}
	ids := map[*roller]string{}
	for _, r := range all {
		ids[r] = r.id
	}
	eventually(t, "everyone sees the other two", func() bool {
		for _, r := range all {
			if len(strings.Split(r.peerList(), ",")) != 2 {
				return false
			}
		}
		return true
	})
	homes := map[string]int{}
	for _, room := range rooms {
		homes[ownerIn(rc, room)]++
	}
	t.Logf("meetings homed: %v", homes)
	shown := map[*roller]int{}
	for _, r := range all {
		r.mu.Lock()
		shown[r] = r.shown
		r.members = map[string]bool{}
		for _, o := range byRoom[r.room] {
			r.members[ids[o]] = true
		}
		r.mu.Unlock()
	}

	for k, n := range nodes {
		before := map[*roller]int{}
		for _, r := range all {
			before[r], _, _ = r.snapshot()
		}
		var homedHere []string
		for _, room := range rooms {
			if ownerIn(rc, room) == n.id {
				homedHere = append(homedHere, room)
			}
		}
		n.signal(syscall.SIGTERM)
		term := time.Now()
		within(t, time.Second, n.id+"'s /readyz 503 after SIGTERM", func() bool { return n.readyz() == http.StatusServiceUnavailable })
		// Meetings started during the drain go elsewhere: through HAProxy
		// (which may still send a client here until its health check
		// notices) and on the draining node itself.
		for d, via := range []string{"http://" + n.addr, url, url} {
			m := connectMember(t, via, sioclient.WebSocket)
			room := fmt.Sprintf("drain-%s-%d", n.id, d)
			m.ask(nil, "join-room", map[string]string{"room": room, "name": "New"})
			if h := ownerIn(rc, room); h == n.id || h == "" {
				t.Errorf("meeting %s started during %s's drain is homed on %q", room, n.id, h)
			}
			m.ask(nil, "leave-room", map[string]string{})
			m.c.Close()
		}
		// During the shutdown delay the draining node still serves its
		// meetings: a newcomer through another node is relayed there at
		// once (and will be sent away with the others), not held until
		// the node gives its meetings up.
		if len(homedHere) > 0 {
			guest := connectMember(t, "http://"+nodes[(k+1)%3].addr, sioclient.WebSocket)
			start := time.Now()
			var gj joined
			guest.ask(&gj, "join-room", map[string]string{"room": homedHere[0], "name": "Guest"})
			if d := time.Since(start); d > time.Second || len(gj.Peers) != 3 {
				t.Errorf("a newcomer to %s during %s's shutdown delay joined in %v with peers %+v, want at once with the three", homedHere[0], n.id, d.Round(time.Millisecond), gj.Peers)
			}
			guest.ask(nil, "leave-room", map[string]string{})
			guest.c.Close()
		}
		if !n.running() {
			t.Fatalf("%s exited before the drain checks were done (shutdown delay too short for this machine?)", n.id)
		}
		for n.running() {
			if s := n.readyz(); s == http.StatusOK {
				t.Errorf("%s's /readyz said 200 while it drained", n.id)
			}
			time.Sleep(50 * time.Millisecond)
		}
		exited := time.Since(term)
		if n.err != nil {
			t.Errorf("%s ended with %v", n.id, n.err)
		}
		within(t, 20*time.Second, "everyone back and "+n.id+"'s meetings homed elsewhere", func() bool {
			for _, r := range all {
				if !r.connected() {
					return false
				}
			}
			for _, room := range homedHere {
				if h := ownerIn(rc, room); h == "" || h == n.id {
					return false
				}
			}
			return true
		})
		allBack := time.Since(term)
		var moved, dropped int
		var lastBack time.Time
		for _, r := range all {
			res, droppedAt, backAt := r.snapshot()
			if res > before[r] {
				moved++
				if backAt.After(lastBack) {
					lastBack = backAt
				}
			}
			if droppedAt.After(term) {
				dropped++
			}
			// Back at once, not after a join relayed to the draining home
			// went unanswered (the client's join timeout, 3 s here).
			if res > before[r] && backAt.Sub(droppedAt) > 2*time.Second {
				t.Errorf("%s (%s, in %s homed on %s now) back %v after its drop, want within 2s", r.name, r.tr, r.room, ownerIn(rc, r.room), backAt.Sub(droppedAt).Round(time.Millisecond))
			}
			if res-before[r] > 1 {
				t.Errorf("%s reconnected %d times during %s's restart, want at most once", r.name, res-before[r], n.id)
			}
		}
		t.Logf("%s: SIGTERM -> exit %v; %d participants reconnected (%d dropped), the last back %v after SIGTERM; its %d meetings homed elsewhere and everyone connected %v after SIGTERM",
			n.id, exited.Round(time.Millisecond), moved, dropped, lastBack.Sub(term).Round(time.Millisecond), len(homedHere), allBack.Round(time.Millisecond))
		for _, room := range homedHere {
			if h := nodeIndex(ownerIn(rc, room)); h < 0 {
				t.Errorf("meeting %s homed on no known node", room)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
		n.start() // same id, same address
		eventually(t, n.id+" offered for rooms again", func() bool { return len(readyNodes(rc)) == 3 })
	}

	// Every meeting has its three, under their first ids; nobody was shown
	// a join or a leave; everyone's list agrees; chat flows.
	for _, room := range rooms {
		rs := byRoom[room]
		for _, r := range rs {
			if r.id != ids[r] {
				t.Errorf("%s is %s now, was %s", r.name, r.id, ids[r])
			}
		}
		for _, r := range rs {
			var want []string
			for _, o := range rs {
				if o != r {
					want = append(want, ids[o])
				}
			}
			sort.Strings(want)
			if got := r.peerList(); got != strings.Join(want, ",") {
				t.Errorf("%s in %s sees %s, want %s", r.name, room, got, strings.Join(want, ","))
			}
			r.mu.Lock()
			if n := r.shown - shown[r]; n != 0 {
				t.Errorf("%s was shown %d joins or leaves during the restarts", r.name, n)
			}
			r.mu.Unlock()
		}
		for _, r := range rs {
			if err := r.say("after the restarts from " + r.name); err != nil {
				t.Error(err)
			}
		}
	}
	eventually(t, "every chat message heard by the meeting's others", func() bool {
		for _, rs := range byRoom {
			for _, r := range rs {
				for _, o := range rs {
					if o != r && !o.heard("after the restarts from "+r.name) {
						return false
					}
				}
			}
		}
		return true
	})
	var resumes, attempts int
	for _, r := range all {
		r.mu.Lock()
		resumes += r.resumes
		attempts += r.attempts - r.resumes - 1
		r.mu.Unlock()
	}
	t.Logf("%d reconnects in all for %d participants, %d failed attempts to get back", resumes, len(all), attempts)
}
