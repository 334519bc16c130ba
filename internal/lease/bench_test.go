package lease_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/boltstore"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
)

type backend struct {
	name string
	open func(ctx context.Context, dir string) (lease.Store, error)
}

var backends = []backend{
	{"bolt", func(ctx context.Context, dir string) (lease.Store, error) {
		return boltstore.Open(ctx, dir, boltstore.Options{})
	}},
	{"journal", func(ctx context.Context, dir string) (lease.Store, error) {
		return journal.Open(ctx, dir, journal.Options{})
	}},
}

// commitsOf returns how many commits (fsync rounds) and changes a store has
// made, for the leases-per-commit figure.
func commitsOf(s lease.Store) (commits, changes uint64) {
	switch s := s.(type) {
	case *journal.Store:
		st := s.Stats()
		return st.Commits, st.Records
	case *boltstore.Store:
		st := s.Stats()
		return st.Commits, st.Changes
	}
	return 0, 0
}

// putAll Puts leases 0..n-1 from the given number of goroutines.
func putAll(tb testing.TB, s lease.Store, n, writers int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				l := leasetest.MakeLease(uint32(i) % (1 << 24))
				if err := s.Put(tb.Context(), &l); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkPut measures durable Puts from N concurrent writers. It fans b.N
// Puts out to N goroutines itself (b.Loop and b.RunParallel cannot give an
// exact writer count on 2 cores).
func BenchmarkPut(b *testing.B) {
	for _, be := range backends {
		for _, writers := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/parallel-%d", be.name, writers), func(b *testing.B) {
				s, err := be.open(b.Context(), b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				putAll(b, s, b.N, writers)
				elapsed := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "leases/s")
				if c, n := commitsOf(s); c > 0 {
					b.ReportMetric(float64(n)/float64(c), "leases/commit")
				}
			})
		}
	}
}

// BenchmarkLoad measures Open plus a full Load of a store of n leases, the
// heap held by the open store, and all the memory it holds (mem-MB: the
// resident memory it gives back at Close, heap or mapped).
func BenchmarkLoad(b *testing.B) {
	for _, be := range backends {
		for _, n := range []int{100_000, 1_000_000} {
			b.Run(fmt.Sprintf("%s/%dk", be.name, n/1000), func(b *testing.B) {
				dir := b.TempDir()
				s, err := be.open(b.Context(), dir)
				if err != nil {
					b.Fatal(err)
				}
				putAll(b, s, n, 512)
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
				var heap, mem uint64
				var openTime, loadTime time.Duration
				for b.Loop() {
					t0 := time.Now()
					s, err := be.open(b.Context(), dir)
					if err != nil {
						b.Fatal(err)
					}
					t1 := time.Now()
					openTime += t1.Sub(t0)
					count := 0
					if err := s.Load(b.Context(), func(*lease.Lease) error { count++; return nil }); err != nil {
						b.Fatal(err)
					}
					if count != n {
						b.Fatalf("loaded %d leases, want %d", count, n)
					}
					loadTime += time.Since(t1)
					b.StopTimer()
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					heap = ms.HeapInuse
					debug.FreeOSMemory()
					open := rssOf(b)
					s.Close()
					debug.FreeOSMemory()
					mem = open - min(open, rssOf(b))
					b.StartTimer()
				}
				b.ReportMetric(float64(openTime.Milliseconds())/float64(b.N), "open-ms")
				b.ReportMetric(float64(loadTime.Milliseconds())/float64(b.N), "load-ms")
				b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
				b.ReportMetric(float64(mem)/(1<<20), "mem-MB")
				b.ReportMetric(float64(dirSize(b, dir))/(1<<20), "disk-MB")
			})
		}
	}
}

func dirSize(tb testing.TB, dir string) int64 {
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n
}

// BenchmarkFdatasync is the reference: one 100-byte append (or overwrite of
// an already written block) and one fdatasync per iteration, what a store
// without group commit pays per lease.
func BenchmarkFdatasync(b *testing.B) {
	rec := make([]byte, 100)
	for _, mode := range []string{"append", "overwrite"} {
		b.Run(mode, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			if mode == "overwrite" {
				if _, err := f.Write(make([]byte, 1<<20)); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			fd := int(f.Fd())
			var off int64
			start := time.Now()
			for b.Loop() {
				if _, err := f.WriteAt(rec, off); err != nil {
					b.Fatal(err)
				}
				if off += int64(len(rec)); mode == "overwrite" && off >= 1<<20 {
					off = 0
				}
				if err := syscall.Fdatasync(fd); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "syncs/s")
		})
	}
}

// rssOf is this process's resident set size.
func rssOf(tb testing.TB) uint64 {
	rss, _ := leasetest.Memory(tb, 0)
	return rss
}
