package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
)

// getRuntimeMetrics GETs /debug/runtime-metrics with query from the pprof handler.
func getRuntimeMetrics(t *testing.T, query string) runtimeMetricsReply {
	t.Helper()
	rec := get(t, pprofHandler(), "/debug/runtime-metrics"+query)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /debug/runtime-metrics%s: %d %s", query, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var reply runtimeMetricsReply
	if err := json.Unmarshal(rec.Body.Bytes(), &reply); err != nil {
		t.Fatalf("reply %.200q: %v", rec.Body, err)
	}
	return reply
}

func TestRuntimeMetricsServesScalars(t *testing.T) {
	reply := getRuntimeMetrics(t, "")
	if reply.GC != 0 {
		t.Errorf("gc = %d without ?gc=1", reply.GC)
	}
	// (The live heap is 0 until the first collection.)
	for _, name := range []string{"/memory/classes/heap/objects:bytes", "/sched/goroutines:goroutines"} {
		if reply.Metrics[name] <= 0 {
			t.Errorf("%s = %v, want > 0", name, reply.Metrics[name])
		}
	}
	if _, ok := reply.Metrics["/gc/pauses:seconds"]; ok {
		t.Error("a histogram is in the reply")
	}
}

func TestRuntimeMetricsGCForcesCollections(t *testing.T) {
	forced := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := forced()
	reply := getRuntimeMetrics(t, "?gc=1")
	if reply.GC != 2 || forced()-before < 2 {
		t.Errorf("gc = %d, forced collections %d, want 2", reply.GC, forced()-before)
	}
	if got := reply.Metrics["/gc/cycles/forced:gc-cycles"]; uint64(got) < before+2 {
		t.Errorf("reply's forced cycles %v, want at least %d", got, before+2)
	}
}

// What sync.Pool keeps is not a leak: after ?gc=1 the live heap must not
// count it. One collection would (the pool's victim cache survives it).
func TestRuntimeMetricsGCEmptiesPools(t *testing.T) {
	const size = 64 << 20
	var pool sync.Pool
	pool.Put(make([]byte, size))
	live := getRuntimeMetrics(t, "?gc=1").Metrics["/gc/heap/live:bytes"]
	if live > size/2 {
		t.Errorf("live heap after ?gc=1 %.0f MiB counts the pooled %d MiB", live/(1<<20), size>>20)
	}
	runtime.KeepAlive(&pool)
}

func TestRuntimeMetricsRefusesBadGC(t *testing.T) {
	for _, q := range []string{"?gc=yes", "?gc=2", "?gc=-1"} {
		rec := get(t, pprofHandler(), "/debug/runtime-metrics"+q)
		var e struct{ Error string }
		if rec.Code != http.StatusBadRequest || json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Errorf("%s: %d %q, want 400 with a JSON error", q, rec.Code, rec.Body)
		}
	}
	rec := httptest.NewRecorder()
	pprofHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/debug/runtime-metrics?gc=1", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

func TestRuntimeMetricsOnlyOnPprofListener(t *testing.T) {
	r := start(t, testConfig(t, "--pprof-addr", "127.0.0.1:0"))
	for _, q := range []string{"/debug/runtime-metrics", "/debug/runtime-metrics?gc=1"} {
		if rec := get(t, r.Handler(), q); rec.Code != http.StatusNotFound {
			t.Errorf("public handler %s: %d, want 404", q, rec.Code)
		}
	}
	res, err := http.Get("http://" + r.pprofLn.Addr().String() + "/debug/runtime-metrics?gc=1")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var reply runtimeMetricsReply
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&reply) != nil || reply.Metrics["/gc/heap/live:bytes"] <= 0 {
		t.Errorf("pprof listener: %d %+v", res.StatusCode, reply.GC)
	}
}
