package cli

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
)

// stoppedStore writes three leases into a fresh store and closes it, as a
// stopped server leaves it.
func stoppedStore(t *testing.T) (string, []lease.Lease) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "leases")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ls := []lease.Lease{
		{Addr: netip.MustParseAddr("198.18.0.100"), State: lease.Bound, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 1}, Hostname: "alpha", Start: start, Expires: start.Add(time.Hour)},
		{Addr: netip.MustParseAddr("198.18.0.101"), State: lease.Released, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 2}, Hostname: "beta", Start: start, Expires: start},
		{Addr: netip.MustParseAddr("198.18.0.10"), State: lease.Bound, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 3}, Start: start},
	}
	for i := range ls {
		if err := s.Put(t.Context(), &ls[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, ls
}

func TestLeasesStoppedStore(t *testing.T) {
	dir, _ := stoppedStore(t)
	code, out, errOut := runCLI(t, nil, "leases", "--store", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"198.18.0.100", "bound", "02:00:00:00:00:01", "alpha", "2026-11-23T13:00:00Z", "198.18.0.101", "released", "198.18.0.10 ", "never", "3 leases"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--mac", "02:00:00:00:00:02"}, []string{"198.18.0.101"}},
		{[]string{"--state", "bound"}, []string{"198.18.0.100", "198.18.0.10"}},
		{[]string{"--addr", "198.18.0.10"}, []string{"198.18.0.10"}},
		{[]string{"--hostname", "alp"}, []string{"198.18.0.100"}},
		{[]string{"--hostname", "nobody"}, nil},
	} {
		code, out, errOut := runCLI(t, nil, append([]string{"leases", "--store", dir, "--json"}, tc.args...)...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		var got []string
		for line := range strings.Lines(out) {
			var l lease.Lease
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatalf("%v: bad JSON line %q: %v", tc.args, line, err)
			}
			got = append(got, l.Addr.String())
		}
		slices.Sort(got) // the store lists in no particular order
		slices.Sort(tc.want)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.args, got, tc.want)
		}
	}
}

func TestBackupStoppedStore(t *testing.T) {
	dir, want := stoppedStore(t)
	out := filepath.Join(t.TempDir(), "backup.snap")
	code, stdout, errOut := runCLI(t, nil, "backup", "--store", dir, out)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "bytes written to "+out) {
		t.Errorf("stdout %q", stdout)
	}
	// The backup opens as a store holding the same leases.
	s, err := journal.OpenBackup(t.Context(), out, t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range want {
		got, err := s.Get(t.Context(), want[i].Addr)
		if err != nil || !got.Equal(&want[i]) {
			t.Errorf("restored %v: %+v, %v", want[i].Addr, got, err)
		}
	}
}

func TestLeasesErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"leases"}, exitUsage, "--config or --store is required"},
		{[]string{"leases", "--store", "a", "--config", "b"}, exitUsage, "not both"},
		{[]string{"leases", "--store", "x", "--state", "happy"}, exitUsage, "unknown lease state"},
		{[]string{"leases", "--store", filepath.Join(t.TempDir(), "missing")}, exitError, "no lease store at"},
		{[]string{"backup", "--store", "x"}, exitUsage, "want one output file"},
	} {
		code, _, errOut := runCLI(t, nil, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}
