package journal

import (
	"context"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"

	"bootd/internal/lease"
)

// OpenBackup restores the snapshot in file (written by Backup) into dir,
// which must be empty or missing, and opens the store there. It is how a
// backup is checked, and how a stopped server's store is restored.
func OpenBackup(ctx context.Context, file, dir string, opts Options) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err != nil {
		return nil, err
	} else if len(ents) > 0 {
		return nil, fmt.Errorf("restore into %s: directory not empty", dir)
	}
	src, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, BackupName), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("restore %s: %w", file, err)
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return nil, err
	}
	if err := dst.Close(); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return Open(ctx, dir, opts)
}

// WriteLeases writes leases to w in the format of Backup: saved as
// BackupName in an empty directory, or restored with OpenBackup, they open
// as a store. Of several leases of one address the last one counts. It is
// for tools and tests that build a large store at once, without a commit
// per lease; a lease that cannot be encoded stops it with an error.
func WriteLeases(w io.Writer, leases iter.Seq[*lease.Lease]) error {
	buf := make([]byte, 0, 1<<20)
	buf = append(buf, fileMagic[:]...)
	for l := range leases {
		start := len(buf)
		buf = append(buf, 0, 0, 0, 0, 0, 0, 0, 0, opPut)
		var err error
		if buf, err = lease.AppendBinary(buf, l); err != nil {
			return err
		}
		sealRecord(buf[start:])
		if len(buf) >= 1<<20-maxPayload-frameSize {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}
