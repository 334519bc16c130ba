package cli

import (
	"bootd/internal/fsutil"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
)

func restoreCommand() *command {
	return &command{
		name:     "restore",
		synopsis: "(--config FILE | --store DIR) SNAPSHOT",
		summary:  "replace a stopped server's lease store with a snapshot",
		doc: `Restore replaces the lease store named by the configuration (its
lease-store path) or by --store with SNAPSHOT, a file written by bootd backup
or by the scheduled backups of bootd serve. The server must be stopped:
restore refuses while the store's control socket answers or while another
process holds the store.

The snapshot is first opened as a store beside DIR, so a damaged snapshot
changes nothing. Then DIR is renamed to DIR.before-restore-<UTC time>, not
deleted, and the restored store takes its place. Delete the old one once
the server runs well on the restored leases.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			src := storeFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want one snapshot file")
				}
				dir, err := src.dir()
				if err != nil {
					return err
				}
				res, err := restore(ctx, dir, args[0], time.Now())
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "restored %d leases from %s into %s\n", res.leases, args[0], dir)
				if res.aside != "" {
					fmt.Fprintf(e.stdout, "the old store is kept at %s: delete it when no longer needed\n", res.aside)
				}
				return nil
			}
		},
	}
}

// journalLockName is the file a journal store flock(2)s while open (see
// package journal).
const journalLockName = "LOCK"

// lockStopped makes sure no server uses the store in dir and holds its lock
// until unlock is called, so that none can start meanwhile. A missing dir
// is not an error (there is nothing to lock).
func lockStopped(dir string) (unlock func(), err error) {
	if c := controlClient(dir); c != nil {
		return nil, fmt.Errorf("a server is running on lease store %s (its control socket answers): stop it first", dir)
	}
	f, err := os.OpenFile(filepath.Join(dir, journalLockName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return func() {}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("lease store %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lease store %s is held by another process (a server whose control socket does not answer?): stop it first", dir)
		}
		return nil, fmt.Errorf("lock lease store %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}

type restoreResult struct {
	leases int
	aside  string // where the old store went, empty if there was none
}

func restore(ctx context.Context, dir, snapshot string, now time.Time) (restoreResult, error) {
	dir = filepath.Clean(dir)
	unlock, err := lockStopped(dir)
	if err != nil {
		return restoreResult{}, err
	}
	defer unlock()
	stamp := now.UTC().Format("20060102T150405Z")
	staging := dir + ".restoring-" + stamp
	if _, err := os.Lstat(staging); !errors.Is(err, os.ErrNotExist) {
		return restoreResult{}, fmt.Errorf("%s is in the way: remove it first", staging)
	}
	s, err := journal.OpenBackup(ctx, snapshot, staging, journal.Options{})
	if err != nil {
		os.RemoveAll(staging)
		return restoreResult{}, fmt.Errorf("snapshot %s: %w", snapshot, err)
	}
	var res restoreResult
	err = s.LoadShared(ctx, func(*lease.Lease) error { res.leases++; return nil })
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.RemoveAll(staging)
		return restoreResult{}, fmt.Errorf("snapshot %s: %w", snapshot, err)
	}
	if _, err := os.Lstat(dir); err == nil {
		res.aside = dir + ".before-restore-" + stamp
		if err := os.Rename(dir, res.aside); err != nil {
			os.RemoveAll(staging)
			return restoreResult{}, fmt.Errorf("keep the old store aside: %w", err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		os.RemoveAll(staging)
		return restoreResult{}, err
	}
	if err := os.Rename(staging, dir); err != nil {
		if res.aside != "" && os.Rename(res.aside, dir) == nil {
			os.RemoveAll(staging)
			return restoreResult{}, fmt.Errorf("restore into %s: %w (the old store is back in place)", dir, err)
		}
		return restoreResult{}, fmt.Errorf("restored store left at %s: %w", staging, err)
	}
	if err := fsutil.SyncDir(filepath.Dir(dir)); err != nil {
		return res, err
	}
	return res, nil
}
