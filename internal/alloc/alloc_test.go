package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// failStore wraps a real store and fails Puts while fail is set.
type failStore struct {
	Store
	mu   sync.Mutex
	fail bool
	puts int
}

var errInjected = errors.New("injected write failure")

func (f *failStore) Put(ctx context.Context, l *lease.Lease) error {
	f.mu.Lock()
	fail := f.fail
	f.puts++
	f.mu.Unlock()
	if fail {
		return errInjected
	}
	return f.Store.Put(ctx, l)
}

func openStore(t *testing.T, dir string) *journal.Store {
	t.Helper()
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rng(first, last string, excluded ...string) Range {
	r := Range{First: netip.MustParseAddr(first), Last: netip.MustParseAddr(last)}
	for _, x := range excluded {
		r.Excluded = append(r.Excluded, netip.MustParseAddr(x))
	}
	return r
}

type fixture struct {
	t     *testing.T
	dir   string
	store *journal.Store
	clk   *clock
	a     *Allocator
}

func newFixture(t *testing.T, ranges ...Range) *fixture {
	t.Helper()
	f := &fixture{t: t, dir: t.TempDir(), clk: newClock()}
	f.store = openStore(t, f.dir)
	t.Cleanup(func() { f.store.Close() })
	var err error
	f.a, err = New(t.Context(), f.store, f.clk.now, ranges)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// restart closes the store and builds a new allocator from the same directory.
func (f *fixture) restart(ranges ...Range) {
	f.t.Helper()
	if err := f.store.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.store = openStore(f.t, f.dir)
	var err error
	f.a, err = New(f.t.Context(), f.store, f.clk.now, ranges)
	if err != nil {
		f.t.Fatal(err)
	}
}

func mac(i int) []byte { return []byte{0x02, 0, 0, byte(i >> 16), byte(i >> 8), byte(i)} }

func clientLease(i int, addr netip.Addr, now time.Time, d time.Duration) *lease.Lease {
	return &lease.Lease{Addr: addr, State: lease.Bound, HWType: 1, HWAddr: mac(i), Start: now, Expires: now.Add(d)}
}

func key(i int) lease.ClientKey { return lease.MakeKey(nil, 1, mac(i)) }

// dora offers and commits an address for client i, as DISCOVER/REQUEST would.
func (f *fixture) dora(i int, pools ...PoolID) (netip.Addr, error) {
	f.t.Helper()
	addr, err := f.a.Offer(Request{Key: key(i), Pools: pools, Hold: time.Minute})
	if err != nil {
		return addr, err
	}
	return addr, f.a.Commit(f.t.Context(), clientLease(i, addr, f.clk.now(), time.Hour))
}

func TestDistinctAddresses(t *testing.T) {
	f := newFixture(t, rng("198.18.0.1", "198.18.3.254", "198.18.0.10", "198.18.1.1"))
	seen := map[netip.Addr]int{}
	for i := range 1000 {
		addr, err := f.dora(i, 0)
		if err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if other, dup := seen[addr]; dup {
			t.Fatalf("clients %d and %d both got %v", other, i, addr)
		}
		if addr.String() == "198.18.0.10" || addr.String() == "198.18.1.1" {
			t.Fatalf("client %d got excluded address %v", i, addr)
		}
		seen[addr] = i
	}
	// Every lease is on disk.
	n := 0
	if err := f.store.Load(t.Context(), func(*lease.Lease) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1000 {
		t.Errorf("store holds %d leases, want 1000", n)
	}
}

func TestConcurrentClients(t *testing.T) {
	f := newFixture(t, rng("198.18.0.1", "198.18.7.254"))
	const workers, each = 8, 150
	got := make([][]netip.Addr, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range each {
				addr, err := f.dora(w*each+j, 0)
				if err == nil {
					got[w] = append(got[w], addr)
				}
			}
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for w := range workers {
		if len(got[w]) != each {
			t.Errorf("worker %d: %d leases, want %d", w, len(got[w]), each)
		}
		for _, a := range got[w] {
			if seen[a] {
				t.Fatalf("%v given twice", a)
			}
			seen[a] = true
		}
	}
}

func (f *fixture) doraPools(i int) (netip.Addr, error) { return f.dora(i, 0) }

func TestExhaustion(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.109"))
	for i := range 10 {
		if _, err := f.doraPools(i); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if addr, err := f.a.Offer(Request{Key: key(10), Pools: []PoolID{0}, Hold: time.Minute}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("11th client got %v, %v; want ErrExhausted", addr, err)
	}
	// A client that already holds an address still gets it when the pool is full.
	if addr, err := f.a.Offer(Request{Key: key(3), Pools: []PoolID{0}, Hold: time.Minute}); err != nil || addr.String() != "198.18.0.103" {
		t.Fatalf("returning client got %v, %v; want 198.18.0.103", addr, err)
	}
	st := f.a.PoolStats(0)
	if st.Size != 10 || st.Active != 10 {
		t.Errorf("PoolStats = %+v, want size 10 active 10", st)
	}
}

func TestAllPoolStats(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.109", "198.18.0.105"), rng("198.18.1.0", "198.18.1.255"))
	for i := range 3 {
		if _, err := f.doraPools(i); err != nil { // the first pool
			t.Fatalf("client %d: %v", i, err)
		}
	}
	if _, err := f.a.Offer(Request{Key: key(9), Pools: []PoolID{1}, Hold: time.Minute}); err != nil {
		t.Fatal(err)
	}
	want := []Stats{{Size: 9, Active: 3}, {Size: 256, Active: 1}}
	got := f.a.AllPoolStats()
	if !slices.Equal(got, want) {
		t.Errorf("AllPoolStats = %+v, want %+v", got, want)
	}
	for i := range want {
		if st := f.a.PoolStats(PoolID(i)); st != want[i] {
			t.Errorf("PoolStats(%d) = %+v, want %+v", i, st, want[i])
		}
	}
}

func TestAffinityAfterRelease(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.199"))
	first, err := f.doraPools(1)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.a.Release(t.Context(), clientLease(1, first, f.clk.now(), time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A new client does not get the released address while never-used ones remain.
	second, err := f.doraPools(2)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Fatalf("new client got the just-released %v", first)
	}
	// The first client comes back and gets its old address.
	again, err := f.doraPools(1)
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Errorf("returning client got %v, want %v", again, first)
	}
	// Releasing an address one does not hold fails.
	if err := f.a.Release(t.Context(), clientLease(3, first, f.clk.now(), time.Hour)); !errors.Is(err, ErrNotHeld) {
		t.Errorf("release by another client: %v, want ErrNotHeld", err)
	}
}

func TestRequestedAddress(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.199"), rng("198.18.1.100", "198.18.1.199"))
	want := netip.MustParseAddr("198.18.0.150")
	got, err := f.a.Offer(Request{Key: key(1), Pools: []PoolID{0}, Requested: want, Hold: time.Minute})
	if err != nil || got != want {
		t.Fatalf("Offer with requested %v = %v, %v", want, got, err)
	}
	// Held by client 1 now: client 2 asking for it gets another.
	got2, err := f.a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Requested: want, Hold: time.Minute})
	if err != nil || got2 == want {
		t.Fatalf("second client asking for a held address got %v, %v", got2, err)
	}
	// An address outside the allowed pools is not honoured.
	outside := netip.MustParseAddr("198.18.1.150")
	got3, err := f.a.Offer(Request{Key: key(3), Pools: []PoolID{0}, Requested: outside, Hold: time.Minute})
	if err != nil || got3 == outside {
		t.Fatalf("request for an address of a pool not allowed: %v, %v", got3, err)
	}
}

func TestCommitConflict(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.199"))
	addr, err := f.doraPools(1)
	if err != nil {
		t.Fatal(err)
	}
	err = f.a.Commit(t.Context(), clientLease(2, addr, f.clk.now(), time.Hour))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("commit of another client's address: %v, want ErrConflict", err)
	}
	l, err := f.store.Get(t.Context(), addr)
	if err != nil || string(l.HWAddr) != string(mac(1)) {
		t.Errorf("store changed by a refused commit: %+v, %v", l, err)
	}
}

func TestOfferHoldExpires(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.100"))
	addr, err := f.a.Offer(Request{Key: key(1), Pools: []PoolID{0}, Hold: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Hold: 30 * time.Second}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("offer during another's hold: %v, want ErrExhausted", err)
	}
	if n := f.a.OffersExpired(); n != 0 {
		t.Errorf("OffersExpired during the hold = %d, want 0", n)
	}
	f.clk.advance(31 * time.Second)
	got, err := f.a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Hold: 30 * time.Second})
	if err != nil || got != addr {
		t.Fatalf("after the hold: %v, %v; want %v", got, err, addr)
	}
	if n := f.a.OffersExpired(); n != 1 {
		t.Errorf("OffersExpired after the hold = %d, want 1", n)
	}
	// Client 1 now cannot commit it.
	if err := f.a.Commit(t.Context(), clientLease(1, addr, f.clk.now(), time.Hour)); !errors.Is(err, ErrConflict) {
		t.Errorf("late commit by the first client: %v, want ErrConflict", err)
	}
}

