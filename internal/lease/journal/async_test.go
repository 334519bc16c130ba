package journal_test

import (
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
)

// TestPutAsync: every accepted PutAsync is answered once with nil, the
// leases are readable afterwards and after a reopen, the lease given is the
// caller's again as soon as PutAsync returns, and many changes share a
// commit.
func TestPutAsync(t *testing.T) {
	dir := t.TempDir()
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	var wg sync.WaitGroup
	var failed atomic.Int64
	want := map[uint32]lease.Lease{}
	var l lease.Lease
	for i := range uint32(n) {
		want[i] = leasetest.MakeLease(i)
		l = leasetest.MakeLease(i)
		wg.Add(1)
		if err := s.PutAsync(&l, func(err error) {
			if err != nil {
				failed.Add(1)
			}
			wg.Done()
		}); err != nil {
			t.Fatalf("PutAsync %d: %v", i, err)
		}
		l.Hostname, l.HWAddr[0] = "changed", 0xff // the store keeps nothing of l
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d PutAsync callbacks reported an error", failed.Load())
	}
	st := s.Stats()
	if st.Records != n || st.Commits == 0 || st.Commits >= n {
		t.Errorf("Stats after %d PutAsync: %+v, want %d records in fewer commits", n, st, n)
	}
	t.Logf("%d leases in %d commits", st.Records, st.Commits)
	check := func(s lease.Store) {
		got := leasetest.LoadAll(t, s)
		if len(got) != n {
			t.Fatalf("%d leases stored, want %d", len(got), n)
		}
		for i, w := range want {
			if g := got[w.Addr]; !g.Equal(&w) {
				t.Fatalf("lease %d: got %+v, want %+v", i, g, w)
			}
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	check(s2)
}

// TestPutAsyncClose: Close while changes are queued answers every accepted
// PutAsync exactly once (committed, or ErrClosed), and PutAsync after Close
// fails at once without calling back.
func TestPutAsyncClose(t *testing.T) {
	s, err := journal.Open(t.Context(), t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var accepted, answered, closedErrs atomic.Int64
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range uint32(500) {
				l := leasetest.MakeLease(uint32(g)<<16 | i)
				err := s.PutAsync(&l, func(err error) {
					answered.Add(1)
					if errors.Is(err, lease.ErrClosed) {
						closedErrs.Add(1)
					} else if err != nil {
						t.Errorf("callback: %v", err)
					}
				})
				if err == nil {
					accepted.Add(1)
				} else if !errors.Is(err, lease.ErrClosed) {
					t.Errorf("PutAsync: %v", err)
				}
			}
		})
	}
	for accepted.Load() < 200 { // close in the middle of the stream
		runtime.Gosched()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if accepted.Load() == 4*500 {
		t.Log("every PutAsync was accepted before Close; the race was not exercised this time")
	}
	// After Close returns, the writer has answered everything it accepted.
	if a, b := accepted.Load(), answered.Load(); a != b {
		t.Errorf("%d PutAsync accepted, %d answered", a, b)
	}
	t.Logf("accepted %d, of which %d failed with ErrClosed", accepted.Load(), closedErrs.Load())
	l := leasetest.MakeLease(1)
	if err := s.PutAsync(&l, func(error) { t.Error("callback after a refused PutAsync") }); !errors.Is(err, lease.ErrClosed) {
		t.Errorf("PutAsync after Close: %v, want ErrClosed", err)
	}
}

// TestOnCommit: the hook runs after each commit, once that commit's
// callbacks have run, on the same goroutine as they (the race detector
// would see plain counters shared across goroutines).
func TestOnCommit(t *testing.T) {
	s, err := journal.Open(t.Context(), t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const n = 500
	called, hooked := 0, []int{}
	final := make(chan struct{})
	done := final
	s.OnCommit(func() {
		if called == n+1 && final != nil {
			close(final) // the last commit's hook: the test may read hooked
			final = nil
			return
		}
		hooked = append(hooked, called)
	})
	var wg sync.WaitGroup
	for i := range uint32(n) {
		l := leasetest.MakeLease(i)
		wg.Add(1)
		if err := s.PutAsync(&l, func(error) { called++; wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	l := leasetest.MakeLease(n) // one more commit, after all the others
	if err := s.PutAsync(&l, func(error) { called++ }); err != nil {
		t.Fatal(err)
	}
	<-done
	if len(hooked) == 0 || hooked[len(hooked)-1] != n {
		t.Fatalf("hook saw %v callbacks done, want the last before the final commit to see %d", hooked, n)
	}
	for i := 1; i < len(hooked); i++ {
		if hooked[i] <= hooked[i-1] {
			t.Fatalf("hook calls saw %v: a commit without callbacks, or out of order", hooked)
		}
	}
	if st := s.Stats(); int(st.Commits) != len(hooked)+1 {
		t.Errorf("%d commits, %d hook calls", st.Commits, len(hooked))
	}
}
