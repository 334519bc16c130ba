// Package leasetest is the conformance suite every lease.Store backend must
// pass, plus helpers for backend tests: Run checks the Store contract
// (round trips, replacement, durability across reopen, concurrency, context,
// close and locking rules, consistent backups, a large reload), and RunCrash
// checks that acknowledged leases survive SIGKILL of the writing process.
//
// Contract details the suite pins down, beyond the lease.Store comments:
//   - empty and nil byte slices are stored alike and read back as nil;
//   - times read back equal (time.Time.Equal) to those written, in UTC;
//   - a Put or Delete whose context is already done writes nothing and
//     returns an error wrapping the context's error;
//   - after Close every method returns ErrClosed, and Close again returns nil;
//   - a second Open of a directory in use fails with ErrLocked, promptly;
//   - Backup's bytes, saved as Backend.BackupName in an empty directory,
//     open as a store holding every lease acknowledged before Backup began.
package leasetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"bootd/internal/lease"
)

// Backend describes a store implementation to the suite.
type Backend struct {
	// Open opens the store kept in dir, creating it if dir holds none.
	Open func(ctx context.Context, dir string) (lease.Store, error)
	// BackupName is the file name under which the bytes written by Backup
	// form a store, when placed alone in a directory passed to Open.
	BackupName string
}

// OpenStore opens the store in dir and closes it when the test ends.
func OpenStore(t testing.TB, b Backend, dir string) lease.Store {
	t.Helper()
	s, err := b.Open(t.Context(), dir)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s: %v", dir, err)
		}
	})
	return s
}

// NewStore opens a fresh store under t.TempDir and closes it when the test
// ends. It returns the directory too, for reopening.
func NewStore(t testing.TB, b Backend) (lease.Store, string) {
	t.Helper()
	dir := t.TempDir()
	return OpenStore(t, b, dir), dir
}

// MakeLease returns a lease for the n-th address of 10.0.0.0/8 with every
// field set, a function of n only, so a test can rebuild what it wrote.
func MakeLease(n uint32) lease.Lease {
	a := [4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)}
	start := time.Date(2026, 11, 23, 4, 0, 0, int(n%1e9), time.UTC).Add(time.Duration(n) * time.Second)
	mac := []byte{0x02, 0, a[0], a[1], a[2], a[3]}
	l := lease.Lease{
		Addr:      netip.AddrFrom4(a),
		State:     lease.State(n%5 + 1),
		HWType:    1,
		HWAddr:    mac,
		Hostname:  fmt.Sprintf("host-%d", n),
		Start:     start,
		Expires:   start.Add(time.Hour),
		Subnet:    netip.PrefixFrom(netip.AddrFrom4([4]byte{10, a[1], a[2], 0}), 24),
		CircuitID: []byte("eth0/1/" + fmt.Sprint(n%48)),
		RemoteID:  []byte{a[3]},
	}
	if n%3 == 0 {
		l.ClientID = append([]byte{1}, mac...)
		l.UUID = [16]byte{0: 0x55, 14: a[2], 15: a[3]}
	}
	if n%7 == 0 {
		l.Expires = time.Time{} // BOOTP: infinite
	}
	return l
}

// Run runs the conformance suite against b.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		f    func(*testing.T, Backend)
	}{
		{"RoundTrip", testRoundTrip},
		{"EmptySlicesReadAsNil", testEmptySlices},
		{"Replace", testReplace},
		{"NotFoundAndDelete", testNotFound},
		{"RejectsInvalid", testRejectsInvalid},
		{"LoadStopsAtError", testLoadStops},
		{"ReopenRestores", testReopen},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Context", testContext},
		{"Closed", testClosed},
		{"Locked", testLocked},
		{"BackupWhilePutting", testBackup},
		{"LargeReload", testLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, b) })
	}
}

// LoadAll returns every lease of s by address.
func LoadAll(t testing.TB, s lease.Store) map[netip.Addr]lease.Lease {
	t.Helper()
	got := make(map[netip.Addr]lease.Lease)
	err := s.Load(t.Context(), func(l *lease.Lease) error {
		if _, dup := got[l.Addr]; dup {
			return fmt.Errorf("address %v loaded twice", l.Addr)
		}
		got[l.Addr] = *l
		return nil
	})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return got
}

