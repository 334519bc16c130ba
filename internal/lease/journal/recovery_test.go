package journal

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"bootd/internal/lease"
	"bootd/internal/lease/leasetest"
)

func open(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putN(t *testing.T, s *Store, from, to uint32) {
	t.Helper()
	for n := from; n < to; n++ {
		l := leasetest.MakeLease(n)
		if err := s.Put(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
	}
}

func wantRange(from, to uint32) map[netip.Addr]lease.Lease {
	m := make(map[netip.Addr]lease.Lease)
	for n := from; n < to; n++ {
		l := leasetest.MakeLease(n)
		m[l.Addr] = l
	}
	return m
}

// writeLog builds a log of the leases from..to directly, one record each,
// and returns the file contents and the offset of each record.
func writeLog(t *testing.T, from, to uint32) ([]byte, []int) {
	t.Helper()
	b := append([]byte(nil), fileMagic[:]...)
	var offs []int
	for n := from; n < to; n++ {
		l := leasetest.MakeLease(n)
		enc, err := lease.AppendBinary(nil, &l)
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, len(b))
		b = appendPut(b, enc)
	}
	return b, offs
}

// nonZeroLen is the length of b up to its last non-zero byte.
func nonZeroLen(b []byte) int64 {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0 {
			return int64(i + 1)
		}
	}
	return 0
}

func TestTornTail(t *testing.T) {
	full, offs := writeLog(t, 0, 20)
	last := offs[len(offs)-1]
	// Every cut inside the last record, including just before it.
	for cut := last; cut < len(full); cut++ {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, logName(0)), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(t.Context(), dir, Options{})
		if err != nil {
			t.Fatalf("cut at %d: open: %v", cut, err)
		}
		leasetest.CheckContents(t, s, wantRange(0, 19))
		// The torn bytes are the cut record's up to its last non-zero one.
		want := nonZeroLen(full[last:cut])
		if got := s.Stats().TornBytes; got != want {
			t.Errorf("cut at %d: TornBytes = %d, want %d", cut, got, want)
		}
		// The store appends after the cut, and that survives a reopen.
		l := leasetest.MakeLease(19)
		if err := s.Put(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = open(t, dir, Options{})
		leasetest.CheckContents(t, s, wantRange(0, 20))
		if s.Stats().TornBytes != 0 {
			t.Errorf("cut at %d: second reopen cut %d more bytes", cut, s.Stats().TornBytes)
		}
		s.Close()
	}
}

func TestGarbageTail(t *testing.T) {
	full, _ := writeLog(t, 0, 10)
	tails := map[string][]byte{
		"zeros":        make([]byte, 4096),
		"ones":         bytes.Repeat([]byte{0xff}, 100),
		"huge length":  {0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5},
		"bad checksum": func() []byte { r, _ := writeLog(t, 10, 11); r = r[headerSize:]; r[5] ^= 1; return r }(),
		"bad crc then good record": func() []byte {
			r, _ := writeLog(t, 10, 12)
			r = r[headerSize:]
			r[frameSize+2] ^= 1 // the first record is damaged, the second intact: both go
			return r
		}(),
	}
	for name, tail := range tails {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, logName(0)), append(slices.Clone(full), tail...), 0o600); err != nil {
				t.Fatal(err)
			}
			s := open(t, dir, Options{})
			leasetest.CheckContents(t, s, wantRange(0, 10))
			want := nonZeroLen(tail)
			if got := s.Stats().TornBytes; got != want {
				t.Errorf("TornBytes = %d, want %d", got, want)
			}
			b, err := os.ReadFile(filepath.Join(dir, logName(0)))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[:len(full)], full) || nonZeroLen(b[len(full):]) != 0 {
				t.Errorf("log not kept up to %d bytes and zeroed after", len(full))
			}
		})
	}
}

func TestHeaderOnlyPartly(t *testing.T) {
	for n := range headerSize {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, logName(0)), fileMagic[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		s := open(t, dir, Options{})
		putN(t, s, 0, 3)
		s.Close()
		leasetest.CheckContents(t, open(t, dir, Options{}), wantRange(0, 3))
	}
}

func TestCorruptionIsAnError(t *testing.T) {
	// A bad record followed by more than maxSyncBytes of log cannot be a
	// torn write.
	full, offs := writeLog(t, 0, 20000)
	if len(full)-offs[10] <= maxSyncBytes {
		t.Fatalf("log of %d bytes too short for the test", len(full))
	}
	cases := map[string]func(dir string){
		"early bad checksum": func(dir string) {
			b := slices.Clone(full)
			b[offs[10]+frameSize+3] ^= 1
			os.WriteFile(filepath.Join(dir, logName(0)), b, 0o600)
		},
		"bad header": func(dir string) {
			b := slices.Clone(full)
			b[0] = 'X'
			os.WriteFile(filepath.Join(dir, logName(0)), b, 0o600)
		},
		"torn snapshot": func(dir string) {
			os.WriteFile(filepath.Join(dir, snapName(1)), full[:len(full)-3], 0o600)
		},
		"torn older log": func(dir string) {
			os.WriteFile(filepath.Join(dir, logName(0)), full[:len(full)-3], 0o600)
			os.WriteFile(filepath.Join(dir, logName(1)), fileMagic[:], 0o600)
		},
		"unknown record type": func(dir string) {
			b := slices.Clone(fileMagic[:])
			b = append(b, 0, 0, 0, 0, 0, 0, 0, 0, 9, 1, 2, 3)
			sealRecord(b[headerSize:])
			os.WriteFile(filepath.Join(dir, logName(0)), b, 0o600)
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			setup(dir)
			s, err := Open(t.Context(), dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("open succeeded")
			}
			if !errors.Is(err, lease.ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
			// The lock is released after a failed open.
			s, err = Open(t.Context(), dir, Options{})
			if !errors.Is(err, lease.ErrCorrupt) {
				t.Errorf("second open: err = %v, want ErrCorrupt again", err)
			}
			if err == nil {
				s.Close()
			}
		})
	}
}

