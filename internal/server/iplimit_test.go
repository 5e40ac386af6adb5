package server

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestConnLimiter(t *testing.T) {
	l := newConnLimiter(2)
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if !l.acquire(a) || !l.acquire(a) {
		t.Fatal("refused below the limit")
	}
	if l.acquire(a) {
		t.Fatal("third session of one address accepted with limit 2")
	}
	if !l.acquire(b) {
		t.Fatal("another address refused")
	}
	l.release(a)
	if !l.acquire(a) {
		t.Fatal("a released slot was not reusable")
	}
	l.release(a)
	l.release(a)
	l.release(b)
	if n := len(l.n); n != 0 {
		t.Errorf("%d addresses still tracked after every release", n)
	}
}

func TestConnLimiterGroupsIPv6By64(t *testing.T) {
	l := newConnLimiter(1)
	if !l.acquire(netip.MustParseAddr("2001:db8:1:2::1")) {
		t.Fatal("first refused")
	}
	if l.acquire(netip.MustParseAddr("2001:db8:1:2:ffff::9")) {
		t.Error("same /64 counted apart")
	}
	if !l.acquire(netip.MustParseAddr("2001:db8:1:3::1")) {
		t.Error("another /64 refused")
	}
	// An IPv4-mapped address is the IPv4 address.
	if !l.acquire(netip.MustParseAddr("192.0.2.7")) || l.acquire(netip.MustParseAddr("::ffff:192.0.2.7")) {
		t.Error("IPv4-mapped address counted apart from its IPv4 form")
	}
}

func TestConnLimiterZeroIsUnlimited(t *testing.T) {
	l := newConnLimiter(0)
	ip := netip.MustParseAddr("192.0.2.1")
	for i := 0; i < 1000; i++ {
		if !l.acquire(ip) {
			t.Fatalf("refused at %d with no limit", i)
		}
	}
}

func TestConnLimiterConcurrent(t *testing.T) {
	l := newConnLimiter(50)
	ip := netip.MustParseAddr("192.0.2.1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.acquire(ip) {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if accepted != 50 || l.count(ip) != 50 {
		t.Errorf("accepted %d, counted %d; want 50", accepted, l.count(ip))
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
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := clientIP(tc.remote, tc.xff, tc.trust).String(); got != tc.want {
				t.Errorf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestIPSlotReleasesOnce(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps string // t: taken, g: socket gone
		want  int
	}{
		{"taken then gone", "tg", 1},
		{"gone before taken", "gt", 1},
		{"refused: never taken", "g", 0},
		{"gone twice", "tgg", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			released := 0
			s := &ipSlot{release: func() { released++ }}
			for _, step := range tc.steps {
				if step == 't' {
					s.taken()
				} else {
					s.gone()
				}
			}
			if released != tc.want {
				t.Errorf("released %d times, want %d", released, tc.want)
			}
		})
	}
}
