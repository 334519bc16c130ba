package cli

import (
	"bootd/internal/fsutil"
	"context"
	"flag"
	"fmt"
	"io"

	"bootd/internal/lease/journal"
)

func backupCommand() *command {
	return &command{
		name:     "backup",
		synopsis: "(--config FILE | --store DIR) OUT",
		summary:  "write a consistent copy of a lease store, also while the server runs",
		doc: `Backup writes a consistent snapshot of the lease store to OUT: through the
store's control socket when a server is running on it, else from the store
itself. OUT is written to a temporary file, synced and renamed, so it is
never left half-written. Saved as ` + journal.BackupName + ` in an empty
directory, the snapshot opens as a lease store.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			src := storeFlags(fs)
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) != 1 {
					return usagef("want one output file")
				}
				dir, err := src.dir()
				if err != nil {
					return err
				}
				n, err := backup(ctx, dir, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "backup of %s: %d bytes written to %s\n", dir, n, args[0])
				return nil
			}
		},
	}
}

func backup(ctx context.Context, dir, out string) (int64, error) {
	return fsutil.WriteFile(out, 0o600, func(w io.Writer) error { return backupTo(ctx, dir, w) })
}

func backupTo(ctx context.Context, dir string, w io.Writer) error {
	if c := controlClient(dir); c != nil {
		body, err := controlGet(ctx, c, "/api/v1/backup")
		if err != nil {
			return err
		}
		defer body.Close()
		_, err = io.Copy(w, body)
		return err
	}
	s, err := openStore(ctx, dir)
	if err != nil {
		return err
	}
	defer s.Close()
	return s.Backup(ctx, w)
}
