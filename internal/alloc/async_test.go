package alloc

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"bootd/internal/lease"
)

// gateStore is an AsyncStore whose writes wait until the test releases
// them, so the test can look at the allocator while a commit is pending.
type gateStore struct {
	Store
	mu      sync.Mutex
	waiting []func()
	fail    error
}

func (g *gateStore) PutAsync(l *lease.Lease, done func(error)) error {
	cp := *l // the store keeps nothing of l
	cp.HWAddr = append([]byte(nil), l.HWAddr...)
	g.mu.Lock()
	defer g.mu.Unlock()
	fail := g.fail
	g.waiting = append(g.waiting, func() {
		if fail != nil {
			done(fail)
			return
		}
		done(g.Store.Put(context.Background(), &cp))
	})
	return nil
}

// release completes the pending writes.
func (g *gateStore) release() {
	g.mu.Lock()
	w := g.waiting
	g.waiting = nil
	g.mu.Unlock()
	for _, f := range w {
		f()
	}
}

func TestCommitAsync(t *testing.T) {
	f := newFixture(t, rng("198.18.5.10", "198.18.5.20"))
	gs := &gateStore{Store: f.store}
	a, err := New(t.Context(), gs, f.clk.now, []Range{rng("198.18.5.10", "198.18.5.20")})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := a.Offer(Request{Key: key(1), Pools: []PoolID{0}, Hold: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	var got []error
	done := func(err error) { got = append(got, err) }
	l := clientLease(1, addr, f.clk.now(), time.Hour)
	if err := a.CommitAsync(l, done); err != nil {
		t.Fatalf("CommitAsync: %v", err)
	}
	// Pending: nobody else gets the address, the same client is told to
	// wait, and its DISCOVER too.
	if err := a.CommitAsync(clientLease(2, addr, f.clk.now(), time.Hour), done); !errors.Is(err, ErrConflict) {
		t.Errorf("another client's commit of a pending address: %v, want ErrConflict", err)
	}
	if err := a.CommitAsync(clientLease(1, addr, f.clk.now(), time.Hour), done); !errors.Is(err, ErrBusy) {
		t.Errorf("the same client's second commit while pending: %v, want ErrBusy", err)
	}
	if _, err := a.Offer(Request{Key: key(1), Pools: []PoolID{0}, Hold: time.Minute}); !errors.Is(err, ErrBusy) {
		t.Errorf("the same client's offer while pending: %v, want ErrBusy", err)
	}
	if other, err := a.Offer(Request{Key: key(2), Pools: []PoolID{0}, Requested: addr, Hold: time.Minute}); err != nil || other == addr {
		t.Errorf("another client's offer asking for the pending address: %v, %v; want another address", other, err)
	}
	if len(got) != 0 {
		t.Fatalf("done called before the write: %v", got)
	}
	gs.release()
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("done calls after the write: %v, want one nil", got)
	}
	if cur, st, ok := a.Lookup(key(1)); !ok || cur != addr || st != lease.Bound {
		t.Errorf("Lookup after the write: %v %v %v, want %v bound", cur, st, ok, addr)
	}
	if sl, err := f.store.Get(t.Context(), addr); err != nil || sl.State != lease.Bound {
		t.Errorf("store after the write: %+v, %v", sl, err)
	}

	// A failed write undoes the claim: the address is free again.
	gs.fail = errInjected
	addr3, err := a.Offer(Request{Key: key(3), Pools: []PoolID{0}, Hold: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := a.CommitAsync(clientLease(3, addr3, f.clk.now(), time.Hour), done); err != nil {
		t.Fatal(err)
	}
	gs.release()
	if len(got) != 1 || !errors.Is(got[0], errInjected) {
		t.Fatalf("done after a failed write: %v, want the injected error", got)
	}
	if k, st, held := a.Holder(addr3); held && st == lease.Bound {
		t.Errorf("after a failed write %v is held by %q (%v)", addr3, k, st)
	}
}

// TestCommitAsyncWithoutAsyncStore: a plain Store is written before
// CommitAsync returns, and done has been called.
func TestCommitAsyncWithoutAsyncStore(t *testing.T) {
	f := newFixture(t, rng("198.18.5.10", "198.18.5.20"))
	a, err := New(t.Context(), &failStore{Store: f.store}, f.clk.now, []Range{rng("198.18.5.10", "198.18.5.20")})
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("198.18.5.12")
	called := false
	if err := a.CommitAsync(clientLease(1, addr, f.clk.now(), time.Hour), func(err error) {
		called = err == nil
	}); err != nil || !called {
		t.Fatalf("CommitAsync on a journal: %v, done called with nil: %v", err, called)
	}
}