func TestLeaseExpiryReclaims(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.101"))
	a1, _ := f.doraPools(1)
	f.clk.advance(time.Second)
	a2, _ := f.doraPools(2)
	if _, err := f.a.Offer(Request{Key: key(3), Pools: []PoolID{0}, Hold: time.Minute}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("full pool: %v", err)
	}
	f.clk.advance(time.Hour + 2*time.Second)
	if n := f.a.Reclaim(); n != 2 {
		t.Errorf("Reclaim = %d, want 2", n)
	}
	if n := f.a.OffersExpired(); n != 0 {
		t.Errorf("OffersExpired after bound leases expired = %d, want 0", n)
	}
	got, err := f.a.Offer(Request{Key: key(3), Pools: []PoolID{0}, Hold: time.Minute})
	if err != nil || (got != a1 && got != a2) {
		t.Fatalf("after expiry: %v, %v", got, err)
	}
	if got != a1 {
		t.Errorf("the address that expired first should be reused first: got %v, want %v", got, a1)
	}
}

func TestDeclineQuarantine(t *testing.T) {
	f := newFixture(t, rng("198.18.0.100", "198.18.0.100"))
	addr, err := f.doraPools(1)
	if err != nil {
		t.Fatal(err)
	}
	l := clientLease(1, addr, f.clk.now(), 0)
	l.Expires = f.clk.now().Add(time.Hour)
	if err := f.a.Decline(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	for _, c := range []int{1, 2} {
		if got, err := f.a.Offer(Request{Key: key(c), Pools: []PoolID{0}, Hold: time.Minute}); !errors.Is(err, ErrExhausted) {
			t.Errorf("client %d during quarantine got %v, %v", c, got, err)
		}
	}
	f.clk.advance(time.Hour)
	if got, err := f.a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Hold: time.Minute}); err != nil || got != addr {
		t.Errorf("after quarantine: %v, %v; want %v", got, err, addr)
	}
	// Quarantine survives a restart.
	f2 := newFixture(t, rng("198.18.0.100", "198.18.0.100"))
	a, _ := f2.doraPools(1)
	l = clientLease(1, a, f2.clk.now(), 0)
	l.Expires = f2.clk.now().Add(time.Hour)
	if err := f2.a.Decline(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	f2.restart(rng("198.18.0.100", "198.18.0.100"))
	if got, err := f2.a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Hold: time.Minute}); !errors.Is(err, ErrExhausted) {
		t.Errorf("quarantined address offered after restart: %v, %v", got, err)
	}
}

