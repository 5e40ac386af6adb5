package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// fakeDebug serves /debug/runtime-metrics as the server does, with gc as
// the number of collections it claims.
func fakeDebug(t *testing.T, gc int) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debug/pprof/heap" {
			w.Write([]byte("profile"))
			return
		}
		if r.URL.Path != "/debug/runtime-metrics" || r.URL.Query().Get("gc") != "1" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"gc":%d,"metrics":{"/sched/goroutines:goroutines":17,"/sched/threads/total:threads":9,"/gc/heap/live:bytes":1719296,
			"/memory/classes/heap/objects:bytes":1720000,"/memory/classes/heap/free:bytes":3000000,
			"/memory/classes/total:bytes":40000000,"/memory/classes/heap/released:bytes":10000000}}`, gc)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestReadServerAfterForcedGC(t *testing.T) {
	d := fakeDebug(t, 2)
	st, err := readServer(config{DebugURL: d.URL, ServerPID: os.Getpid()}, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := cycleStat{Cycle: 4, Goroutines: 17, Threads: 9, LiveHeap: 1719296, HeapObjects: 1720000, HeapFree: 3000000, Retained: 30000000, RSS: st.RSS}
	if st != want || st.RSS <= 0 {
		t.Errorf("got %+v, want %+v", st, want)
	}
}

// A server that did not collect first gives a live heap from whenever its
// last GC ran: useless for a trend, so it is an error.
func TestReadServerRefusesWithoutGC(t *testing.T) {
	d := fakeDebug(t, 0)
	if _, err := readServer(config{DebugURL: d.URL, ServerPID: os.Getpid()}, 1); err == nil {
		t.Fatal("no error for a reading without a forced GC")
	}
	if _, err := readServer(config{DebugURL: d.URL + "/nothing", ServerPID: os.Getpid()}, 1); err == nil {
		t.Fatal("no error for a 404")
	}
}

func TestSoakNeedsDebugURL(t *testing.T) {
	err := runSoak(context.Background(), config{ServerPID: os.Getpid(), N: 2, Cycles: 1}, quiet(), &result{})
	if !errors.Is(err, errNoDebugURL) || !errors.Is(err, errUsage) {
		t.Fatalf("err = %v", err)
	}
}

func TestSaveHeapProfile(t *testing.T) {
	d := fakeDebug(t, 2)
	dir := filepath.Join(t.TempDir(), "pprof")
	if err := saveHeapProfile(config{DebugURL: d.URL, HeapDir: dir}, 2); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "soak.cycle2.heap.pb.gz"))
	if err != nil || string(b) != "profile" {
		t.Fatalf("saved %q, %v", b, err)
	}
	if err := saveHeapProfile(config{DebugURL: d.URL + "/x", HeapDir: dir}, 3); err == nil {
		t.Fatal("no error for a 404")
	}
}
