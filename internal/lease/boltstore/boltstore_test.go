package boltstore_test

import (
	"context"
	"testing"

	"bootd/internal/lease"
	"bootd/internal/lease/boltstore"
	"bootd/internal/lease/leasetest"
)

var backend = leasetest.Backend{
	Open: func(ctx context.Context, dir string) (lease.Store, error) {
		return boltstore.Open(ctx, dir, boltstore.Options{})
	},
	BackupName: boltstore.FileName,
}

func TestConformance(t *testing.T) {
	leasetest.Run(t, backend)
}

func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	leasetest.RunCrash(t, backend, "TestCrashChild")
}

func TestCrashChild(t *testing.T) {
	leasetest.CrashChild(t, backend)
}
