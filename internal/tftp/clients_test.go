package tftp

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests run real clients against the server over loopback: tftp-hpa's
// tftp (which sends no options, so it checks plain RFC 1350) and curl (which
// sends tsize, blksize and timeout). They need no privileges. A missing
// client skips them, unless CI=true, where it fails them: scripts/test.sh
// installs both.

// needClient returns the path of a client binary.
func needClient(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s (Debian package %s) is missing: %v", name, pkg, err)
		}
		t.Skipf("%s (Debian package %s) is missing: %v", name, pkg, err)
	}
	return p
}

// runClient runs a client in dir and returns its combined output and exit code.
func runClient(t *testing.T, dir, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return string(out), 0
}

func sameFile(t *testing.T, got string, want []byte) {
	t.Helper()
	b, err := os.ReadFile(got)
	if err != nil {
		t.Fatalf("reading the client's copy: %v", err)
	}
	if sha256.Sum256(b) != sha256.Sum256(want) {
		t.Fatalf("client's copy: %d bytes, sha256 differs from the %d-byte original", len(b), len(want))
	}
}

// clientFiles are the files every client test fetches.
func clientFiles(t *testing.T, ts *testServer) map[string][]byte {
	files := map[string][]byte{
		"small.txt":          []byte("hello, PXE\n"),
		"empty":              nil,
		"exact-512":          randomBytes(8 * 512),
		"exact-1428":         randomBytes(8 * 1428),
		"boot/undionly.kpxe": randomBytes(70_000),
		"big":                randomBytes(64 << 20),
	}
	for name, b := range files {
		ts.file(t, name, b)
	}
	return files
}

func TestTFTPHPA(t *testing.T) {
	tftp := needClient(t, "tftp", "tftp-hpa")
	ts := startServer(t, Config{Timeout: time.Second})
	files := clientFiles(t, ts)
	ts.file(t, "text.cfg", []byte("default linux\nlabel linux\n  kernel vmlinuz\r\n"))
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	os.Symlink(filepath.Join(outside, "secret"), filepath.Join(ts.root, "escape"))
	port := strconv.Itoa(int(ts.addr.Port()))
	dir := t.TempDir()
	get := func(mode, remote, local string) string {
		out, _ := runClient(t, dir, tftp, "-m", mode, "127.0.0.1", port, "-c", "get", remote, local)
		return out
	}

	for _, name := range []string{"small.txt", "empty", "exact-512", "boot/undionly.kpxe", "/boot/undionly.kpxe", "big"} {
		t.Run("get "+name, func(t *testing.T) {
			local := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
			if out := get("binary", name, local); out != "" {
				t.Errorf("tftp said %q", out)
			}
			sameFile(t, local, files[strings.TrimPrefix(name, "/")])
		})
	}
	t.Run("netascii", func(t *testing.T) {
		// The client converts back, so the copy equals the original.
		local := filepath.Join(dir, "text.cfg")
		if out := get("netascii", "text.cfg", local); out != "" {
			t.Errorf("tftp said %q", out)
		}
		sameFile(t, local, []byte("default linux\nlabel linux\n  kernel vmlinuz\r\n"))
	})
	for _, tt := range []struct{ remote, want string }{
		{"missing", "Error code 1"},
		{"boot", "Error code 1"},
		{"../etc/passwd", "Error code 2"},
		{"/../etc/passwd", "Error code 2"},
		{"escape", "Error code 2"},
		{"boot\\undionly.kpxe", "Error code 2"},
	} {
		t.Run("refuse "+tt.remote, func(t *testing.T) {
			local := filepath.Join(dir, "refused")
			out := get("binary", tt.remote, local)
			if !strings.Contains(out, tt.want) {
				t.Errorf("tftp said %q, want %q", out, tt.want)
			}
			if b, _ := os.ReadFile(local); len(b) != 0 {
				t.Errorf("refused file served: %q", b)
			}
		})
	}
	t.Run("put refused", func(t *testing.T) {
		local := filepath.Join(dir, "upload")
		os.WriteFile(local, []byte("upload"), 0o644)
		out, _ := runClient(t, dir, tftp, "-m", "binary", "127.0.0.1", port, "-c", "put", local, "upload")
		if !strings.Contains(out, "Error code 2") {
			t.Errorf("tftp said %q, want error 2", out)
		}
		if _, err := os.Stat(filepath.Join(ts.root, "upload")); err == nil {
			t.Error("upload was written")
		}
	})
	if st := ts.Stats(); st.Failed != 0 || st.Retransmits != 0 {
		t.Errorf("stats %+v: want no failure and no retransmission", st)
	}
}

func TestCurl(t *testing.T) {
	curl := needClient(t, "curl", "curl")
	ts := startServer(t, Config{Timeout: time.Second})
	files := clientFiles(t, ts)
	base := "tftp://127.0.0.1:" + strconv.Itoa(int(ts.addr.Port())) + "/"
	dir := t.TempDir()
	tests := []struct {
		name, file string
		args       []string
	}{
		{"small", "small.txt", nil},
		// curl refuses an OACK with tsize 0 ("invalid tsize"), from
		// tftpd-hpa as well; without options it fetches the empty file.
		{"empty", "empty", []string{"--tftp-no-options"}},
		{"exact multiple of 512", "exact-512", nil},
		{"exact multiple of 1428", "exact-1428", []string{"--tftp-blksize", "1428"}},
		{"subdirectory", "boot/undionly.kpxe", nil},
		{"no options", "boot/undionly.kpxe", []string{"--tftp-no-options"}},
		{"64 MiB blksize 1428", "big", []string{"--tftp-blksize", "1428"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			local := filepath.Join(dir, "out")
			os.Remove(local)
			out, code := runClient(t, dir, curl, append([]string{"-sS", "-o", local, base + tt.file}, tt.args...)...)
			if code != 0 {
				t.Fatalf("curl exit %d: %s", code, out)
			}
			sameFile(t, local, files[tt.file])
		})
	}
	for _, tt := range []struct {
		file string
		code int // curl's exit codes: 68 TFTP file not found, 69 TFTP permission problem
	}{
		{"missing", 68},
		{"../etc/passwd", 69},
		{"%2F../etc/passwd", 69},
		{"boot%5Cundionly.kpxe", 69},
	} {
		t.Run("refuse "+tt.file, func(t *testing.T) {
			local := filepath.Join(dir, "refused")
			out, code := runClient(t, dir, curl, "-sS", "--path-as-is", "-o", local, base+tt.file)
			if code != tt.code {
				t.Errorf("curl exit %d (%s), want %d", code, strings.TrimSpace(out), tt.code)
			}
			if b, _ := os.ReadFile(local); len(b) != 0 {
				t.Errorf("refused file served: %q", b)
			}
		})
	}
	if st := ts.Stats(); st.Failed != 0 {
		t.Errorf("stats %+v: want no failure", st)
	}
}
