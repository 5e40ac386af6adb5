package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/huddlehq/huddle/internal/sioclient"
)

// The cluster's benchmark (make bench's cluster step, bench/runner):
// measurements, not checks, run only with HUDDLE_CLUSTER_BENCH set. When
// HUDDLE_CLUSTER_BENCH_OUT names a file, each test appends its markdown
// table there.

func clusterBench(t *testing.T) {
	if os.Getenv("HUDDLE_CLUSTER_BENCH") == "" {
		t.Skip("a measurement: HUDDLE_CLUSTER_BENCH=1 runs it")
	}
}

// benchOut appends a table to HUDDLE_CLUSTER_BENCH_OUT, if set, and logs it.
func benchOut(t *testing.T, md string) {
	t.Log("\n" + md)
	path := os.Getenv("HUDDLE_CLUSTER_BENCH_OUT")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(md); err != nil {
		t.Fatal(err)
	}
}

// redisCalls is INFO commandstats: calls by command.
func redisCalls(t *testing.T, rc *redis.Client) map[string]int64 {
	t.Helper()
	info, err := rc.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, f := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[strings.TrimPrefix(name, "cmdstat_")] = n
			}
		}
	}
	return out
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rc := redis.NewClient(opt)
	t.Cleanup(func() { rc.Close() })
	return rc
}

// TestClusterRelayLatency measures a relayed round trip (offer from Ada,
// answer back from Bob) with both on the room's home and with Bob on
// another node, and the Redis commands each costs (INFO commandstats).
// Rate and count from HUDDLE_CLUSTER_BENCH_RATE (per second, default
// 1000) and _N (3000).
func TestClusterRelayLatency(t *testing.T) {
	clusterBench(t)
	rate, n := 1000, 3000
	fmt.Sscan(os.Getenv("HUDDLE_CLUSTER_BENCH_RATE"), &rate)
	fmt.Sscan(os.Getenv("HUDDLE_CLUSTER_BENCH_N"), &n)
	redisURL := startRedis(t)
	rc := redisClient(t, redisURL)
	// Past the per-socket event limit (50/s) and without debug logs.
	nodes := startClusterNodes(t, redisURL, 2, "--events-per-second", "100000", "--event-burst", "100000", "--log-level", "warn")
	probe := connectMember(t, nodes[0].url(), sioclient.WebSocket)
	probe.ask(nil, "join-room", map[string]string{"room": "bench", "name": "Probe"})
	home := homeOf(t, nodes, "bench")
	var md strings.Builder
	fmt.Fprintf(&md, "\n## Cluster: relayed round trip (internal/server TestClusterRelayLatency)\n\n"+
		"Offer from Ada on the meeting's home, answer back from Bob; %d round trips at %d/s; two nodes and one redis-server on this machine.\n\n"+
		"| Bob on | p50 | p90 | p99 | max | Redis commands per round trip | of which |\n|---|---:|---:|---:|---:|---:|---|\n", n, rate)
	var p50s, p99s [2]time.Duration
	var opsPerMsg, msgsPerRT float64
	for i, tc := range []struct {
		name    string
		bobNode int
	}{{"the home (same node)", home}, {"another node", 1 - home}} {
		ada := connectMember(t, nodes[home].url(), sioclient.WebSocket)
		bob := connectMember(t, nodes[tc.bobNode].url(), sioclient.WebSocket)
		var aj, bj joined
		ada.ask(&aj, "join-room", map[string]string{"room": "bench", "name": "Ada"})
		bob.ask(&bj, "join-room", map[string]string{"room": "bench", "name": "Bob"})
		bob.c.On("offer", func(args []json.RawMessage) {
			var o struct {
				Offer struct{ SDP string } `json:"offer"`
			}
			_ = json.Unmarshal(args[0], &o)
			_ = bob.c.EmitAckFunc(func([]json.RawMessage, error) {}, "answer", map[string]any{"to": aj.ID, "answer": map[string]string{"sdp": o.Offer.SDP}})
		})
		var mu sync.Mutex
		sentAt := map[string]time.Time{}
		var rtts []time.Duration
		done := make(chan struct{})
		ada.c.On("answer", func(args []json.RawMessage) {
			var a struct {
				Answer struct{ SDP string } `json:"answer"`
			}
			_ = json.Unmarshal(args[0], &a)
			mu.Lock()
			if at, ok := sentAt[a.Answer.SDP]; ok {
				rtts = append(rtts, time.Since(at))
				if len(rtts) == n {
					close(done)
				}
			}
			mu.Unlock()
		})
		time.Sleep(200 * time.Millisecond) // the joins' own writes done
		before, sentBefore := redisCalls(t, rc), eventsSent(nodes)
		tick := time.NewTicker(time.Second / time.Duration(rate))
		for i := range n {
			<-tick.C
			id := fmt.Sprint(i)
			mu.Lock()
			sentAt[id] = time.Now()
			mu.Unlock()
			_ = ada.c.EmitAckFunc(func([]json.RawMessage, error) {}, "offer", map[string]any{"to": bj.ID, "offer": map[string]string{"sdp": id}})
		}
		tick.Stop()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: %d of %d answers", tc.name, len(rtts), n)
		}
		time.Sleep(100 * time.Millisecond) // the last acks through
		after, sent := redisCalls(t, rc), eventsSent(nodes)-sentBefore
		total, parts := int64(0), []string{}
		for cmd, c := range after {
			if d := c - before[cmd]; d > 0 && cmd != "info" {
				total += d
				if per := float64(d) / float64(n); per >= 0.01 {
					parts = append(parts, fmt.Sprintf("%s %.2f", strings.ToUpper(cmd), per))
				}
			}
		}
		slices.Sort(parts)
		slices.Sort(rtts)
		pct := func(p int) time.Duration { return rtts[len(rtts)*p/100] }
		p50s[i], p99s[i] = pct(50), pct(99)
		ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
		fmt.Fprintf(&md, "| %s | %s | %s | %s | %s | %.2f | %s |\n", tc.name, ms(pct(50)), ms(pct(90)), ms(pct(99)), ms(rtts[len(rtts)-1]),
			float64(total)/float64(n), strings.Join(parts, ", "))
		if i == 1 {
			opsPerMsg, msgsPerRT = float64(total)/float64(max(sent, 1)), float64(sent)/float64(n)
		}
		ada.c.Close()
		bob.c.Close()
	}
	verdict := func(ok bool) string {
		if ok {
			return "✅"
		}
		return "❌"
	}
	fmt.Fprintf(&md, "\nAdded by the relay: p50 %+.2f ms (target ≤ +2 ms %s), p99 %+.2f ms (target ≤ +5 ms %s); "+
		"Redis commands per relayed message %.2f (%.2f messages between the nodes per round trip: the offer, the answer and its ack; target ≤ 3 %s).\n",
		float64((p50s[1]-p50s[0]).Microseconds())/1000, verdict(p50s[1]-p50s[0] <= 2*time.Millisecond),
		float64((p99s[1]-p99s[0]).Microseconds())/1000, verdict(p99s[1]-p99s[0] <= 5*time.Millisecond),
		opsPerMsg, msgsPerRT, verdict(opsPerMsg <= 3))
	benchOut(t, md.String())
}

