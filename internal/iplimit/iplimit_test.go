package iplimit

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestCounter(t *testing.T) {
	c := NewCounter(2)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if !c.Acquire(a) || !c.Acquire(a) {
		t.Fatal("refused below the limit")
	}
	if c.Acquire(a) {
		t.Fatal("third slot of one address taken with limit 2")
	}
	if !c.Acquire(b) {
		t.Fatal("another address refused")
	}
	if c.Count(a) != 2 || c.Addresses() != 2 {
		t.Fatalf("count %d, addresses %d; want 2, 2", c.Count(a), c.Addresses())
	}
	c.Release(a)
	if !c.Acquire(a) {
		t.Fatal("a released slot was not reusable")
	}
	c.Release(a)
	c.Release(a)
	c.Release(b)
	if n := c.Addresses(); n != 0 {
		t.Errorf("%d addresses still tracked after every release", n)
	}
}

func TestKeyGroupsIPv6By64(t *testing.T) {
	c := NewCounter(1)
	if !c.Acquire(netip.MustParseAddr("2001:db8:1:2::1")) {
		t.Fatal("first refused")
	}
	if c.Acquire(netip.MustParseAddr("2001:db8:1:2:ffff::9")) {
		t.Error("same /64 counted apart")
	}
	if !c.Acquire(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("another /64 refused")
	}
	if !c.Acquire(netip.MustParseAddr("192.0.2.7")) || c.Acquire(netip.MustParseAddr("::ffff:192.0.2.7")) {
		t.Error("IPv4-mapped address counted apart from its IPv4 form")
	}
}

func TestCounterZeroIsUnlimited(t *testing.T) {
	c := NewCounter(0)
	ip := netip.MustParseAddr("192.0.2.1")
	for i := 0; i < 1000; i++ {
		if !c.Acquire(ip) {
			t.Fatalf("refused at %d with no limit", i)
		}
	}
	if c.Count(ip) != 1000 {
		t.Errorf("count %d, want 1000", c.Count(ip))
	}
}

func TestCounterConcurrent(t *testing.T) {
	c := NewCounter(50)
	ip := netip.MustParseAddr("192.0.2.1")
	var wg sync.WaitGroup
	var accepted atomic.Int32
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.Acquire(ip) {
				accepted.Add(1)
			}
		}()
	}
	wg.Wait()
	if accepted.Load() != 50 {
		t.Errorf("%d accepted, want exactly 50", accepted.Load())
	}
}

func TestRate(t *testing.T) {
	r := NewRate(3, time.Minute)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	for i := 0; i < 3; i++ {
		if !r.Allow(a) {
			t.Fatalf("event %d refused below the rate", i)
		}
	}
	if r.Allow(a) {
		t.Fatal("fourth event in the window allowed")
	}
	if !r.Allow(b) {
		t.Fatal("another address refused")
	}
	now = now.Add(59 * time.Second)
	if r.Allow(a) {
		t.Fatal("allowed before the window passed")
	}
	now = now.Add(2 * time.Second)
	if !r.Allow(a) {
		t.Fatal("refused after the window passed")
	}
	now = now.Add(2 * time.Minute)
	r.Allow(a)
	r.mu.Lock()
	n := len(r.seen)
	r.mu.Unlock()
	if n != 1 {
		t.Errorf("%d windows kept, want only the live one", n)
	}
}

func TestRateSpent(t *testing.T) {
	r := NewRate(2, time.Minute)
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	a := netip.MustParseAddr("192.0.2.1")
	for i := 0; i < 2; i++ {
		if r.Spent(a) {
			t.Fatalf("spent after %d of 2 events", i)
		}
		r.Allow(a)
	}
	if !r.Spent(a) || !r.Spent(a) {
		t.Fatal("not spent after 2 of 2 events (or Spent counted one)")
	}
	if r.Spent(netip.MustParseAddr("192.0.2.2")) {
		t.Fatal("another address spent")
	}
	now = now.Add(time.Minute)
	if r.Spent(a) {
		t.Fatal("still spent once the window passed")
	}
	if NewRate(0, time.Minute).Spent(a) {
		t.Fatal("a rate without a limit is spent")
	}
}

func TestRateZeroIsUnlimited(t *testing.T) {
	r := NewRate(0, time.Minute)
	for i := 0; i < 100; i++ {
		if !r.Allow(netip.Addr{}) {
			t.Fatal("refused with no limit")
		}
	}
}

func TestClientIP(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remote string
		xff    []string
		trust  bool
		want   string
	}{
		{"peer address", "192.0.2.1:5000", nil, false, "192.0.2.1"},
		{"ipv6 peer", "[2001:db8::1]:5000", nil, false, "2001:db8::1"},
		{"mapped peer", "[::ffff:192.0.2.1]:5000", nil, false, "192.0.2.1"},
		{"header ignored without trust", "192.0.2.1:5000", []string{"198.51.100.9"}, false, "192.0.2.1"},
		{"trusted proxy header", "10.0.0.1:5000", []string{"198.51.100.9"}, true, "198.51.100.9"},
		{"last entry is the proxy's", "10.0.0.1:5000", []string{"6.6.6.6, 198.51.100.9"}, true, "198.51.100.9"},
		{"last header line wins", "10.0.0.1:5000", []string{"6.6.6.6", "198.51.100.9"}, true, "198.51.100.9"},
		{"spaces", "10.0.0.1:5000", []string{"6.6.6.6 ,  198.51.100.9 "}, true, "198.51.100.9"},
		{"garbage header falls back to peer", "10.0.0.1:5000", []string{"not-an-ip"}, true, "10.0.0.1"},
		{"trust without header", "10.0.0.1:5000", nil, true, "10.0.0.1"},
		{"not an address", "pipe", nil, false, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientIP(tc.remote, tc.xff, tc.trust).String(); got != tc.want {
				t.Errorf("ClientIP = %s, want %s", got, tc.want)
			}
		})
	}
}
