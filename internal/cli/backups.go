package cli

import (
	"bootd/internal/fsutil"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"

	"bootd/internal/config"
)

// Scheduled snapshots (the backups section of the configuration): every
// interval, bootd serve writes a consistent snapshot of its lease store to
// dir/bootd-<UTC time>.snap, atomically (fsutil.WriteFile), then removes the
// oldest of its snapshots beyond keep. Only files named like its snapshots
// are ever removed. A failure is logged and the next tick tries again; it
// never stops the server. The settings are read at start: a reload does not
// change them.

// snapshotter is what a scheduled snapshot reads: the running server's store.
type snapshotter interface {
	Backup(ctx context.Context, w io.Writer) error
}

// snapTimeLayout names snapshots: UTC, to the millisecond, so that names
// sort in time order.
const snapTimeLayout = "20060102T150405.000Z"

var snapNameRE = regexp.MustCompile(`^bootd-[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.snap$`)

func snapName(t time.Time) string {
	return "bootd-" + t.UTC().Format(snapTimeLayout) + ".snap"
}

// startBackups starts the scheduled snapshots of b (nothing when b is nil)
// and returns the function that stops them and waits until they stopped;
// call it before closing the store.
func startBackups(ctx context.Context, log *slog.Logger, b *config.Backups, store snapshotter) (stop func()) {
	if b == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	t := time.NewTicker(b.Interval)
	log.Info("lease store snapshots scheduled", "dir", b.Dir, "interval", b.Interval, "keep", b.Keep)
	go func() {
		defer close(done)
		defer t.Stop()
		runBackups(ctx, log, b.Dir, b.Keep, store, t.C)
	}()
	return func() { cancel(); <-done }
}

// runBackups writes a snapshot named after each time received from tick
// until ctx ends.
func runBackups(ctx context.Context, log *slog.Logger, dir string, keep int, store snapshotter, tick <-chan time.Time) {
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick:
			name, n, err := snapshotOnce(ctx, dir, now, store)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Error("lease store snapshot failed", "dir", dir, "err", err)
				continue
			}
			log.Info("lease store snapshot written", "file", name, "bytes", n)
			removed, err := pruneSnapshots(dir, keep)
			for _, r := range removed {
				log.Info("old lease store snapshot removed", "file", r)
			}
			if err != nil {
				log.Error("removing old lease store snapshots failed", "dir", dir, "err", err)
			}
		}
	}
}

func snapshotOnce(ctx context.Context, dir string, now time.Time, store snapshotter) (string, int64, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", 0, err
	}
	name := filepath.Join(dir, snapName(now))
	n, err := fsutil.WriteFile(name, 0o600, func(w io.Writer) error { return store.Backup(ctx, w) })
	return name, n, err
}

// pruneSnapshots removes the oldest snapshots of dir beyond keep and
// returns the names of those it removed.
func pruneSnapshots(dir string, keep int) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var snaps []string
	for _, e := range ents {
		if e.Type().IsRegular() && snapNameRE.MatchString(e.Name()) {
			snaps = append(snaps, e.Name())
		}
	}
	slices.Sort(snaps) // oldest first
	var removed []string
	for len(snaps) > keep {
		name := filepath.Join(dir, snaps[0])
		if err := os.Remove(name); err != nil {
			return removed, fmt.Errorf("remove old snapshot: %w", err)
		}
		removed = append(removed, name)
		snaps = snaps[1:]
	}
	return removed, nil
}
