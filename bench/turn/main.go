// Command turnbench measures how many 1,200-byte UDP packets a TURN relay
// forwards per second and per CPU-second of the relay process, for
// Huddle's embedded relay and for coturn, and prints a small table.
//
//	go run ./bench/turn [-duration 8s] [-senders 4]
//
// Each relay runs in its own process on loopback so its CPU time can be
// read from /proc/<pid>/stat. Senders are pion/turn clients that allocate,
// bind a channel to a plain UDP receiver and send as fast as they can;
// only datagrams that reach the receiver count.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/huddlehq/huddle/internal/turn"
	pionturn "github.com/pion/turn/v4"
)

// sent counts packets the senders handed to their sockets.
var sent atomic.Uint64

const (
	packetSize = 1200
	secret     = "bench-secret"
	clockTicks = 100 // USER_HZ: /proc reports CPU time in 1/100 s on Linux
)

func main() {
	serve := flag.String("serve-relay", "", "internal: run the embedded relay on this address until stdin closes")
	duration := flag.Duration("duration", 8*time.Second, "measuring time per relay (kept under 30s per run)")
	senders := flag.Int("senders", 4, "concurrent allocations sending")
	rate := flag.Int("rate", 30000, "packets per second offered in total (0: as fast as possible)")
	flag.Parse()
	if *serve != "" {
		if err := serveRelay(*serve); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	*duration = min(*duration, 25*time.Second)
	offered := "as fast as possible"
	if *rate > 0 {
		offered = fmt.Sprintf("%d packets/s offered", *rate)
	}
	fmt.Printf("TURN relay throughput: %d-byte UDP packets, %d senders, %s, %s each, loopback\n\n", packetSize, *senders, offered, *duration)
	fmt.Printf("%-10s %12s %10s %14s %10s %10s\n", "relay", "packets/s", "Mbit/s", "packets/CPU-s", "CPU %", "delivered")
	var results []result
	for _, r := range []struct {
		name  string
		start func() (*exec.Cmd, string, error)
	}{
		{"huddle", startEmbedded},
		{"coturn", startCoturn},
	} {
		res, err := measure(r.name, r.start, *senders, *rate, *duration)
		if err != nil {
			fmt.Printf("%-10s %s\n", r.name, err)
			continue
		}
		results = append(results, res)
		fmt.Printf("%-10s %12.0f %10.1f %14.0f %10.0f %9.0f%%\n", res.name, res.pps(), res.pps()*packetSize*8/1e6,
			res.perCPU(), 100*res.cpu/res.wall.Seconds(), 100*float64(res.packets)/float64(max(res.sent, 1)))
	}
	if len(results) == 2 && results[1].perCPU() > 0 {
		fmt.Printf("\nhuddle/coturn packets per CPU-second: %.2fx (target >= 0.8x)\n", results[0].perCPU()/results[1].perCPU())
	}
}

type result struct {
	name    string
	packets uint64
	sent    uint64
	wall    time.Duration
	cpu     float64 // seconds
}

func (r result) pps() float64 { return float64(r.packets) / r.wall.Seconds() }
func (r result) perCPU() float64 {
	if r.cpu == 0 {
		return 0
	}
	return float64(r.packets) / r.cpu
}

// serveRelay is the child process running Huddle's relay.
func serveRelay(addr string) error {
	s, err := turn.NewServer(turn.Config{Enabled: true, Listen: addr, Secret: secret, AllowPrivatePeers: true,
		MaxAllocationsPerUser: 100}, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	defer s.Close()
	if path := os.Getenv("TURNBENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		go func() { time.Sleep(5 * time.Second); pprof.StopCPUProfile(); f.Close() }()
	}
	fmt.Println("READY", s.UDPAddr())
	io.Copy(io.Discard, os.Stdin)
	return nil
}

func startEmbedded() (*exec.Cmd, string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(exe, "-serve-relay", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", err
	}
	_ = stdin // closed when the child is killed
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "READY ") {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", fmt.Errorf("relay child did not start: %q %v", line, err)
	}
	return cmd, strings.TrimSpace(strings.TrimPrefix(line, "READY ")), nil
}

func startCoturn() (*exec.Cmd, string, error) {
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		return nil, "", errors.New("skipped: coturn's turnserver not installed (scripts/setup-test.sh)")
	}
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp("", "turnbench")
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin,
		"--listening-port="+strconv.Itoa(port), "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
		"--use-auth-secret", "--static-auth-secret="+secret, "--realm=huddle",
		"--no-cli", "--cli-password=x", "--no-tls", "--no-dtls", "--allow-loopback-peers",
		"--userdb="+filepath.Join(dir, "turndb"), "--pidfile="+filepath.Join(dir, "pid"),
		"--log-file=/dev/null", "--no-stdout-log", "--user-quota=100")
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	go func() { cmd.Wait(); os.RemoveAll(dir) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if bindingWorks(addr) {
			return cmd, addr, nil
		}
	}
	cmd.Process.Kill()
	return nil, "", errors.New("coturn did not answer")
}