func TestCompaction(t *testing.T) {
	dir := t.TempDir()
	opts := Options{CompactMinBytes: 64 << 10, PreallocBytes: 64 << 10}
	s := open(t, dir, opts)
	// Rewrite the same 500 leases many times: the log grows, the live set not.
	for round := range 20 {
		for n := range uint32(500) {
			l := leasetest.MakeLease(n)
			l.Hostname = l.Hostname + "-" + string(rune('a'+round))
			if err := s.Put(t.Context(), &l); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := make(map[netip.Addr]lease.Lease)
	for n := range uint32(500) {
		l := leasetest.MakeLease(n)
		l.Hostname += "-t"
		want[l.Addr] = l
	}
	st := s.Stats()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st.Compactions == 0 {
		t.Fatalf("no compaction after %d records", st.Records)
	}
	var total int64 // not counting preallocated zeros
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := f.Stat()
		n, err := nonZeroEnd(f, 0, info.Size())
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		total += n
		names = append(names, e.Name())
	}
	// Live set is about 500 * 90 bytes; the files hold it a few times at most.
	if total > 2*opts.CompactMinBytes {
		t.Errorf("files total %d bytes after %d compactions: %v", total, st.Compactions, names)
	}
	t.Logf("%d records, %d commits, %d compactions, files %v = %d bytes", st.Records, st.Commits, st.Compactions, names, total)
	leasetest.CheckContents(t, open(t, dir, opts), want)
}

// TestInterruptedCompaction recovers from each state a crash can leave a
// compaction in.
func TestInterruptedCompaction(t *testing.T) {
	gen0, _ := writeLog(t, 0, 100)   // log-0: leases 0..99
	gen1, _ := writeLog(t, 100, 150) // log-1: leases 100..149, written after the switch
	snap1, _ := writeLog(t, 0, 100)  // snap-1: the state at the switch
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"new log created, no snapshot", map[string][]byte{logName(0): gen0, logName(1): gen1}},
		{"snapshot being written", map[string][]byte{logName(0): gen0, logName(1): gen1, snapName(1) + ".tmp": snap1[:50]}},
		{"snapshot renamed, old log not deleted", map[string][]byte{logName(0): gen0, logName(1): gen1, snapName(1): snap1}},
		{"done", map[string][]byte{logName(1): gen1, snapName(1): snap1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := open(t, dir, Options{})
			leasetest.CheckContents(t, s, wantRange(0, 150))
			putN(t, s, 150, 160)
			s.Close()
			leasetest.CheckContents(t, open(t, dir, Options{}), wantRange(0, 160))
			if _, err := os.Stat(filepath.Join(dir, snapName(1)+".tmp")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("temporary snapshot left behind: %v", err)
			}
		})
	}
}

