// Command runner is `make bench` and `make soak`: it starts each server
// fresh for each step pinned to core 0, runs bench/out/load pinned to core
// 1, and prints one table comparing Huddle with the Node.js reference.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// options is the command line.
type options struct {
	Huddle, Load, Out, PprofDir string
	Quick, Soak                 bool
	Servers                     string
	Hold                        time.Duration
	ConnectN, ClosedN, OpenN    int
	OpenRepeats                 int
	Rate                        float64
	Duration                    time.Duration
	SoakN, SoakCycles           int
}

func main() {
	var o options
	flag.StringVar(&o.Huddle, "huddle", "bin/huddle", "Huddle binary")
	flag.StringVar(&o.Load, "load", "bench/out/load", "load generator binary")
	flag.StringVar(&o.Out, "out", "bench/out/results.md", "where the table is written")
	flag.StringVar(&o.PprofDir, "pprof-dir", "bench/out/pprof", "where Huddle's profiles are saved")
	flag.BoolVar(&o.Quick, "quick", false, "small runs (500 sockets, short windows) for development")
	flag.BoolVar(&o.Soak, "soak", false, "run the soak test instead of the benchmark")
	flag.StringVar(&o.Servers, "servers", "huddle,reference", "servers to benchmark")
	flag.DurationVar(&o.Hold, "hold", 60*time.Second, "Huddle connect step: how long all sockets stay connected")
	flag.IntVar(&o.ConnectN, "connect-n", 10000, "sockets of the connect step")
	flag.IntVar(&o.ClosedN, "closed-n", 1000, "sockets of the closed-loop relay step")
	flag.IntVar(&o.OpenN, "open-n", 10000, "sockets of the open-loop relay step")
	flag.Float64Var(&o.Rate, "rate", 5000, "offered round trips/s of the open-loop relay step")
	flag.IntVar(&o.OpenRepeats, "open-repeats", 5, "runs of the open-loop relay step per server; the table shows the median p99's")
	flag.DurationVar(&o.Duration, "duration", 10*time.Second, "measured window of relay and setup steps")
	flag.IntVar(&o.SoakN, "soak-n", 10000, "sockets per soak cycle")
	flag.IntVar(&o.SoakCycles, "soak-cycles", 10, "soak cycles")
	flag.Parse()
	if o.Quick {
		o.ConnectN, o.ClosedN, o.OpenN, o.SoakN = 500, 200, 500, 500
		o.OpenRepeats = 1
		o.Rate, o.Duration, o.Hold, o.SoakCycles = 500, 3*time.Second, 5*time.Second, 3
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if o.Soak {
		err = soak(ctx, o, log)
	} else {
		err = bench(ctx, o, log)
	}
	if err != nil {
		log.Error("failed", "err", err)
		os.Exit(1)
	}
}

// server is one started server process.
type server struct {
	name  string
	url   string
	pprof string // base URL of net/http/pprof, empty when unavailable
	cmd   *exec.Cmd
	logs  *bytes.Buffer
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// huddleFlags are the flags this Huddle binary has, from its --help.
func huddleFlags(bin string) map[string]bool {
	out, _ := exec.Command(bin, "--help").CombinedOutput()
	have := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		if name, ok := strings.CutPrefix(line, "--"); ok {
			name, _, _ = strings.Cut(name, " ")
			have[name] = true
		}
	}
	return have
}

// startServer starts name ("huddle" or "reference") pinned to core 0 with
// generous limits, so that the benchmark measures the engine and not the
// abuse limits. extra are Huddle flags for this run (only those it has).
func startServer(ctx context.Context, o options, name string, extra ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s := &server{name: name, url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &bytes.Buffer{}}
	limits := []string{"--events-per-second", "1000000", "--event-burst", "1000000", "--max-rooms", "1000000"}
	var args []string
	switch name {
	case "huddle":
		have := huddleFlags(o.Huddle)
		args = []string{"-c", "0", o.Huddle, "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--turn=false", "--log-level", "warn"}
		args = append(args, limits...)
		// One load generator is one address: lift the per-IP limits.
		want := append([]string{"--max-conns-per-ip", "1000000", "--max-participants-per-ip", "0", "--rooms-per-ip-per-minute", "0",
			"--max-sessions-per-ip", "0", "--max-tcp-per-ip", "0"}, extra...)
		if have["pprof-addr"] {
			pp, err := freePort()
			if err != nil {
				return nil, err
			}
			s.pprof = fmt.Sprintf("http://127.0.0.1:%d", pp)
			want = append(want, "--pprof-addr", fmt.Sprintf("127.0.0.1:%d", pp))
		}
		for i := 0; i+1 < len(want); i += 2 {
			if have[strings.TrimPrefix(want[i], "--")] {
				args = append(args, want[i], want[i+1])
			}
		}
	case "reference":
		args = append([]string{"-c", "0", "node", "bench/reference/server.mjs", "--port", fmt.Sprint(port)}, limits...)
	default:
		return nil, fmt.Errorf("unknown server %q", name)
	}
	s.cmd = exec.Command("taskset", args...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := http.Get(s.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("%s did not become healthy: %v\n%s", name, err, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// loadResult is the subset of the load generator's JSON the table uses.
type loadResult map[string]any

func (r loadResult) num(k string) float64 {
	v, _ := r[k].(float64)
	return v
}

func (r loadResult) str(k string) string {
	v, _ := r[k].(string)
	return v
}

// runLoad runs the load generator pinned to core 1 against s.
func runLoad(ctx context.Context, o options, s *server, args ...string) (loadResult, error) {
	full := append([]string{"-c", "1", o.Load, "--url", s.url, "--server-pid", fmt.Sprint(s.pid())}, args...)
	cmd := exec.CommandContext(ctx, "taskset", full...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	runErr := cmd.Run()
	var r loadResult
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("load %v: %v (output %.300q)", args, errors.Join(runErr, err), out.String())
	}
	if runErr != nil {
		// Keep the figures (they show what went wrong) and say so.
		r["error"] = fmt.Sprintf("%s (%v)", r.str("error"), runErr)
	}
	return r, nil
}

// profile saves a pprof profile of s while fn runs (CPU for seconds) or
// after (heap), when s serves pprof.
func profile(o options, s *server, step, kind string, seconds int) func() {
	if s.pprof == "" {
		return func() {}
	}
	_ = os.MkdirAll(o.PprofDir, 0o755)
	path := filepath.Join(o.PprofDir, fmt.Sprintf("%s.%s.pb.gz", step, kind))
	fetch := func(url string) {
		res, err := http.Get(url)
		if err != nil {
			return
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return
		}
		f, err := os.Create(path)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = io.Copy(f, res.Body)
	}
	if kind == "heap" {
		return func() { fetch(s.pprof + "/debug/pprof/heap") }
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fetch(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.pprof, seconds))
	}()
	return func() { <-done }
}