// eventsSent is how many events the nodes have relayed to each other.
func eventsSent(nodes []*realServer) int64 {
	var n int64
	for _, nd := range nodes {
		n += nd.cluster.Stats().EventsSent
	}
	return n
}

// nodeMem is what a node process holds: its live heap after two forced
// collections, its goroutines and their stacks (--pprof-addr's
// /debug/runtime-metrics?gc=1). Stacks are not in the live heap: a
// goroutine kept per socket shows in its own column.
type nodeMem struct{ heap, goroutines, stacks float64 }

func (m nodeMem) add(o nodeMem) nodeMem {
	return nodeMem{m.heap + o.heap, m.goroutines + o.goroutines, m.stacks + o.stacks}
}

func (m nodeMem) sub(o nodeMem) nodeMem {
	return nodeMem{m.heap - o.heap, m.goroutines - o.goroutines, m.stacks - o.stacks}
}

func (m nodeMem) per(n int) nodeMem {
	return nodeMem{m.heap / float64(n), m.goroutines / float64(n), m.stacks / float64(n)}
}

func readNodeMem(t *testing.T, pprofAddr string) nodeMem {
	t.Helper()
	res, err := http.Get("http://" + pprofAddr + "/debug/runtime-metrics?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m struct {
		Metrics map[string]float64 `json:"metrics"`
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return nodeMem{m.Metrics["/gc/heap/live:bytes"], m.Metrics["/sched/goroutines:goroutines"], m.Metrics["/memory/classes/heap/stacks:bytes"]}
}

// TestClusterMemoryPerSocket measures the server memory (live heap) per
// joined socket of one node without Redis against three cluster nodes
// holding the same sockets and meetings, each meeting's ten members
// connecting to all three. Twice on three nodes: with clients that move
// (join with move: true, as the web app does; a client refused with moved
// reconnects to the home it names, as HAProxy would send it by the
// cookie), so that every socket ends up on its meeting's home; and with
// clients that do not (seed dialects, the API), most of them relayed to
// their meeting's home and so held twice. Socket counts from
// HUDDLE_CLUSTER_BENCH_SOCKETS, a comma-separated list (default 1,500):
// each is measured in turn, and the target is judged on the mean ratio,
// since a single count's figure depends on how far each node's maps are
// in their doubling (make bench takes counts that span a doubling).
//
// The sockets join in two waves, a third and the rest, and the nodes are
// read when idle, after the first wave and after the second. From idle to
// the end is what the nodes hold for the sockets, their fixed costs of a
// first burst of joins included: on three nodes, mostly the Redis
// connections a burst opens (a pool bounded by go-redis's PoolSize, about
// 8 KiB each), caches and the runtime's goroutine descriptors. The second
// wave alone is what each further socket costs, its share of its
// meeting's cost included (its meetings are new): the per-socket figure
// the target is about.
func TestClusterMemoryPerSocket(t *testing.T) {
	clusterBench(t)
	sizes := []int{1500}
	if v := os.Getenv("HUDDLE_CLUSTER_BENCH_SOCKETS"); v != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 60 {
				t.Fatalf("HUDDLE_CLUSTER_BENCH_SOCKETS: %q is not a list of socket counts of 60 or more", v)
			}
			sizes = append(sizes, n)
		}
	}
	var rows []string
	var sum float64
	for _, n := range sizes {
		r := clusterMemoryAt(t, n)
		rows = append(rows, r.row)
		sum += r.ratio
	}
	mean := sum / float64(len(sizes))
	verdict := "✅"
	if mean > 1.10 {
		verdict = "❌"
	}
	benchOut(t, fmt.Sprintf("\n## Cluster: memory per socket (internal/server TestClusterMemoryPerSocket)\n\n"+
		"Sockets joined to meetings of 10 in two waves (a third, then the rest), each meeting's members connecting to all three nodes; "+
		"live heap after two forced collections, goroutines and their stacks, summed over the nodes. *From idle*: all the sockets "+
		"against the idle nodes, fixed costs of a first burst of joins included (on three nodes mostly Redis connections); "+
		"*next sockets*: the second wave against the first, what a further socket costs. *Moved*: clients that join with "+
		"move: true, as the web app does, and reconnect to their meeting's home when told to; *relayed*: clients "+
		"that do not (seed dialects, the API), held on the node they reached and on the home. Several sizes, because "+
		"the maps that hold sockets by id grow by doubling: the second wave's figure depends on where each node's maps "+
		"stand in their doubling (three nodes hold a third each), so one size alone can be 0.05x off either way; sizes "+
		"spanning a doubling average that out.\n\n"+
		"| sockets | one node, next | three nodes moved, next | moved, from idle | relayed, next | moved / one (next) | relayed / one (next) | moved / one (from idle) |\n"+
		"|---:|---:|---:|---:|---:|---:|---:|---:|\n%s\n"+
		"Three nodes against one, live heap of the next sockets, clients moved: %.2fx, the mean over %d sizes (target ≤ 1.10x %s).\n",
		strings.Join(rows, ""), mean, len(sizes), verdict))
}