func TestRestartKeepsLeases(t *testing.T) {
	r := rng("198.18.0.100", "198.18.0.149")
	f := newFixture(t, r)
	held := map[int]netip.Addr{}
	for i := range 50 {
		addr, err := f.doraPools(i)
		if err != nil {
			t.Fatal(err)
		}
		held[i] = addr
	}
	f.restart(r)
	// Full: no new client gets any of them.
	if got, err := f.a.Offer(Request{Key: key(999), Pools: []PoolID{0}, Hold: time.Minute}); !errors.Is(err, ErrExhausted) {
		t.Fatalf("after restart a new client got %v, %v", got, err)
	}
	for i, want := range held {
		if got, _, ok := f.a.Lookup(key(i)); !ok || got != want {
			t.Errorf("client %d after restart: %v, want %v", i, got, want)
		}
		if got, err := f.a.Offer(Request{Key: key(i), Pools: []PoolID{0}, Hold: time.Minute}); err != nil || got != want {
			t.Errorf("client %d offered %v, %v; want %v", i, got, err, want)
		}
	}
}

func TestFailedCommitRollsBack(t *testing.T) {
	dir := t.TempDir()
	js := openStore(t, dir)
	t.Cleanup(func() { js.Close() })
	fs := &failStore{Store: js}
	clk := newClock()
	a, err := New(t.Context(), fs, clk.now, []Range{rng("198.18.0.100", "198.18.0.100")})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Offer(Request{Key: key(1), Pools: []PoolID{0}, Hold: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	fs.fail = true
	if err := a.Commit(t.Context(), clientLease(1, addr, clk.now(), time.Hour)); !errors.Is(err, errInjected) {
		t.Fatalf("commit with failing store: %v", err)
	}
	if _, _, ok := a.Holder(addr); !ok {
		t.Error("the offer was lost by a failed commit")
	}
	if _, err := js.Get(t.Context(), addr); !errors.Is(err, lease.ErrNotFound) {
		t.Errorf("store has a lease after a failed commit: %v", err)
	}
	clk.advance(2 * time.Second)
	fs.fail = false
	// The address is not bound to client 1: another client can have it.
	if got, err := a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Hold: time.Second}); err != nil || got != addr {
		t.Fatalf("after a failed commit and the hold: %v, %v", got, err)
	}
}

