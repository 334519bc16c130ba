// Package fsutil writes files so that a crash never leaves one half
// written: the backups, the API's reservations file and token file use it.
package fsutil

import (
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes a whole file with write: to a temporary file in the
// same directory, synced, then renamed to name and the directory synced,
// so that name is never seen half-written, also after a crash. The file
// gets mode perm. It returns the size written.
func WriteFile(name string, perm os.FileMode, write func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this does nothing
	defer tmp.Close()
	if err := tmp.Chmod(perm); err != nil {
		return 0, err
	}
	if err := write(tmp); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	st, err := tmp.Stat()
	if err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return 0, err
	}
	if err := SyncDir(filepath.Dir(name)); err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// SyncDir makes a directory's entries (a rename, a new file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
