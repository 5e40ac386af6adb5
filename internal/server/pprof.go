package server

import (
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
)

// pprofHandler serves the profiler and /debug/runtime-metrics. It is only
// ever mounted on the separate --pprof-addr listener: profiles reveal
// memory contents, CPU profiles cost CPU and a forced GC stops the world,
// so the public address never serves them. The command line is not served
// at all: it may hold secrets (--turn-secret), and the index answers
// /debug/pprof/cmdline with "unknown profile".
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /debug/runtime-metrics", runtimeMetrics)
	return mux
}

// runtimeMetricsReply is the JSON of /debug/runtime-metrics.
type runtimeMetricsReply struct {
	// GC is how many collections were forced before reading (0 or 2).
	GC int `json:"gc"`
	// Metrics are runtime/metrics' scalar values by name, e.g.
	// "/gc/heap/live:bytes"; histograms are left out.
	Metrics map[string]float64 `json:"metrics"`
}

// runtimeMetrics serves every scalar of runtime/metrics as JSON. With
// ?gc=1 it first forces two full collections: the first marks what is
// live, the second also drops what sync.Pool kept in its victim cache
// through the first, so /gc/heap/live:bytes is then what the program
// really holds. That is the figure a leak check wants; RSS is not, because
// the scavenger returns freed pages to the OS lazily.
func runtimeMetrics(w http.ResponseWriter, r *http.Request) {
	reply := runtimeMetricsReply{Metrics: map[string]float64{}}
	switch r.URL.Query().Get("gc") {
	case "", "0":
	case "1":
		runtime.GC()
		runtime.GC()
		reply.GC = 2
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"gc must be 0 or 1"}` + "\n"))
		return
	}
	descs := metrics.All()
	samples := make([]metrics.Sample, 0, len(descs))
	for _, d := range descs {
		if d.Kind == metrics.KindUint64 || d.Kind == metrics.KindFloat64 {
			samples = append(samples, metrics.Sample{Name: d.Name})
		}
	}
	metrics.Read(samples)
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			reply.Metrics[s.Name] = float64(s.Value.Uint64())
		case metrics.KindFloat64:
			reply.Metrics[s.Name] = s.Value.Float64()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(reply)
}