// CheckContents fails t unless s holds exactly want, checked through both
// Load and Get.
func CheckContents(t testing.TB, s lease.Store, want map[netip.Addr]lease.Lease) {
	t.Helper()
	got := LoadAll(t, s)
	if len(got) != len(want) {
		t.Errorf("load: %d leases, want %d", len(got), len(want))
	}
	bad := 0
	for _, a := range slices.SortedFunc(maps.Keys(want), netip.Addr.Compare) {
		w := want[a]
		g, ok := got[a]
		if !ok {
			t.Errorf("load: lease %v missing", a)
		} else if !g.Equal(&w) || g.Subnet != w.Subnet {
			t.Errorf("load: lease %v:\n got %+v\nwant %+v", a, g, w)
		} else {
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("too many differences")
		}
	}
	// Get on a sample (all of them when small).
	step := max(1, len(want)/1000)
	i := 0
	for a, w := range want {
		if i++; i%step != 0 {
			continue
		}
		g, err := s.Get(t.Context(), a)
		if err != nil {
			t.Fatalf("get %v: %v", a, err)
		}
		if !g.Equal(&w) {
			t.Fatalf("get %v:\n got %+v\nwant %+v", a, g, w)
		}
	}
}

func put(t testing.TB, s lease.Store, l lease.Lease) {
	t.Helper()
	if err := s.Put(t.Context(), &l); err != nil {
		t.Fatalf("put %v: %v", l.Addr, err)
	}
}

func testRoundTrip(t *testing.T, b Backend) {
	s, _ := NewStore(t, b)
	want := make(map[netip.Addr]lease.Lease)
	for n := range uint32(30) {
		l := MakeLease(n)
		put(t, s, l)
		want[l.Addr] = l
	}
	// A lease with nothing but its address, and one with extreme values.
	bare := lease.Lease{Addr: netip.MustParseAddr("192.0.2.1")}
	full := lease.Lease{
		Addr: netip.MustParseAddr("255.255.255.255"), State: lease.Declined, ClientID: bytes.Repeat([]byte{0xff}, 255),
		HWType: 0xff, HWAddr: bytes.Repeat([]byte{0xee}, 16), Hostname: string(bytes.Repeat([]byte("h"), 255)),
		Start: time.Date(1970, 1, 1, 0, 0, 0, 1, time.UTC), Expires: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		Subnet: netip.MustParsePrefix("0.0.0.0/0"), UUID: [16]byte{0xff, 0xff, 15: 0xff},
		CircuitID: bytes.Repeat([]byte{0}, 64), RemoteID: bytes.Repeat([]byte{1}, 64),
	}
	// Times in another zone read back as the same instant.
	zoned := MakeLease(1 << 20)
	zoned.Start = zoned.Start.In(time.FixedZone("X", 3600))
	for _, l := range []lease.Lease{bare, full, zoned} {
		put(t, s, l)
		want[l.Addr] = l
	}
	CheckContents(t, s, want)
	if g, err := s.Get(t.Context(), bare.Addr); err != nil || !g.Expires.IsZero() || !g.Start.IsZero() || g.Subnet.IsValid() {
		t.Errorf("get bare lease = %+v, %v; want zero times and subnet", g, err)
	}
	if g, err := s.Get(t.Context(), MakeLease(7).Addr); err != nil || !g.Expires.IsZero() {
		t.Errorf("infinite lease read back with Expires %v, %v; want zero", g.Expires, err)
	}
}

