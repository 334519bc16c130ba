package fsutil

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	n, err := WriteFile(name, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, "one"); return err })
	if err != nil || n != 3 {
		t.Fatalf("WriteFile = %d, %v", n, err)
	}
	st, err := os.Stat(name)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v %v", st, err)
	}
	// A failed write leaves the old content and no temporary file.
	boom := errors.New("boom")
	if _, err := WriteFile(name, 0o600, func(w io.Writer) error { io.WriteString(w, "tw"); return boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(name); string(b) != "one" {
		t.Errorf("content %q after a failed write", b)
	}
	if es, _ := os.ReadDir(dir); len(es) != 1 {
		t.Errorf("%d entries left in the directory", len(es))
	}
}