func TestGroupCommit(t *testing.T) {
	s := open(t, t.TempDir(), Options{})
	const writers, each = 64, 20
	var wg sync.WaitGroup
	for w := range uint32(writers) {
		wg.Go(func() {
			for i := range uint32(each) {
				l := leasetest.MakeLease(w*each + i)
				if err := s.Put(context.Background(), &l); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Records != writers*each {
		t.Errorf("Records = %d, want %d", st.Records, writers*each)
	}
	// With 64 writers some commits must have been shared.
	if st.Commits >= st.Records {
		t.Errorf("%d commits for %d records: no group commit", st.Commits, st.Records)
	}
	t.Logf("%d records in %d commits", st.Records, st.Commits)
}

func TestRepack(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	s.repackMin = 8 << 10
	// Readers run while leases are replaced and the arena is repacked.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := s.Load(t.Context(), func(l *lease.Lease) error {
				if _, err := s.Get(t.Context(), l.Addr); err != nil {
					return err
				}
				return nil
			})
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	want := make(map[netip.Addr]lease.Lease)
	for round := range 10 {
		var pw sync.WaitGroup
		for w := range uint32(8) {
			pw.Go(func() {
				for n := w; n < 300; n += 8 {
					l := leasetest.MakeLease(n)
					l.Hostname += "-" + string(rune('a'+round))
					if err := s.Put(t.Context(), &l); err != nil {
						t.Error(err)
					}
				}
			})
		}
		pw.Wait()
	}
	close(stop)
	wg.Wait()
	for n := range uint32(300) {
		l := leasetest.MakeLease(n)
		l.Hostname += "-j"
		want[l.Addr] = l
	}
	leasetest.CheckContents(t, s, want)
	s.mu.RLock()
	live, gone := s.a.live, s.a.gone
	s.mu.RUnlock()
	if gone > live+s.repackMin {
		t.Errorf("arena holds %d garbage bytes for %d live: never repacked", gone, live)
	}
}

// TestLargeBatches fills commits past maxSyncBytes, so the writer must carry
// a change over to the next commit.
func TestLargeBatches(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	const writers, each = 128, 4
	want := make(map[netip.Addr]lease.Lease)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range uint32(writers) {
		wg.Go(func() {
			for i := range uint32(each) {
				l := leasetest.MakeLease(w*each + i)
				l.CircuitID = bytes.Repeat([]byte{byte(w)}, 12<<10)
				if err := s.Put(t.Context(), &l); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				want[l.Addr] = l
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	st := s.Stats()
	if st.Records != writers*each {
		t.Errorf("Records = %d, want %d", st.Records, writers*each)
	}
	if least := uint64(writers * each * (12 << 10) / maxSyncBytes); st.Commits < least {
		t.Errorf("%d commits for %d bytes: some went over maxSyncBytes", st.Commits, writers*each*(12<<10))
	}
	s.Close()
	leasetest.CheckContents(t, open(t, dir, Options{}), want)
}

// TestWriteFailureIsSticky: after a failed append the store refuses changes
// (the file's state is unknown), and what was acknowledged before survives.
func TestWriteFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	putN(t, s, 0, 10)
	s.f.Close() // the writer is idle; its next write fails
	l := leasetest.MakeLease(10)
	if err := s.Put(t.Context(), &l); err == nil {
		t.Fatal("put after the log broke succeeded")
	}
	l = leasetest.MakeLease(11)
	err = s.Put(t.Context(), &l)
	if err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("second put: err = %v, want the store to refuse", err)
	}
	if _, err := s.Get(t.Context(), l.Addr); !errors.Is(err, lease.ErrNotFound) {
		t.Errorf("refused lease visible: %v", err)
	}
	s.Close() // reports the double close; the lock is released all the same
	leasetest.CheckContents(t, open(t, dir, Options{}), wantRange(0, 10))
}

// TestNoResurrection: a torn batch whose first record is damaged but whose
// later records are intact must not come back once shorter records have
// been appended over the damaged one.
func TestNoResurrection(t *testing.T) {
	dir := t.TempDir()
	good, _ := writeLog(t, 0, 10)
	torn, _ := writeLog(t, 10, 20) // never acknowledged
	torn = torn[headerSize:]
	torn[frameSize+1] ^= 0xff // damage the first record only
	if err := os.WriteFile(filepath.Join(dir, logName(0)), append(good, torn...), 0o600); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{})
	leasetest.CheckContents(t, s, wantRange(0, 10))
	// A record exactly as long as the damaged one: without clearing, the
	// next intact old record would line up after it.
	l := leasetest.MakeLease(10)
	l.Hostname = "host-1X"
	if err := s.Put(t.Context(), &l); err != nil {
		t.Fatal(err)
	}
	s.Close()
	want := wantRange(0, 10)
	want[l.Addr] = l
	s = open(t, dir, Options{})
	leasetest.CheckContents(t, s, want)
	if n := s.Stats().TornBytes; n != 0 {
		t.Errorf("second reopen found %d torn bytes", n)
	}
}

// TestCorruptPastPreallocation: garbage far beyond the last record, after
// zeros, is not a torn write.
func TestCorruptPastPreallocation(t *testing.T) {
	dir := t.TempDir()
	good, _ := writeLog(t, 0, 10)
	b := append(good, make([]byte, 2*maxSyncBytes)...)
	b = append(b, 1, 2, 3)
	if err := os.WriteFile(filepath.Join(dir, logName(0)), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), dir, Options{}); !errors.Is(err, lease.ErrCorrupt) {
		t.Errorf("err = %v, want ErrCorrupt", err)
	}
}

// TestLogIsPreallocated: appends go into zeros written ahead, and the store
// reads its own preallocated log back.
func TestLogIsPreallocated(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{PreallocBytes: 64 << 10})
	putN(t, s, 0, 2000) // about 3 preallocations
	s.Close()
	info, err := os.Stat(filepath.Join(dir, logName(0)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, logName(0)))
	if data := nonZeroLen(b); info.Size() <= data || info.Size() > data+2*(64<<10) {
		t.Errorf("log is %d bytes for %d of records, want up to 64 KiB of zeros more", info.Size(), data)
	}
	s = open(t, dir, Options{PreallocBytes: 64 << 10})
	leasetest.CheckContents(t, s, wantRange(0, 2000))
	if n := s.Stats().TornBytes; n != 0 {
		t.Errorf("clean log reported %d torn bytes", n)
	}
}
