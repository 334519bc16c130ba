package alloc

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"bootd/internal/lease"
)

// plainStore hides the Len and LoadShared of the store it wraps, so that
// New takes its general path.
type plainStore struct{ s Store }

func (p plainStore) Put(ctx context.Context, l *lease.Lease) error { return p.s.Put(ctx, l) }
func (p plainStore) Load(ctx context.Context, fn func(*lease.Lease) error) error {
	return p.s.Load(ctx, fn)
}

// wantView is what an allocator built from leases must say at now: who
// holds each address (Holder), and each client's address (Lookup) — the
// one of its leases, declined ones aside, that lasts longest.
type wantView struct {
	holder map[netip.Addr]lease.Lease // active leases
	client map[lease.ClientKey]lease.Lease
}

func viewOf(leases map[netip.Addr]lease.Lease, now time.Time) wantView {
	v := wantView{holder: map[netip.Addr]lease.Lease{}, client: map[lease.ClientKey]lease.Lease{}}
	end := func(l lease.Lease) time.Time {
		if l.Expires.IsZero() {
			return time.Unix(1<<40, 0)
		}
		return l.Expires
	}
	for a, l := range leases {
		if l.ActiveAt(now) {
			v.holder[a] = l
		}
		if l.State == lease.Declined {
			continue
		}
		if old, ok := v.client[l.Key()]; !ok || end(old).Before(end(l)) {
			v.client[l.Key()] = l
		}
	}
	return v
}

func checkView(t *testing.T, a *Allocator, leases map[netip.Addr]lease.Lease, now time.Time) {
	t.Helper()
	want := viewOf(leases, now)
	bad := 0
	fail := func(format string, args ...any) {
		t.Helper()
		if bad++; bad <= 10 {
			t.Errorf(format, args...)
		}
	}
	for addr, l := range leases {
		k, st, ok := a.Holder(addr)
		w, active := want.holder[addr]
		switch {
		case ok != active:
			fail("Holder(%v) held=%v, want %v (lease %v until %v)", addr, ok, active, l.State, l.Expires)
		case ok && (k != w.Key() || st != w.State):
			fail("Holder(%v) = %q %v, want %q %v", addr, k, st, w.Key(), w.State)
		}
	}
	for key, w := range want.client {
		addr, st, ok := a.Lookup(key)
		wantState := w.State
		if !ok || addr != w.Addr || st != wantState {
			fail("Lookup(%q) = %v %v %v, want %v %v", key, addr, st, ok, w.Addr, wantState)
		}
	}
	if _, _, ok := a.Lookup("h\x01never-seen"); ok {
		fail("Lookup of a client never seen found something")
	}
}

// TestRestartSameView fills a store with leases of every kind (bound,
// expired, released, declined, infinite, clients with several leases,
// client IDs and hardware addresses), and checks that an allocator built
// from it answers Holder and Lookup for every lease and client as the
// leases say — through the journal's Len and LoadShared, and without them.
func TestRestartSameView(t *testing.T) {
	const n = 20000
	r := rng("10.1.0.1", "10.1.255.254")
	f := newFixture(t, r)
	now := f.clk.now()
	leases := map[netip.Addr]lease.Lease{}
	put := func(l lease.Lease) {
		t.Helper()
		if err := f.store.Put(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
		leases[l.Addr] = l
	}
	for i := range n {
		addr := genAddr(1<<16 + i)
		l := *clientLease(i, addr, now.Add(-time.Duration(i)*time.Second), 2*time.Hour)
		switch i % 10 {
		case 1:
			l.ClientID = append([]byte{1}, l.HWAddr...)
		case 2:
			l.State = lease.Released
			l.Expires = l.Start
		case 3:
			l.State = lease.Declined
			l.Expires = now.Add(time.Hour)
		case 4:
			l.Expires = time.Time{} // BOOTP: never ends
		case 5:
			l.Expires = now.Add(-time.Minute) // expired bound lease
		case 6:
			// The client of lease i-1 has this one too, ending later or sooner.
			l.HWAddr = mac(i - 1)
			l.Expires = now.Add(time.Duration(i%3-1) * time.Hour)
		case 7:
			l.ClientID = []byte("i-am-client-" + string(rune('a'+i%26)))
		}
		put(l)
	}
	for _, store := range []struct {
		name string
		s    Store
	}{{"journal", f.store}, {"plain", plainStore{f.store}}} {
		t.Run(store.name, func(t *testing.T) {
			a, err := New(t.Context(), store.s, f.clk.now, []Range{r})
			if err != nil {
				t.Fatal(err)
			}
			checkView(t, a, leases, now)
		})
	}
	// And a restart of the store itself.
	f.restart(r)
	checkView(t, f.a, leases, now)
}

// newNopAllocator builds an allocator over 10.0.0.0/8 on a store that
// writes nothing, holding n bound leases (genLease).
func newNopAllocator(t *testing.T, n int) *Allocator {
	t.Helper()
	a, err := New(t.Context(), &genStore{n: n, now: benchNow}, benchNowFunc, benchPool)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// The packet path allocates nothing: a returning client's Offer, Commit of
// a renewal, Holder and Lookup.
func TestHotPathAllocs(t *testing.T) {
	a := newNopAllocator(t, 1000)
	var l lease.Lease
	genLease(&l, make([]byte, 6), 17, benchNow)
	key := l.Key()
	ctx := t.Context()
	for name, fn := range map[string]func(){
		"Offer":  func() { a.Offer(Request{Key: key, Pools: benchPools, Hold: time.Minute}) },
		"Commit": func() { a.Commit(ctx, &l) },
		"Holder": func() { a.Holder(l.Addr) },
		"Lookup": func() { a.Lookup(key) },
	} {
		if n := testing.AllocsPerRun(100, fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
	if k, _, ok := a.Holder(l.Addr); !ok || k != key {
		t.Errorf("Holder = %q, %v; want %q", k, ok, key)
	}
}

func TestKeyTooLong(t *testing.T) {
	f := newFixture(t, rng("198.18.0.1", "198.18.0.10"))
	long := make([]byte, maxKeyLen)
	if addr, err := f.a.Offer(Request{Key: lease.MakeKey(long, 0, nil), Pools: []PoolID{0}, Hold: time.Minute}); err == nil {
		t.Errorf("Offer to a client with a %d-byte key: %v", maxKeyLen+1, addr)
	}
	l := clientLease(1, netip.MustParseAddr("198.18.0.1"), f.clk.now(), time.Hour)
	l.ClientID = long
	if err := f.a.Commit(t.Context(), l); err == nil {
		t.Error("Commit of a lease with an over-long client key succeeded")
	}
	if _, err := f.store.Get(t.Context(), l.Addr); !errors.Is(err, lease.ErrNotFound) {
		t.Errorf("the refused lease is in the store: %v", err)
	}
	// One byte shorter is a key like any other (its lease is too big to
	// store, which is the store's to say).
	if _, err := f.a.Offer(Request{Key: lease.MakeKey(long[1:], 0, nil), Pools: []PoolID{0}, Hold: time.Minute}); err != nil {
		t.Errorf("Offer with a %d-byte key: %v", maxKeyLen, err)
	}
}
