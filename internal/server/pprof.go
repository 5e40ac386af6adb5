package server

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves the profiler. It is only ever mounted on the
// separate --pprof-addr listener: profiles reveal memory contents, and CPU
// profiles cost CPU, so the public address never serves them. The command
// line is not served at all: it may hold secrets (--turn-secret), and
// the index answers /debug/pprof/cmdline with "unknown profile".
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
