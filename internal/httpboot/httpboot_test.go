package httpboot

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bootRoot makes a boot root with a few files, a subdirectory, and links
// that lead out of it.
func bootRoot(t *testing.T) (root string, big []byte) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "boot")
	outside := filepath.Join(dir, "secret")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "efi"), 0o755))
	must(os.WriteFile(outside, []byte("outside the root"), 0o644))
	must(os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello, boot\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0o644))
	big = make([]byte, 3<<20+123)
	rand.Read(big)
	must(os.WriteFile(filepath.Join(root, "efi", "boot.efi"), big, 0o644))
	must(os.Symlink(outside, filepath.Join(root, "abs-link")))
	must(os.Symlink("../secret", filepath.Join(root, "rel-link")))
	must(os.Symlink("hello.txt", filepath.Join(root, "inside-link")))
	return root, big
}

func startServer(t *testing.T, cfg Config) (*Server, string) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return s, "http://" + ln.Addr().String()
}

func get(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestServesFiles(t *testing.T) {
	root, big := bootRoot(t)
	s, base := startServer(t, Config{Root: root})
	for _, tc := range []struct {
		path string
		want []byte
	}{
		{"/hello.txt", []byte("hello, boot\n")},
		{"/./hello.txt", []byte("hello, boot\n")},
		{"//efi//boot.efi", big},
		{"/empty", []byte{}},
		{"/inside-link", []byte("hello, boot\n")}, // a link within the root is fine
	} {
		resp, b := get(t, "GET", base+tc.path, nil)
		if resp.StatusCode != 200 || !bytes.Equal(b, tc.want) {
			t.Errorf("GET %s: %s, %d bytes; want 200, %d bytes", tc.path, resp.Status, len(b), len(tc.want))
		}
	}
	// Range requests, as UEFI HTTP boot and iPXE use them.
	resp, b := get(t, "GET", base+"/efi/boot.efi", map[string]string{"Range": "bytes=1000-1999"})
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, big[1000:2000]) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes 1000-1999/%d", len(big)) {
		t.Errorf("range: %s %q, %d bytes", resp.Status, resp.Header.Get("Content-Range"), len(b))
	}
	resp, b = get(t, "GET", base+"/efi/boot.efi", map[string]string{"Range": fmt.Sprintf("bytes=%d-", len(big)+10)})
	if resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %s (%d bytes)", resp.Status, len(b))
	}
	resp, b = get(t, "HEAD", base+"/efi/boot.efi", nil)
	if resp.StatusCode != 200 || len(b) != 0 || resp.ContentLength != int64(len(big)) {
		t.Errorf("HEAD: %s, length %d, %d body bytes", resp.Status, resp.ContentLength, len(b))
	}
	if st := s.Stats(); st.Requests != 8 || st.Served != 7 || st.Bytes < uint64(len(big)) { // all but the 416
		t.Errorf("Stats = %+v", st)
	}
}

func TestRefuses(t *testing.T) {
	root, _ := bootRoot(t)
	s, base := startServer(t, Config{Root: root})
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/../secret", 400},
		{"/efi/../../secret", 400},
		{"/%2e%2e/secret", 400},
		{"/efi%5c..%5c..%5csecret", 400}, // backslashes
		{"/hello.txt%00.efi", 400},
		{"/", 400},
		{"/abs-link", 404}, // symbolic links out of the root
		{"/rel-link", 404},
		{"/efi", 404}, // no directory listings
		{"/missing.efi", 404},
	} {
		resp, b := get(t, "GET", base+tc.path, nil)
		if resp.StatusCode != tc.want || bytes.Contains(b, []byte("outside the root")) {
			t.Errorf("GET %s: %s %q, want %d", tc.path, resp.Status, b, tc.want)
		}
	}
	req, _ := http.NewRequest("PUT", base+"/hello.txt", strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("PUT: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
	if b, _ := os.ReadFile(filepath.Join(root, "hello.txt")); string(b) != "hello, boot\n" {
		t.Errorf("hello.txt changed: %q", b)
	}
	if st := s.Stats(); st.Refused != 7 || st.Missing != 4 {
		t.Errorf("Stats = %+v, want 7 refused and 4 missing", st)
	}
}

// TestGeneratedFiles: Files is asked first, with the client's address,
// and its content is served like a file (ranges included).
func TestGeneratedFiles(t *testing.T) {
	root, _ := bootRoot(t)
	_, base := startServer(t, Config{Root: root, Files: func(name string, client netip.AddrPort) ([]byte, bool) {
		if name != "boot.ipxe" {
			return nil, false
		}
		return fmt.Appendf(nil, "#!ipxe\necho client %v\n", client.Addr()), true
	}})
	resp, b := get(t, "GET", base+"/boot.ipxe", nil)
	if resp.StatusCode != 200 || string(b) != "#!ipxe\necho client 127.0.0.1\n" {
		t.Errorf("generated: %s %q", resp.Status, b)
	}
	resp, b = get(t, "GET", base+"/boot.ipxe", map[string]string{"Range": "bytes=0-5"})
	if resp.StatusCode != 206 || string(b) != "#!ipxe" {
		t.Errorf("generated, range: %s %q", resp.Status, b)
	}
	if resp, b := get(t, "GET", base+"/hello.txt", nil); resp.StatusCode != 200 || string(b) != "hello, boot\n" {
		t.Errorf("a file next to generated ones: %s %q", resp.Status, b)
	}
}

// TestCurl: Debian's curl fetches a whole file and a range intact.
func TestCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("curl is not installed (scripts/test.sh installs it)")
		}
		t.Skip("curl is not installed")
	}
	root, big := bootRoot(t)
	_, base := startServer(t, Config{Root: root})
	out := filepath.Join(t.TempDir(), "boot.efi")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, err := exec.CommandContext(ctx, curl, "-sS", "-f", "-o", out, base+"/efi/boot.efi").CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, b)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if sum(got) != sum(big) {
		t.Errorf("curl got %d bytes, sha256 %s; want %d, %s", len(got), sum(got), len(big), sum(big))
	}
	b, err := exec.CommandContext(ctx, curl, "-sS", "-f", "-r", "100-199", base+"/efi/boot.efi").Output()
	if err != nil || !bytes.Equal(b, big[100:200]) {
		t.Errorf("curl -r 100-199: %v, %d bytes", err, len(b))
	}
	if err := exec.CommandContext(ctx, curl, "-sS", "-f", "-o", os.DevNull, base+"/../secret").Run(); err == nil {
		t.Error("curl fetched a path with .. in it")
	}
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"/a/b.efi": "a/b.efi", "a": "a", "//a//./b": "a/b", "/.a": ".a", "/a..b": "a..b",
	} {
		if got, err := CleanPath(in); got != want || err != nil {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "/", "/.", "..", "/a/../b", "a\\b", "a\x00"} {
		if got, err := CleanPath(in); err == nil {
			t.Errorf("CleanPath(%q) = %q, want an error", in, got)
		}
	}
}

func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"/a/b", "/../x", "a\\b", "//./x/", "/a..b/.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		name, err := CleanPath(p)
		if err != nil {
			return
		}
		// What passes names something strictly below the root.
		if name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") || !filepath.IsLocal(name) {
			t.Fatalf("CleanPath(%q) = %q", p, name)
		}
		for _, e := range strings.Split(name, "/") {
			if e == "" || e == "." || e == ".." {
				t.Fatalf("CleanPath(%q) = %q has element %q", p, name, e)
			}
		}
	})
}
