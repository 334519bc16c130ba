package auth

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	addrA = netip.MustParseAddr("198.18.0.1")
	addrB = netip.MustParseAddr("198.18.0.2")
)

func wantAllowed(t *testing.T, l *Limiter, a netip.Addr) {
	t.Helper()
	if d, ok := l.Check(a); !ok {
		t.Fatalf("Check(%v) = %v, false; want allowed", a, d)
	}
}

func wantBlocked(t *testing.T, l *Limiter, a netip.Addr, want time.Duration) {
	t.Helper()
	if d, ok := l.Check(a); ok || d != want {
		t.Fatalf("Check(%v) = %v, %v; want blocked for %v", a, d, ok, want)
	}
}

func failN(l *Limiter, a netip.Addr, n int) {
	for range n {
		l.Fail(a)
	}
}

func TestLimiterBlocksAndDoubles(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLimiter(clk.now)
	failN(l, addrA, 4)
	wantAllowed(t, l, addrA)
	l.Fail(addrA)
	wantBlocked(t, l, addrA, 2*time.Second)
	wantAllowed(t, l, addrB)

	clk.advance(500 * time.Millisecond)
	wantBlocked(t, l, addrA, 1500*time.Millisecond)
	// A failure reported during the block (a request that passed Check
	// before it began) does not escalate it.
	l.Fail(addrA)
	wantBlocked(t, l, addrA, 1500*time.Millisecond)

	clk.advance(1500 * time.Millisecond)
	wantAllowed(t, l, addrA)
	for _, want := range []time.Duration{4, 8, 16, 32, 64, 128, 256, 300, 300} {
		l.Fail(addrA)
		wantBlocked(t, l, addrA, want*time.Second)
		clk.advance(want * time.Second)
		wantAllowed(t, l, addrA)
	}
	wantAllowed(t, l, addrB)

	l.Succeed(addrA)
	wantAllowed(t, l, addrA)
	failN(l, addrA, 4)
	wantAllowed(t, l, addrA)
	l.Fail(addrA)
	wantBlocked(t, l, addrA, 2*time.Second)
}

func TestLimiterSucceedClears(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLimiter(clk.now)
	failN(l, addrA, 5)
	failN(l, addrB, 5)
	wantBlocked(t, l, addrA, 2*time.Second)
	l.Succeed(addrA)
	wantAllowed(t, l, addrA)
	wantBlocked(t, l, addrB, 2*time.Second)
	failN(l, addrA, 4)
	wantAllowed(t, l, addrA)
	// An IPv4-mapped IPv6 address is the same client.
	l.Fail(netip.AddrFrom16(addrA.As16()))
	wantBlocked(t, l, addrA, 2*time.Second)
}

func TestLimiterForgetsOldFailures(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLimiter(clk.now)
	failN(l, addrA, 4)
	clk.advance(time.Minute)
	l.Fail(addrA)
	wantAllowed(t, l, addrA)

	// A sliding window: failures at 0, 20, 40, 50 s and then 70 s make
	// 4 within the last minute; one more at 75 s makes 5.
	l2 := NewLimiter(clk.now)
	for _, d := range []time.Duration{0, 20, 20, 10} {
		clk.advance(d * time.Second)
		l2.Fail(addrB)
	}
	clk.advance(20 * time.Second)
	l2.Fail(addrB)
	wantAllowed(t, l2, addrB)
	clk.advance(5 * time.Second)
	l2.Fail(addrB)
	wantBlocked(t, l2, addrB, 2*time.Second)

	// A minute after a block ends with no failure, the escalation is
	// forgotten as well.
	clk.advance(2*time.Second + time.Minute)
	l2.Fail(addrB)
	wantAllowed(t, l2, addrB)
	if n := l2.tracked(); n != 1 {
		t.Errorf("tracking %d addresses, want 1", n)
	}
	clk.advance(time.Minute)
	l2.Fail(addrA) // prunes addrB, stale now
	if n := l2.tracked(); n != 1 {
		t.Errorf("tracking %d addresses after a minute, want 1", n)
	}
}

func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLimiter(clk.now)
	failN(l, addrA, 5)
	wantBlocked(t, l, addrA, 2*time.Second)
	base := netip.MustParseAddr("10.0.0.0").As4()
	for i := range maxAddrs {
		a := base
		a[2], a[3] = byte(i>>8), byte(i)
		l.Fail(netip.AddrFrom4(a))
	}
	if n := l.tracked(); n != maxAddrs {
		t.Errorf("tracking %d addresses, want %d", n, maxAddrs)
	}
	// addrA was seen least recently: forgotten.
	wantAllowed(t, l, addrA)
}

func TestLimiterConcurrent(t *testing.T) {
	t.Parallel()
	clk := newClock()
	l := NewLimiter(clk.now)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			a := netip.AddrFrom4([4]byte{198, 18, 1, byte(i)})
			for range 100 {
				l.Check(a)
				l.Fail(a)
				l.Check(addrA)
				l.Fail(addrA)
			}
			l.Succeed(a)
		})
	}
	wg.Wait()
	wantBlocked(t, l, addrA, 2*time.Second)
	if n := l.tracked(); n != 1 {
		t.Errorf("tracking %d addresses, want 1", n)
	}
}
