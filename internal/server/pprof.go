package server

import (
	"net/http"
	"net/http/pprof"
)

// pprofHandler serves the profiler. It is only ever mounted on the
// separate --pprof-addr listener: profiles reveal memory contents and
// command lines, and CPU profiles cost CPU, so the public address never
// serves them.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
