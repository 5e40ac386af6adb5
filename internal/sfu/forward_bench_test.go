package sfu_test

import (
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/huddlehq/huddle/internal/sfu"
	"github.com/huddlehq/huddle/internal/sfu/sfutest"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchmarkForward measures the forwarding path itself: one packet of a
// video layer cached and written to each of a track's subscribers, real
// pion peers on loopback, through the interceptors, SRTP and the send
// system call. The writes run on the benchmark's goroutine, locked to
// its thread, so the thread's CPU time is the path's cost however loaded
// the machine is; allocations are counted by stack (those under
// downTrack.write and packetCache.put), not the receivers'.
//
//	go test -run '^$' -bench Forward -benchtime 20000x ./internal/sfu/
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{16} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) { benchmarkForward(b, n) })
	}
}

func benchmarkForward(b *testing.B, n int) {
	s, err := sfu.New(sfu.Config{IncludeLoopback: true, Interfaces: []string{"lo"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	room := s.Room("bench")
	owner, err := room.Join("pub", nullSignaler{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(owner.Close)
	tr := sfu.NewBenchTrack(owner)
	var clients []*sfutest.Client
	var peers []*sfu.Peer
	for i := range n {
		c := sfutest.New(b, fmt.Sprintf("sub%d", i))
		p, err := room.Join(c.Name, c)
		if err != nil {
			b.Fatal(err)
		}
		c.Attach(p)
		b.Cleanup(p.Close)
		clients, peers = append(clients, c), append(peers, p)
		tr.Subscribe(p)
	}
	sfutest.WaitFor(b, "subscribers connected", 30*time.Second, func() bool {
		for _, p := range peers {
			if !tr.Ready(p) {
				return false
			}
		}
		return true
	})
	time.Sleep(500 * time.Millisecond) // DTLS done, SRTP keys in place

	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1}, Payload: make([]byte, 1100)}
	copy(pkt.Payload, vp8Key)
	buf := make([]byte, 1500)
	forward := func() {
		pkt.SequenceNumber++
		pkt.Timestamp += 3000
		raw, _ := pkt.MarshalTo(buf)
		tr.Forward(&pkt, buf[:raw])
		copy(pkt.Payload, vp8Delta)
	}
	for range 200 { // warm the caches and pools
		forward()
	}

	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		forward()
		if i%64 == 63 {
			// Paced a little, as media is, so the receivers keep up.
			time.Sleep(time.Millisecond)
		}
	}
	b.StopTimer()
	cpu := threadCPU() - cpu0
	pkts := float64(b.N * n)
	b.ReportMetric(float64(cpu.Nanoseconds())/pkts, "cpu-ns/pkt")
	b.ReportMetric(pkts/cpu.Seconds(), "pkts/cpu-s")

	// Allocations apart: recording every one costs CPU.
	old := runtime.MemProfileRate
	runtime.MemProfileRate = 1
	allocs0 := pathAllocs()
	const m = 500
	for i := range m {
		forward()
		if i%64 == 63 {
			time.Sleep(time.Millisecond)
		}
	}
	allocs := pathAllocs() - allocs0
	runtime.MemProfileRate = old
	b.ReportMetric(float64(allocs)/float64(m*n), "allocs/pkt")
	var got uint64
	for _, c := range clients {
		got += c.Received("pub/cam")
	}
	b.ReportMetric(float64(got)/float64((b.N+m+200)*n), "received/sent")
}

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pathAllocs counts the allocations made so far under the forwarding
// path's functions (MemProfileRate 1 records every one).
func pathAllocs() int64 {
	runtime.GC() // the profile is published at a GC
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	var total int64
	for _, r := range recs {
		frames := runtime.CallersFrames(r.Stack())
		for {
			f, more := frames.Next()
			if strings.HasSuffix(f.Function, "sfu.(*downTrack).write") || strings.HasSuffix(f.Function, "sfu.(*packetCache).put") {
				total += r.AllocObjects
				break
			}
			if !more {
				break
			}
		}
	}
	return total
}

type nullSignaler struct{}

func (nullSignaler) Offer(webrtc.SessionDescription)                  {}
func (nullSignaler) Candidate(sfu.Direction, webrtc.ICECandidateInit) {}

var (
	vp8Key   = []byte{0x10, 0x00, 0x9d, 0x01, 0x2a}
	vp8Delta = []byte{0x10, 0x01, 0x00, 0x00, 0x00}
)
