package cli

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"bootd/internal/config"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
)

// lockedBuffer is a log destination written by one goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// snapshots returns the snapshot files of dir, oldest first.
func snapshots(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if snapNameRE.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names
}

// waitFor polls until cond holds, failing t after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling, not waiting for a result
	}
}

// openSnapshot opens a snapshot file with journal.OpenBackup and returns its leases.
func openSnapshot(t *testing.T, file string) map[netip.Addr]lease.Lease {
	t.Helper()
	s, err := journal.OpenBackup(t.Context(), file, filepath.Join(t.TempDir(), "restored"), journal.Options{})
	if err != nil {
		t.Fatalf("open snapshot %s: %v", file, err)
	}
	defer s.Close()
	return leasetest.LoadAll(t, s)
}

// failingOnce fails its first Backup.
type failingOnce struct {
	snapshotter
	mu     sync.Mutex
	failed bool
}

func (f *failingOnce) Backup(ctx context.Context, w io.Writer) error {
	f.mu.Lock()
	first := !f.failed
	f.failed = true
	f.mu.Unlock()
	if first {
		w.Write([]byte("half a snapshot"))
		return errors.New("disk on fire")
	}
	return f.snapshotter.Backup(ctx, w)
}

func TestScheduledBackups(t *testing.T) {
	store, err := journal.Open(t.Context(), t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	// Files not named like its snapshots are never removed.
	others := []string{"notes.txt", "bootd-manual.snap", "bootd-20200101T000000Z.snap"}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBackups(ctx, log, dir, 3, &failingOnce{snapshotter: store}, tick)
	}()

	// The first snapshot fails: logged, nothing left behind, and the next tick works.
	t0 := time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC)
	tick <- t0
	waitFor(t, "the failure to be logged", func() bool { return strings.Contains(logs.String(), "disk on fire") })

	const ticks = 5
	want := make([]map[netip.Addr]lease.Lease, ticks)
	leases := map[netip.Addr]lease.Lease{}
	for i := range ticks {
		l := leasetest.MakeLease(uint32(i))
		if err := store.Put(t.Context(), &l); err != nil {
			t.Fatal(err)
		}
		leases[l.Addr] = l
		want[i] = maps.Clone(leases)
		now := t0.Add(time.Duration(i+1) * time.Hour)
		tick <- now
		name := snapName(now)
		waitFor(t, name, func() bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil })
	}
	// Retention ran after the last snapshot was in place.
	waitFor(t, "old snapshots to go", func() bool { return len(snapshots(t, dir)) == 3 })
	cancel()
	<-done

	got := snapshots(t, dir)
	wantNames := []string{"bootd-20261123T100000.000Z.snap", "bootd-20261123T110000.000Z.snap", "bootd-20261123T120000.000Z.snap"}
	if !slices.Equal(got, wantNames) {
		t.Errorf("snapshots %v, want %v", got, wantNames)
	}
	for i, name := range got {
		leasetestEqual(t, name, openSnapshot(t, filepath.Join(dir, name)), want[ticks-3+i])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(got)+len(others) {
		t.Errorf("directory holds %d files, want %d snapshots and %v", len(ents), len(got), others)
	}
	for _, name := range others {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	out := logs.String()
	if n := strings.Count(out, "lease store snapshot written"); n != ticks {
		t.Errorf("%d snapshot lines logged, want %d:\n%s", n, ticks, out)
	}
	if n := strings.Count(out, "old lease store snapshot removed"); n != ticks-3 {
		t.Errorf("%d removal lines logged, want %d:\n%s", n, ticks-3, out)
	}
}

func leasetestEqual(t *testing.T, name string, got, want map[netip.Addr]lease.Lease) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d leases, want %d", name, len(got), len(want))
	}
	for a, w := range want {
		if g, ok := got[a]; !ok || !g.Equal(&w) {
			t.Errorf("%s: lease %v = %+v, want %+v", name, a, g, w)
		}
	}
}

// TestStartBackups runs the real ticker with a short interval.
func TestStartBackups(t *testing.T) {
	store, err := journal.Open(t.Context(), t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	l := leasetest.MakeLease(7)
	if err := store.Put(t.Context(), &l); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "missing", "backups") // created on the first snapshot
	stop := startBackups(t.Context(), slog.New(slog.DiscardHandler), &config.Backups{Dir: dir, Interval: 50 * time.Millisecond, Keep: 2}, store)
	waitFor(t, "two snapshots", func() bool {
		ents, _ := os.ReadDir(dir)
		return len(ents) >= 2
	})
	// Keep two: wait for a third tick's pruning by watching the names change.
	first := snapshots(t, dir)[0]
	waitFor(t, "the oldest snapshot to be removed", func() bool {
		_, err := os.Stat(filepath.Join(dir, first))
		return errors.Is(err, os.ErrNotExist)
	})
	stop()
	got := snapshots(t, dir)
	if len(got) != 2 {
		t.Fatalf("snapshots %v, want 2", got)
	}
	leasetestEqual(t, got[1], openSnapshot(t, filepath.Join(dir, got[1])), map[netip.Addr]lease.Lease{l.Addr: l})
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d files in %s after stop, want 2 snapshots", len(ents), dir)
	}
}

func TestCheckShowsBackups(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	yaml := "interfaces: [eth0]\nbackups: {dir: /var/backups/bootd, interval: 30m, keep: 48}\nsubnets: [{subnet: 198.18.0.0/24}]\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, errOut := runCLI(t, nil, "check", "--config", file)
	if code != exitOK || !strings.Contains(stdout, "backups: every 30m to /var/backups/bootd, the newest 48 kept\n") {
		t.Errorf("exit %d, %s\n%s", code, errOut, stdout)
	}
}
