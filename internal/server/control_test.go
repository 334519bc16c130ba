package server_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/server"
)

// TestLeasesAndBackupWhileServing: bootd leases and bootd backup reach a
// running bootd serve through its control socket (the store itself is
// locked by the server), and the backup restores every lease.
func TestLeasesAndBackupWhileServing(t *testing.T) {
	ch := newChild(t, "198.18.0.10-198.18.0.200")
	bin, cfg, c := ch.bin, ch.cfg, ch.c
	ch.start()
	acked := doraAll(t, c, 20, 4)

	out, err := run(t, 30*time.Second, bin, "leases", "--config", cfg)
	if err != nil {
		t.Fatalf("bootd leases: %v\n%s", err, out)
	}
	for i, a := range acked {
		if !strings.Contains(out, a.String()+" ") || !strings.Contains(out, mac(i).String()) {
			t.Errorf("bootd leases lacks %v for %v:\n%s", a, mac(i), out)
		}
	}
	if !strings.Contains(out, "20 leases") {
		t.Errorf("bootd leases count:\n%s", out)
	}

	// bootd stats: 20 DORAs are 40 requests and 40 replies, and 20 leases
	// written in at most 20 commits.
	out, err = run(t, 30*time.Second, bin, "stats", "--config", cfg, "--json")
	if err != nil {
		t.Fatalf("bootd stats: %v\n%s", err, out)
	}
	var st struct {
		Received, Replied uint64
		Store             struct{ Commits, Records uint64 }
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("bootd stats --json: %v\n%s", err, out)
	}
	if st.Received < 40 || st.Replied < 40 || st.Store.Records < 20 || st.Store.Commits == 0 || st.Store.Commits > st.Store.Records {
		t.Errorf("bootd stats after 20 DORAs: %+v", st)
	}
	if out, err := run(t, 30*time.Second, bin, "stats", "--config", cfg); err != nil || !strings.Contains(out, "leases per commit") {
		t.Errorf("bootd stats: %v\n%s", err, out)
	}

	// GET /metrics: the same leases and commits, from bootd serve's registry.
	fams, err := scrape(filepath.Join(ch.store, server.ControlSocket))
	if err != nil {
		t.Fatal(err)
	}
	pool := []string{"pool", "198.18.0.10-198.18.0.200"}
	if got := metricValue(fams, "bootd_leases_active", pool...); got != 20 {
		t.Errorf("bootd_leases_active%v = %v, want 20", pool, got)
	}
	if got := metricValue(fams, "bootd_pool_size", pool...); got != 191 {
		t.Errorf("bootd_pool_size%v = %v, want 191", pool, got)
	}
	if got := metricValue(fams, "bootd_lease_store_leases_written_total"); got < 20 {
		t.Errorf("bootd_lease_store_leases_written_total = %v, want at least 20", got)
	}
	if got := metricValue(fams, "bootd_lease_store_commits_total"); got <= 0 || got > 20 {
		t.Errorf("bootd_lease_store_commits_total = %v, want 1 to 20", got)
	}
	if got := metricValue(fams, "bootd_dhcp_sent_total", "type", "ACK"); got < 20 {
		t.Errorf("bootd_dhcp_sent_total{type=ACK} = %v, want at least 20", got)
	}

	snap := filepath.Join(t.TempDir(), "backup.snap")
	if out, err := run(t, 30*time.Second, bin, "backup", "--config", cfg, snap); err != nil {
		t.Fatalf("bootd backup: %v\n%s", err, out)
	}
	// The backup opens as a store holding the same leases.
	s, err := journal.OpenBackup(t.Context(), snap, t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, a := range acked {
		got, ok := leaseOf(t, s, mac(i))
		if !ok || got.Addr != a || got.State != lease.Bound {
			t.Errorf("restored lease of %v: %+v, want %v bound", mac(i), got, a)
		}
	}
}