// A /8 pool costs no per-address memory: building the allocator and
// handing out the first addresses allocates almost nothing.
func TestLargePoolNoPerAddressCost(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	t.Cleanup(func() { s.Close() })
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clk := newClock()
	a, err := New(t.Context(), s, clk.now, []Range{rng("198.0.0.1", "198.255.255.254")})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if _, err := a.Offer(Request{Key: key(i), Pools: []PoolID{0}, Hold: time.Minute}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("a /8 pool and 100 offers allocated %d bytes", grew)
	}
	if st := a.PoolStats(0); st.Size != 1<<24-2 || st.Active != 100 {
		t.Errorf("PoolStats = %+v", st)
	}
}

func TestBadRanges(t *testing.T) {
	s := openStore(t, t.TempDir())
	t.Cleanup(func() { s.Close() })
	for _, rs := range [][]Range{
		{rng("198.18.0.10", "198.18.0.1")},
		{rng("198.18.0.1", "198.18.0.100"), rng("198.18.0.50", "198.18.0.150")},
		{{First: netip.MustParseAddr("2001:db8::1"), Last: netip.MustParseAddr("2001:db8::2")}},
	} {
		if _, err := New(t.Context(), s, time.Now, rs); err == nil {
			t.Errorf("New(%v) accepted", rs)
		}
	}
}

func ExampleAllocator() {
	// An allocator is built once from the configured pools and a store.
	fmt.Println(ErrExhausted)
	// Output: no free address in the pools
}