func testEmptySlices(t *testing.T, b Backend) {
	s, dir := NewStore(t, b)
	l := lease.Lease{Addr: netip.MustParseAddr("10.9.9.9"), State: lease.Bound, ClientID: []byte{}, HWAddr: []byte{}, CircuitID: []byte{}, RemoteID: []byte{}}
	put(t, s, l)
	check := func(s lease.Store) {
		g, err := s.Get(t.Context(), l.Addr)
		if err != nil {
			t.Fatal(err)
		}
		if g.ClientID != nil || g.HWAddr != nil || g.CircuitID != nil || g.RemoteID != nil {
			t.Errorf("empty slices read back non-nil: %#v", g)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(OpenStore(t, b, dir))
}

func testReplace(t *testing.T, b Backend) {
	s, dir := NewStore(t, b)
	l := MakeLease(5)
	put(t, s, l)
	l2 := MakeLease(6)
	l2.Addr = l.Addr
	l2.ClientID = nil // field cleared by the replacement
	put(t, s, l2)
	want := map[netip.Addr]lease.Lease{l.Addr: l2}
	CheckContents(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	CheckContents(t, OpenStore(t, b, dir), want)
}

func testNotFound(t *testing.T, b Backend) {
	s, dir := NewStore(t, b)
	ctx := t.Context()
	missing := netip.MustParseAddr("10.1.1.1")
	if _, err := s.Get(ctx, missing); !errors.Is(err, lease.ErrNotFound) {
		t.Errorf("get missing: err = %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, missing); err != nil {
		t.Errorf("delete missing: %v, want nil", err)
	}
	keep, gone := MakeLease(1), MakeLease(2)
	put(t, s, keep)
	put(t, s, gone)
	if err := s.Delete(ctx, gone.Addr); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, gone.Addr); !errors.Is(err, lease.ErrNotFound) {
		t.Errorf("get deleted: err = %v, want ErrNotFound", err)
	}
	want := map[netip.Addr]lease.Lease{keep.Addr: keep}
	CheckContents(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = OpenStore(t, b, dir)
	CheckContents(t, s, want)
	// Put after Delete brings it back.
	put(t, s, gone)
	want[gone.Addr] = gone
	CheckContents(t, s, want)
}

func testRejectsInvalid(t *testing.T, b Backend) {
	s, _ := NewStore(t, b)
	for _, a := range []netip.Addr{{}, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:10.0.0.1")} {
		l := MakeLease(1)
		l.Addr = a
		if err := s.Put(t.Context(), &l); err == nil || errors.Is(err, lease.ErrClosed) {
			t.Errorf("put with address %v: err = %v, want a validation error", a, err)
		}
	}
	CheckContents(t, s, map[netip.Addr]lease.Lease{})
}

func testLoadStops(t *testing.T, b Backend) {
	s, _ := NewStore(t, b)
	for n := range uint32(10) {
		put(t, s, MakeLease(n))
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Load(t.Context(), func(*lease.Lease) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("load: err = %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("callback ran %d times, want 3", calls)
	}
}

func testReopen(t *testing.T, b Backend) {
	dir := t.TempDir()
	want := make(map[netip.Addr]lease.Lease)
	for round := range uint32(3) {
		s, err := b.Open(t.Context(), dir)
		if err != nil {
			t.Fatalf("round %d: open: %v", round, err)
		}
		CheckContents(t, s, want)
		for n := range uint32(200) {
			l := MakeLease(n + round*100) // half replace the last round's
			put(t, s, l)
			want[l.Addr] = l
		}
		for n := round * 100; n < round*100+200; n += 9 {
			a := MakeLease(n).Addr
			if err := s.Delete(t.Context(), a); err != nil {
				t.Fatal(err)
			}
			delete(want, a)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("round %d: close: %v", round, err)
		}
	}
	CheckContents(t, OpenStore(t, b, dir), want)
}

func testConcurrentPuts(t *testing.T, b Backend) {
	s, dir := NewStore(t, b)
	const writers, each = 64, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range uint32(writers) {
		wg.Go(func() {
			for i := range uint32(each) {
				l := MakeLease(w*each + i)
				if err := s.Put(t.Context(), &l); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent put: %v", err)
	}
	want := make(map[netip.Addr]lease.Lease)
	for n := range uint32(writers * each) {
		l := MakeLease(n)
		want[l.Addr] = l
	}
	CheckContents(t, s, want)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	CheckContents(t, OpenStore(t, b, dir), want)
}

func testContext(t *testing.T, b Backend) {
	s, dir := NewStore(t, b)
	kept := MakeLease(1)
	put(t, s, kept)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	l := MakeLease(2)
	if err := s.Put(ctx, &l); !errors.Is(err, context.Canceled) {
		t.Errorf("put: err = %v, want context.Canceled", err)
	}
	if err := s.Delete(ctx, kept.Addr); !errors.Is(err, context.Canceled) {
		t.Errorf("delete: err = %v, want context.Canceled", err)
	}
	if _, err := s.Get(ctx, kept.Addr); !errors.Is(err, context.Canceled) {
		t.Errorf("get: err = %v, want context.Canceled", err)
	}
	if err := s.Load(ctx, func(*lease.Lease) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("load: err = %v, want context.Canceled", err)
	}
	if err := s.Backup(ctx, &bytes.Buffer{}); !errors.Is(err, context.Canceled) {
		t.Errorf("backup: err = %v, want context.Canceled", err)
	}
	// Load notices cancellation between leases.
	for n := range uint32(50) {
		put(t, s, MakeLease(100+n))
	}
	ctx2, cancel2 := context.WithCancel(t.Context())
	calls := 0
	err := s.Load(ctx2, func(*lease.Lease) error {
		calls++
		cancel2()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("load cancelled in callback: err = %v after %d calls, want context.Canceled after 1", err, calls)
	}
	// Nothing written by the cancelled calls.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = OpenStore(t, b, dir)
	if _, err := s.Get(t.Context(), l.Addr); !errors.Is(err, lease.ErrNotFound) {
		t.Errorf("lease of a cancelled put: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(t.Context(), kept.Addr); err != nil {
		t.Errorf("lease of a cancelled delete: %v", err)
	}
}

func testClosed(t *testing.T, b Backend) {
	s, err := b.Open(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := MakeLease(1)
	put(t, s, l)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	checks := map[string]error{
		"put":    s.Put(ctx, &l),
		"delete": s.Delete(ctx, l.Addr),
		"load":   s.Load(ctx, func(*lease.Lease) error { return nil }),
		"backup": s.Backup(ctx, &bytes.Buffer{}),
	}
	_, checks["get"] = s.Get(ctx, l.Addr)
	for op, err := range checks {
		if !errors.Is(err, lease.ErrClosed) {
			t.Errorf("%s after close: err = %v, want ErrClosed", op, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("second close: %v, want nil", err)
	}
}

func testLocked(t *testing.T, b Backend) {
	s, dir := NewStore(t, b)
	type result struct {
		s   lease.Store
		err error
	}
	done := make(chan result, 1)
	go func() {
		s2, err := b.Open(t.Context(), dir)
		done <- result{s2, err}
	}()
	timeout := time.NewTimer(30 * time.Second)
	defer timeout.Stop()
	select {
	case r := <-done:
		if r.err == nil {
			r.s.Close()
			t.Fatal("second open of a store in use succeeded")
		}
		if !errors.Is(r.err, lease.ErrLocked) {
			t.Errorf("second open: err = %v, want ErrLocked", r.err)
		}
	case <-timeout.C:
		t.Fatal("second open of a store in use hangs")
	}
	put(t, s, MakeLease(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := OpenStore(t, b, dir)
	CheckContents(t, s3, map[netip.Addr]lease.Lease{MakeLease(1).Addr: MakeLease(1)})
}

func testBackup(t *testing.T, b Backend) {
	s, _ := NewStore(t, b)
	ctx := t.Context()
	const base = 300
	for n := range uint32(base) {
		put(t, s, MakeLease(n))
	}
	// Writers keep adding leases while the backup runs; acked records what
	// each has seen acknowledged.
	var (
		mu    sync.Mutex
		acked []uint32
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	const writers = 8
	started := make(chan struct{}, writers)
	for w := range uint32(writers) {
		wg.Go(func() {
			for i := uint32(0); ; i++ {
				n := base + w*100000 + i
				l := MakeLease(n)
				if err := s.Put(ctx, &l); err != nil {
					t.Errorf("put during backup: %v", err)
					return
				}
				mu.Lock()
				acked = append(acked, n)
				mu.Unlock()
				if i == 10 {
					started <- struct{}{}
				}
				select {
				case <-stop:
					return
				default:
				}
			}
		})
	}
	for range writers {
		<-started // every writer is in full swing
	}
	mu.Lock()
	before := slices.Clone(acked)
	mu.Unlock()
	var buf bytes.Buffer
	err := s.Backup(ctx, &buf)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, b.BackupName), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	restored := OpenStore(t, b, dir)
	got := LoadAll(t, restored)
	for _, n := range append(before, slices.Collect(func(yield func(uint32) bool) {
		for n := range uint32(base) {
			if !yield(n) {
				return
			}
		}
	})...) {
		w := MakeLease(n)
		g, ok := got[w.Addr]
		if !ok {
			t.Fatalf("backup lacks lease %v acknowledged before it began", w.Addr)
		}
		if !g.Equal(&w) {
			t.Fatalf("backup lease %v:\n got %+v\nwant %+v", w.Addr, g, w)
		}
	}
	// Nothing in the backup that was never written.
	for a, g := range got {
		n := uint32(a.As4()[1])<<16 | uint32(a.As4()[2])<<8 | uint32(a.As4()[3])
		if w := MakeLease(n); !g.Equal(&w) {
			t.Fatalf("backup holds a lease never written: %+v", g)
		}
	}
	t.Logf("backup: %d leases, %d acknowledged before it began", len(got), len(before)+base)
	// The restored store is usable.
	put(t, restored, MakeLease(999999))
}

func testLarge(t *testing.T, b Backend) {
	n := uint32(100000)
	if testing.Short() {
		n = 10000
	}
	s, dir := NewStore(t, b)
	const writers = 128
	var wg sync.WaitGroup
	for w := range uint32(writers) {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				l := MakeLease(i)
				if err := s.Put(t.Context(), &l); err != nil {
					t.Errorf("put: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s = OpenStore(t, b, dir)
	count := 0
	err := s.Load(t.Context(), func(l *lease.Lease) error {
		count++
		idx := uint32(l.Addr.As4()[1])<<16 | uint32(l.Addr.As4()[2])<<8 | uint32(l.Addr.As4()[3])
		if w := MakeLease(idx); idx >= n || !l.Equal(&w) {
			return fmt.Errorf("unexpected lease %+v", l)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count != int(n) {
		t.Fatalf("reloaded %d leases, want %d", count, n)
	}
	t.Logf("reopen + load of %d leases: %v", n, time.Since(start))
}
