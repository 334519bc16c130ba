package cli

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
	"bootd/internal/server"
)

// storeLeases opens the stopped store in dir and returns its leases.
func storeLeases(t *testing.T, dir string) map[netip.Addr]lease.Lease {
	t.Helper()
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return leasetest.LoadAll(t, s)
}

// listDir returns the names in dir, sorted.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// changeStore replaces, adds and deletes leases of the stopped store in dir.
func changeStore(t *testing.T, dir string, ls []lease.Lease) {
	t.Helper()
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	changed := ls[0]
	changed.Hostname = "changed"
	added := leasetest.MakeLease(3)
	for _, l := range []*lease.Lease{&changed, &added} {
		if err := s.Put(t.Context(), l); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(t.Context(), ls[1].Addr); err != nil {
		t.Fatal(err)
	}
}

// backedUpStore returns a stopped store, a backup of it and its leases then,
// and changes the store after the backup.
func backedUpStore(t *testing.T) (dir, snap string, want map[netip.Addr]lease.Lease, changed map[netip.Addr]lease.Lease) {
	t.Helper()
	dir, ls := stoppedStore(t)
	snap = filepath.Join(t.TempDir(), "before.snap")
	if code, _, errOut := runCLI(t, nil, "backup", "--store", dir, snap); code != exitOK {
		t.Fatalf("backup: exit %d: %s", code, errOut)
	}
	want = map[netip.Addr]lease.Lease{}
	for _, l := range ls {
		want[l.Addr] = l
	}
	changeStore(t, dir, ls)
	changed = storeLeases(t, dir)
	if _, ok := changed[ls[1].Addr]; ok || changed[ls[0].Addr].Hostname != "changed" || len(changed) != len(want) {
		t.Fatalf("the store did not change as meant: %v", changed)
	}
	return dir, snap, want, changed
}

func TestRestore(t *testing.T) {
	dir, snap, want, changed := backedUpStore(t)
	code, stdout, errOut := runCLI(t, nil, "restore", "--store", dir, snap)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	leasetestEqual(t, "restored store", storeLeases(t, dir), want)

	// The old store is kept aside, and the output says where.
	names := listDir(t, filepath.Dir(dir))
	var aside string
	for _, n := range names {
		if strings.HasPrefix(n, filepath.Base(dir)+".before-restore-") {
			aside = filepath.Join(filepath.Dir(dir), n)
		}
	}
	if aside == "" || len(names) != 2 {
		t.Fatalf("beside the store: %v, want it and its old copy", names)
	}
	if !strings.Contains(stdout, "restored 3 leases from "+snap) || !strings.Contains(stdout, "the old store is kept at "+aside) {
		t.Errorf("stdout %q", stdout)
	}
	leasetestEqual(t, "old store", storeLeases(t, aside), changed)

	// Restoring where no store is yet creates it, with nothing to keep aside.
	fresh := filepath.Join(t.TempDir(), "new")
	code, stdout, errOut = runCLI(t, nil, "restore", "--store", fresh, snap)
	if code != exitOK || strings.Contains(stdout, "old store") {
		t.Fatalf("restore into a new directory: exit %d: %s%s", code, stdout, errOut)
	}
	leasetestEqual(t, "new store", storeLeases(t, fresh), want)
}

func TestRestoreRefused(t *testing.T) {
	dir, snap, _, changed := backedUpStore(t)
	parent := filepath.Dir(dir)
	before, beforeParent := listDir(t, dir), listDir(t, parent)
	unchanged := func(what string) {
		t.Helper()
		if got := listDir(t, dir); !slices.Equal(got, before) {
			t.Errorf("%s: store files %v, were %v", what, got, before)
		}
		if got := listDir(t, parent); !slices.Equal(got, beforeParent) {
			t.Errorf("%s: beside the store %v, was %v", what, got, beforeParent)
		}
	}

	// Locked by a process (here this one) whose control socket does not answer.
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "restore", "--store", dir, snap)
	if code != exitError || !strings.Contains(errOut, "held by another process") {
		t.Errorf("restore of a locked store: exit %d, stderr %q", code, errOut)
	}
	leasetestEqual(t, "locked store", leasetest.LoadAll(t, s), changed)
	s.Close()
	unchanged("locked")

	// A control socket answers: a server runs there.
	ln, err := net.Listen("unix", filepath.Join(dir, server.ControlSocket))
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, nil, "restore", "--store", dir, snap)
	if code != exitError || !strings.Contains(errOut, "a server is running on lease store") {
		t.Errorf("restore under a running server: exit %d, stderr %q", code, errOut)
	}
	ln.Close()
	before = listDir(t, dir) // the socket file may stay behind
	unchanged("running")

	// A damaged snapshot changes nothing.
	bad := filepath.Join(t.TempDir(), "bad.snap")
	if err := os.WriteFile(bad, []byte("not a snapshot at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, nil, "restore", "--store", dir, bad)
	if code != exitError || !strings.Contains(errOut, "snapshot "+bad) {
		t.Errorf("restore of a damaged snapshot: exit %d, stderr %q", code, errOut)
	}
	unchanged("damaged snapshot")
	leasetestEqual(t, "store after refusals", storeLeases(t, dir), changed)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"restore", "--store", dir}, "want one snapshot file"},
		{[]string{"restore", snap}, "--config or --store is required"},
	} {
		if code, _, errOut := runCLI(t, nil, tc.args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
}
