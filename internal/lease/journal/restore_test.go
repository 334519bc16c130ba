package journal

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/leasetest"
)

func TestOpenBackup(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := lease.Lease{Addr: netip.MustParseAddr("198.18.0.5"), State: lease.Bound, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 5},
		Start: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)}
	if err := s.Put(t.Context(), &l); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Backup(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	s.Close()
	file := filepath.Join(t.TempDir(), "b.snap")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := OpenBackup(t.Context(), file, filepath.Join(t.TempDir(), "new"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Get(t.Context(), l.Addr)
	r.Close()
	if err != nil || !got.Equal(&l) {
		t.Errorf("restored %+v, %v", got, err)
	}
	full := t.TempDir()
	os.WriteFile(filepath.Join(full, "x"), nil, 0o600)
	if _, err := OpenBackup(t.Context(), file, full, Options{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("restore into a non-empty directory: %v", err)
	}
}

func TestWriteLeases(t *testing.T) {
	const n = 5000
	want := make(map[netip.Addr]lease.Lease, n)
	leases := func(yield func(*lease.Lease) bool) {
		for i := range uint32(n) {
			l := leasetest.MakeLease(i % (n - 100)) // the last 100 replace earlier ones
			l.Hostname = fmt.Sprint("pass-", i/(n-100))
			want[l.Addr] = l
			if !yield(&l) {
				return
			}
		}
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, BackupName))
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteLeases(f, leases); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	leasetest.CheckContents(t, s, want)

	bad := func(yield func(*lease.Lease) bool) { yield(&lease.Lease{}) }
	if err := WriteLeases(&bytes.Buffer{}, bad); err == nil {
		t.Error("WriteLeases accepted a lease without an address")
	}
}