// clusterMemory is one size's figures: a table row and the moved clients' ratio.
type clusterMemory struct {
	row   string
	ratio float64
}

// clusterMemoryAt measures n sockets on one node and on three (moved,
// then relayed), as TestClusterMemoryPerSocket describes.
func clusterMemoryAt(t *testing.T, n int) clusterMemory {
	const per = 10
	first := n / 3 / per * per // whole meetings
	base := []string{"--max-sessions-per-ip", "0", "--max-conns-per-ip", "0", "--max-tcp-per-ip", "0",
		"--max-participants-per-ip", "0", "--rooms-per-ip-per-minute", "0", "--max-participants", "10",
		"--mesh-max-participants", "10", "--log-level", "warn", "--resume-key", "cluster-bench-resume-key-0123456789"}
	type figures struct {
		all, next nodeMem
		moved     int // sockets that moved to their meeting's home
	}
	measure := func(name string, extra func(i int) []string, nodes int, move bool) figures {
		var addrs, pprofs []string
		for i := range nodes {
			pp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			addr, kill := startNodeProcess(t, append(append([]string{"--pprof-addr", pp}, base...), extra(i)...)...)
			defer kill()
			addrs, pprofs = append(addrs, addr), append(pprofs, pp)
		}
		time.Sleep(time.Second) // the nodes see each other
		read := func(stage string) nodeMem {
			var m nodeMem
			for i, pp := range pprofs {
				m = m.add(readNodeMem(t, pp))
				saveProfile(t, pp, "heap", fmt.Sprintf("%s-%d%s", strings.ReplaceAll(name, " ", "-"), i+1, stage))
				saveProfile(t, pp, "goroutine", fmt.Sprintf("%s-%d%s", strings.ReplaceAll(name, " ", "-"), i+1, stage))
			}
			return m
		}
		idle := read("-idle")
		clients := make([]*sioclient.Client, n)
		defer func() {
			for _, c := range clients {
				if c != nil {
					c.Close()
				}
			}
		}()
		var moved atomic.Int64
		join := func(from, to int) {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 32)
			var failed sync.Once
			for i := from; i < to; i++ {
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					room := fmt.Sprintf("mem-%d", i/per)
					home, err := benchJoin(ctx, &clients[i], "http://"+addrs[i%nodes], room, fmt.Sprint("p", i), move)
					if err == nil && home >= 0 {
						// Moved: to the home by its id (m1, m2, m3), as
						// HAProxy would route the cookie.
						moved.Add(1)
						clients[i].Close()
						_, err = benchJoin(ctx, &clients[i], "http://"+addrs[home], room, fmt.Sprint("p", i), false)
					}
					if err != nil {
						failed.Do(func() { t.Errorf("%s: socket %d: %v", name, i, err) })
					}
				}()
			}
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			time.Sleep(time.Second)
		}
		join(0, first)
		mid := read("-mid")
		join(first, n)
		end := read("")
		return figures{all: end.sub(idle).per(n), next: end.sub(mid).per(n - first), moved: int(moved.Load())}
	}
	one := measure(fmt.Sprintf("one node %d", n), func(int) []string { return nil }, 1, false)
	// Each cluster on its own Redis: the first one's meetings, whose
	// nodes are gone, would otherwise be taken over by the second.
	cluster := func() func(i int) []string {
		redisURL := startRedis(t)
		return func(i int) []string {
			return []string{"--redis-url", redisURL, "--node-id", fmt.Sprintf("m%d", i+1)}
		}
	}
	movedFig := measure(fmt.Sprintf("three nodes moved %d", n), cluster(), 3, true)
	relayed := measure(fmt.Sprintf("three nodes relayed %d", n), cluster(), 3, false)
	ratio := movedFig.next.heap / one.next.heap
	kib := func(m nodeMem) string { return fmt.Sprintf("%.2f KiB", m.heap/1024) }
	t.Logf("%d sockets: %d of them moved; goroutines (their stacks) per socket, next: one node %.2f (%.2f KiB), moved %.2f (%.2f KiB), relayed %.2f (%.2f KiB)",
		n, movedFig.moved, one.next.goroutines, one.next.stacks/1024, movedFig.next.goroutines, movedFig.next.stacks/1024,
		relayed.next.goroutines, relayed.next.stacks/1024)
	return clusterMemory{ratio: ratio, row: fmt.Sprintf("| %d | %s | %s | %s | %s | %.2fx | %.2fx | %.2fx |\n",
		n, kib(one.next), kib(movedFig.next), kib(movedFig.all), kib(relayed.next), ratio,
		relayed.next.heap/one.next.heap, movedFig.all.heap/one.all.heap)}
}

