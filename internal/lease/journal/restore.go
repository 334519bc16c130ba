package journal

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
