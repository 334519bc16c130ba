package alloc

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
)

// genStore is a Store of n generated leases that writes nothing: Put
// succeeds at once, Load hands out lease i of n (see genLease) from one
// reused Lease, so that what a benchmark measures is the allocator's own
// work and memory.
type genStore struct {
	n   int
	now time.Time
}

func (s *genStore) Put(context.Context, *lease.Lease) error { return nil }

func (s *genStore) Load(ctx context.Context, fn func(*lease.Lease) error) error {
	var l lease.Lease
	hw := make([]byte, 6)
	for i := range s.n {
		genLease(&l, hw, i, s.now)
		if err := fn(&l); err != nil {
			return err
		}
	}
	return nil
}

func (s *genStore) Len() int { return s.n }

// genAddr is the address of lease i: 10.0.0.0/8 from 10.0.0.1 on.
func genAddr(i int) netip.Addr {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 10<<24+uint32(i)+1)
	return netip.AddrFrom4(a)
}

// genMAC writes the distinct hardware address of client i to hw (6 bytes).
func genMAC(hw []byte, i int) {
	hw[0], hw[1] = 0x02, 0xb0
	binary.BigEndian.PutUint32(hw[2:], uint32(i))
}

// genLease fills l with a bound one-day lease of genAddr(i) for client i,
// started up to a day before now, with hw as its hardware address.
func genLease(l *lease.Lease, hw []byte, i int, now time.Time) {
	genMAC(hw, i)
	start := now.Add(-time.Duration(i%86400) * time.Second)
	*l = lease.Lease{
		Addr: genAddr(i), State: lease.Bound, HWType: 1, HWAddr: hw,
		Start: start, Expires: start.Add(24 * time.Hour),
		Subnet: benchSubnet,
	}
}

var benchSubnet = netip.MustParsePrefix("10.0.0.0/8")

func genKey(i int) lease.ClientKey {
	hw := make([]byte, 6)
	genMAC(hw, i)
	return lease.MakeKey(nil, 1, hw)
}

var benchNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func benchNowFunc() time.Time { return benchNow }

var (
	benchPool  = []Range{rng("10.0.0.1", "10.255.255.254")}
	benchPools = []PoolID{0}
)

// newBenchAllocator builds an allocator over 10.0.0.0/8 holding n bound leases.
func newBenchAllocator(b *testing.B, n int) *Allocator {
	b.Helper()
	a, err := New(b.Context(), &genStore{n: n, now: benchNow}, benchNowFunc, benchPool)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkNew measures building an allocator from a store of n bound
// leases: time, bytes allocated, and heap kept, per lease.
func BenchmarkNew(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("leases=%dk", n/1000), func(b *testing.B) {
			b.ReportAllocs()
			store := &genStore{n: n, now: benchNow}
			var kept uint64
			for b.Loop() {
				var before, after runtime.MemStats
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&before)
				b.StartTimer()
				a, err := New(b.Context(), store, benchNowFunc, benchPool)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				runtime.GC()
				runtime.ReadMemStats(&after)
				kept = after.HeapAlloc - before.HeapAlloc
				runtime.KeepAlive(a)
				b.StartTimer()
			}
			b.ReportMetric(float64(kept)/float64(n), "heap-B/lease")
		})
	}
}

// BenchmarkOffer measures Offer with 100k bound leases loaded: to a client
// that holds a lease (a renewing DISCOVER), and to new clients (each
// iteration a client never seen, given a never-used address).
func BenchmarkOffer(b *testing.B) {
	const n = 100_000
	b.Run("returning", func(b *testing.B) {
		a := newBenchAllocator(b, n)
		keys := make([]lease.ClientKey, 4096)
		for i := range keys {
			keys[i] = genKey(i * (n / len(keys)))
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := a.Offer(Request{Key: keys[i%len(keys)], Pools: benchPools, Hold: time.Minute}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("new", func(b *testing.B) {
		a := newBenchAllocator(b, n)
		keys := make([]lease.ClientKey, 1<<16)
		for i := range keys {
			keys[i] = genKey(n + i)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == len(keys) {
				// Every key offered once: start over with a fresh allocator.
				b.StopTimer()
				a, i = newBenchAllocator(b, n), 0
				b.StartTimer()
			}
			if _, err := a.Offer(Request{Key: keys[i], Pools: benchPools, Hold: time.Minute}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkCommit measures Commit of a bound lease with a store that
// writes nothing: a renewal of a held lease, and the REQUEST after an
// OFFER of a new client (Offer and Commit).
func BenchmarkCommit(b *testing.B) {
	const n = 100_000
	b.Run("renew", func(b *testing.B) {
		a := newBenchAllocator(b, n)
		ls := make([]lease.Lease, 4096)
		for i := range ls {
			genLease(&ls[i], make([]byte, 6), i*(n/len(ls)), benchNow)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := a.Commit(b.Context(), &ls[i%len(ls)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("offer-commit", func(b *testing.B) {
		a := newBenchAllocator(b, n)
		const batch = 1 << 16
		keys := make([]lease.ClientKey, batch)
		ls := make([]lease.Lease, batch)
		for i := range ls {
			keys[i] = genKey(n + i)
			genLease(&ls[i], make([]byte, 6), n+i, benchNow)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if i == batch {
				b.StopTimer()
				a, i = newBenchAllocator(b, n), 0
				b.StartTimer()
			}
			addr, err := a.Offer(Request{Key: keys[i], Pools: benchPools, Hold: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			ls[i].Addr = addr
			if err := a.Commit(b.Context(), &ls[i]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkNewFromJournal measures a server's start-up with n bound
// leases in a journal store: opening the store (open-ms), building the
// allocator from it (new-ms), and per lease the heap both hold then and
// all the resident memory they give back when dropped (heap or mapped).
func BenchmarkNewFromJournal(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	f, err := os.Create(filepath.Join(dir, journal.BackupName))
	if err != nil {
		b.Fatal(err)
	}
	leases := func(yield func(*lease.Lease) bool) {
		var l lease.Lease
		hw := make([]byte, 6)
		for i := range n {
			genLease(&l, hw, i, benchNow)
			l.Hostname = "host-" + strconv.Itoa(i)
			if i%2 == 0 {
				l.ClientID = append([]byte{1}, hw...)
			}
			if !yield(&l) {
				return
			}
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	if err := journal.WriteLeases(w, leases); err != nil {
		b.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var openTime, newTime time.Duration
	var heap, mem uint64
	for b.Loop() {
		t0 := time.Now()
		s, err := journal.Open(b.Context(), dir, journal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		a, err := New(b.Context(), s, benchNowFunc, benchPool)
		if err != nil {
			b.Fatal(err)
		}
		newTime += time.Since(t1)
		openTime += t1.Sub(t0)
		b.StopTimer()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc
		debug.FreeOSMemory()
		held := rssOf(b)
		runtime.KeepAlive(a)
		s.Close()
		debug.FreeOSMemory()
		mem = held - min(held, rssOf(b))
		b.StartTimer()
	}
	b.ReportMetric(float64(openTime.Milliseconds())/float64(b.N), "open-ms")
	b.ReportMetric(float64(newTime.Milliseconds())/float64(b.N), "new-ms")
	b.ReportMetric(float64(heap)/n, "heap-B/lease")
	b.ReportMetric(float64(mem)/n, "mem-B/lease")
}

// rssOf is this process's resident set size.
func rssOf(tb testing.TB) uint64 {
	rss, _ := leasetest.Memory(tb, 0)
	return rss
}
