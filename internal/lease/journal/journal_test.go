package journal_test

import (
	"context"
	"testing"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
)

var backend = leasetest.Backend{
	Open: func(ctx context.Context, dir string) (lease.Store, error) {
		return journal.Open(ctx, dir, journal.Options{})
	},
	BackupName: journal.BackupName,
}

// compacting makes every few hundred changes trigger a compaction, so the
// whole suite also runs across generations.
var compacting = leasetest.Backend{
	Open: func(ctx context.Context, dir string) (lease.Store, error) {
		return journal.Open(ctx, dir, journal.Options{CompactMinBytes: 16 << 10, PreallocBytes: 32 << 10})
	},
	BackupName: journal.BackupName,
}

func TestConformance(t *testing.T) {
	leasetest.Run(t, backend)
}

func TestConformanceCompacting(t *testing.T) {
	leasetest.Run(t, compacting)
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	leasetest.RunCrash(t, compacting, "TestCrashChild")
}

func TestCrashChild(t *testing.T) {
	leasetest.CrashChild(t, compacting)
}
