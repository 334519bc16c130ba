package journal

import (
	"bytes"
	"net/netip"
	"sync/atomic"
	"testing"

	"bootd/internal/lease"
	"bootd/internal/lease/leasetest"
)

func TestArena(t *testing.T) {
	var mapped atomic.Int64
	a := arena{mapped: &mapped}
	defer func() {
		a.retire()
		if n := mapped.Load(); n != 0 {
			t.Errorf("%d chunks still mapped after retire", n)
		}
	}()
	type stored struct {
		r ref
		v []byte
	}
	var all []stored
	// Lengths around the uvarint steps and the largest lease, enough of them
	// to fill several chunks.
	sizes := []int{0, 1, 127, 128, 129, 16383, 16384, lease.MaxEncodedLen, 60, 300}
	total := 0
	for i := 0; total < 3*chunkSize; i++ {
		n := sizes[i%len(sizes)]
		v := bytes.Repeat([]byte{byte(i)}, n)
		all = append(all, stored{a.add(v), v})
		total += n
	}
	if len(a.chunks) < 3 {
		t.Fatalf("%d bytes in %d chunks", total, len(a.chunks))
	}
	for i, s := range all {
		if got := get(a.chunks, s.r); !bytes.Equal(got, s.v) || cap(got) != len(got) {
			t.Fatalf("value %d (%d bytes): got %d bytes, cap %d", i, len(s.v), len(got), cap(got))
		}
	}
	if a.live != int64(total) || a.gone != 0 {
		t.Errorf("live %d gone %d, want %d and 0", a.live, a.gone, total)
	}
	if n := a.drop(all[3].r); n != 128 || a.gone != 128 {
		t.Errorf("drop: %d bytes, gone %d; want 128", n, a.gone)
	}
}

func TestArenaRoom(t *testing.T) {
	var a arena
	if !a.room(chunkSize) {
		t.Error("an empty arena has no room for a MiB")
	}
	a.chunks = make([]*[chunkSize]byte, maxChunks-2)
	if !a.room(100) {
		t.Error("no room for a lease with two chunks free")
	}
	if a.room(chunkSize) {
		t.Error("room for a MiB of leases with two chunks free")
	}
	a.chunks = make([]*[chunkSize]byte, maxChunks-1)
	if a.room(1) {
		t.Error("room with one chunk free: a new lease may need a new chunk and the ref after it")
	}
}

// A commit that would overflow the arena repacks it first, and goes ahead
// when that makes room.
func TestArenaFullRepacks(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	l := leasetest.MakeLease(1)
	if err := s.Put(t.Context(), &l); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	for len(s.a.chunks) < maxChunks-1 {
		s.a.chunks = append(s.a.chunks, nil) // counted, never read: no ref points there
	}
	s.mu.Unlock()
	l2 := leasetest.MakeLease(2)
	if err := s.Put(t.Context(), &l2); err != nil {
		t.Fatalf("put into a full arena with garbage to drop: %v", err)
	}
	s.mu.RLock()
	n := len(s.a.chunks)
	s.mu.RUnlock()
	if n != 1 {
		t.Errorf("arena has %d chunks after the repack, want 1", n)
	}
	leasetest.CheckContents(t, s, map[netip.Addr]lease.Lease{l.Addr: l, l2.Addr: l2})
}

func TestLoadShared(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	want := make(map[netip.Addr]lease.Lease)
	for n := range uint32(500) {
		l := leasetest.MakeLease(n)
		if err := s.Put(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
		want[l.Addr] = l
	}
	if n := s.Len(); n != len(want) {
		t.Errorf("Len = %d, want %d", n, len(want))
	}
	got := 0
	err := s.LoadShared(t.Context(), func(l *lease.Lease) error {
		w, ok := want[l.Addr]
		if !ok || !l.Equal(&w) || l.Subnet != w.Subnet {
			t.Errorf("LoadShared gave %+v, want %+v", *l, w)
		}
		got++
		return nil
	})
	if err != nil || got != len(want) {
		t.Fatalf("LoadShared: %d leases, %v; want %d", got, err, len(want))
	}
	// Per lease, nothing: what is allocated is the one copy of the index.
	allocs := testing.AllocsPerRun(5, func() {
		s.LoadShared(t.Context(), func(*lease.Lease) error { return nil })
	})
	if allocs > 5 {
		t.Errorf("LoadShared of %d leases: %v allocations", len(want), allocs)
	}
}

// The arena's chunks stay mapped while a view of them is in use, through
// repacks and Close, and are unmapped when the last user lets go.
func TestArenaLifetime(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	s.repackMin = 1
	put := func(round int) {
		t.Helper()
		for n := range uint32(3000) {
			l := leasetest.MakeLease(n)
			l.Hostname += string(rune('a' + round))
			if err := s.Put(t.Context(), &l); err != nil {
				t.Fatal(err)
			}
		}
	}
	put(0)
	v := s.values()
	want := make([][]byte, len(v.refs))
	for i, r := range v.refs {
		want[i] = bytes.Clone(get(v.chunks, r))
	}
	put(1) // replaces every lease: repacks, more than once
	put(2)
	s.mu.RLock()
	repacked := s.a.list != v.list
	s.mu.RUnlock()
	if !repacked {
		t.Fatal("the arena was not repacked")
	}
	for i, r := range v.refs {
		if got := get(v.chunks, r); !bytes.Equal(got, want[i]) {
			t.Fatalf("lease %d of the view changed under repacks", i)
		}
	}
	v.release()

	// A Load running while the store closes keeps its chunks until it returns.
	entered, proceed := make(chan struct{}), make(chan struct{})
	loaded := make(chan error, 1)
	go func() {
		first := true
		loaded <- s.Load(t.Context(), func(l *lease.Lease) error {
			if first {
				first = false
				close(entered)
				<-proceed
			}
			return nil
		})
	}()
	<-entered
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.mapped.Load() == 0 {
		t.Fatal("chunks unmapped under a running Load")
	}
	close(proceed)
	if err := <-loaded; err != nil {
		t.Fatalf("Load across Close: %v", err)
	}
	if n := s.mapped.Load(); n != 0 {
		t.Errorf("%d chunks still mapped after Close and the last Load", n)
	}
}

// Backups and compactions let go of their views: a store closed after them
// has nothing mapped.
func TestArenaUnmappedAtClose(t *testing.T) {
	s := open(t, t.TempDir(), Options{CompactMinBytes: 16 << 10, PreallocBytes: 32 << 10})
	for n := range uint32(2000) {
		l := leasetest.MakeLease(n % 300)
		if err := s.Put(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Backup(t.Context(), &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadShared(t.Context(), func(*lease.Lease) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Stats().Compactions == 0 {
		t.Error("no compaction ran")
	}
	if n := s.mapped.Load(); n != 0 {
		t.Errorf("%d chunks still mapped after Close", n)
	}
}