func bindingWorks(addr string) bool {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return false
	}
	defer c.Close()
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: c, RTO: 100 * time.Millisecond})
	if err != nil {
		return false
	}
	defer cl.Close()
	if cl.Listen() != nil {
		return false
	}
	_, err = cl.SendBindingRequest()
	return err == nil
}

func freePort() (int, error) {
	for range 20 {
		u, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		u.Close()
		if err == nil {
			l.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

// measure starts a relay, runs the senders for a warm-up second and then
// for d, counting delivered packets and the relay's CPU time.
func measure(name string, start func() (*exec.Cmd, string, error), senders, rate int, d time.Duration) (result, error) {
	cmd, addr, err := start()
	if err != nil {
		return result{}, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()

	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return result{}, err
	}
	defer rx.Close()
	rx.SetReadBuffer(8 << 20)
	var received atomic.Uint64
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := rx.ReadFrom(buf)
			if err != nil {
				return
			}
			if n == packetSize {
				received.Add(1)
			}
		}
	}()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for i := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := send(ctx, addr, fmt.Sprintf("sender%d", i), rx.LocalAddr(), float64(rate)/float64(senders)); err != nil {
				errc <- err
			}
		}()
	}
	defer wg.Wait()
	time.Sleep(time.Second) // warm up: allocations, channel binds
	select {
	case err := <-errc:
		return result{}, fmt.Errorf("%s: %w", name, err)
	default:
	}
	cpu0, err := cpuSeconds(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	p0, s0, t0 := received.Load(), sent.Load(), time.Now()
	time.Sleep(d)
	p1, s1, t1 := received.Load(), sent.Load(), time.Now()
	cpu1, err := cpuSeconds(cmd.Process.Pid)
	if err != nil {
		return result{}, err
	}
	cancel()
	if p1 == p0 {
		return result{}, fmt.Errorf("%s relayed nothing", name)
	}
	return result{name: name, packets: p1 - p0, sent: s1 - s0, wall: t1.Sub(t0), cpu: cpu1 - cpu0}, nil
}

// send allocates on the relay and sends packets to peer until ctx ends.
func send(ctx context.Context, addr, user string, peer net.Addr, rate float64) error {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	if uc, ok := conn.(*net.UDPConn); ok {
		uc.SetWriteBuffer(4 << 20)
	}
	cred := turn.MintCredential([]byte(secret), user, time.Hour, time.Now())
	cl, err := pionturn.NewClient(&pionturn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn,
		Username: cred.Username, Password: cred.Password, Realm: "huddle"})
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		return err
	}
	relay, err := cl.Allocate()
	if err != nil {
		return fmt.Errorf("allocate: %w", err)
	}
	defer relay.Close()
	var sentBy uint64
	payload := make([]byte, packetSize)
	// Paced in 1 ms steps: a steady offered load the relay can keep up
	// with, so CPU per packet is compared without drops skewing it.
	start, due := time.Now(), 0.0
	for ctx.Err() == nil {
		if rate > 0 {
			due = rate * time.Since(start).Seconds()
			if float64(sentBy) >= due {
				time.Sleep(time.Millisecond)
				continue
			}
		}
		if _, err := relay.WriteTo(payload, peer); err == nil {
			sent.Add(1)
			sentBy++
		} else {
			time.Sleep(time.Millisecond) // permission or channel not ready yet
		}
	}
	return nil
}

// cpuSeconds is the user+system CPU time of a process.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	// After the command: state is field 3, utime 14 and stime 15 (1-based).
	utime, err1 := strconv.ParseUint(fields[11], 10, 64)
	stime, err2 := strconv.ParseUint(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad /proc/%d/stat", pid)
	}
	return float64(utime+stime) / clockTicks, nil
}