// benchJoin connects to url and joins room (with move: true when move),
// keeping the client in *c. A join refused with moved returns the index
// of the home it names (node ids m1, m2, ...), else -1.
func benchJoin(ctx context.Context, c **sioclient.Client, url, room, name string, move bool) (int, error) {
	cl, err := sioclient.Dial(ctx, url, sioclient.Options{Transport: sioclient.WebSocket})
	if err != nil {
		return -1, err
	}
	*c = cl
	req := map[string]any{"room": room, "name": name}
	if move {
		req["move"] = true
	}
	res, err := cl.EmitWithAck(ctx, "join-room", req)
	if err != nil {
		return -1, err
	}
	var ack struct {
		OK    bool `json:"ok"`
		Error struct{ Code, Node string }
	}
	if len(res) == 0 || json.Unmarshal(res[0], &ack) != nil {
		return -1, fmt.Errorf("ack %s", res)
	}
	if ack.OK {
		return -1, nil
	}
	var home int
	if _, err := fmt.Sscanf(ack.Error.Node, "m%d", &home); move && ack.Error.Code == "moved" && err == nil {
		return home - 1, nil
	}
	return -1, fmt.Errorf("refused: %s", res)
}

// saveProfile saves a node process's pprof profile of this kind (heap,
// goroutine) in HUDDLE_CLUSTER_BENCH_PPROF, if set, as KIND-NAME.pb.gz
// (go tool pprof -sample_index=inuse_space on the test binary for heaps).
func saveProfile(t *testing.T, pprofAddr, kind, name string) {
	dir := os.Getenv("HUDDLE_CLUSTER_BENCH_PPROF")
	if dir == "" {
		return
	}
	res, err := http.Get("http://" + pprofAddr + "/debug/pprof/" + kind)
	if err != nil {
		t.Log(err)
		return
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	_ = os.MkdirAll(dir, 0o755)
	_ = os.WriteFile(filepath.Join(dir, kind+"-"+name+".pb.gz"), b, 0o644)
}
