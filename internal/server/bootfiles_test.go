package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestServeBootFiles: bootd serve with tftp and http-boot configured
// serves the boot root over TFTP (to tftp-hpa's client) and HTTP to a
// client in another namespace, while answering DHCP.
func TestServeBootFiles(t *testing.T) {
	ch := newChild(t, "198.18.0.10-198.18.0.200")
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "boot.ipxe"), []byte("#!ipxe\nchain http://198.18.0.1:8080/kernel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ch.write(relayedConfig("198.18.0.10-198.18.0.200") + "tftp: {root: " + root + "}\n" +
		"http-boot: {listen: \"198.18.0.1:8080\"}\n") // the tftp root
	ch.start()
	if got := doraAll(t, ch.c, 2, 2); len(got) != 2 {
		t.Fatalf("DORA: %v", got)
	}
	// The client side dials from its namespace.
	var dial func(ctx context.Context, network, addr string) (net.Conn, error)
	dial = func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
		err = ch.link.cli.Do(func() error {
			var d net.Dialer
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}
	client := &http.Client{Transport: &http.Transport{DialContext: dial}, Timeout: 10 * time.Second}
	resp, err := client.Get("http://198.18.0.1:8080/boot.ipxe")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "#!ipxe\nchain http://198.18.0.1:8080/kernel\n" {
		t.Errorf("GET boot.ipxe: %s %q", resp.Status, b)
	}
	// TFTP, with Debian's tftp-hpa client in the client namespace.
	if tftpBin, err := exec.LookPath("tftp"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tftp (tftp-hpa) is not installed; scripts/test.sh installs it")
		}
		t.Log("tftp (tftp-hpa) not installed: TFTP not checked")
	} else {
		out := filepath.Join(t.TempDir(), "boot.ipxe")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ch.link.cli.Name, tftpBin, "-m", "binary", "198.18.0.1", "-c", "get", "/boot.ipxe", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tftp get: %v\n%s", err, b)
		}
		if b, _ := os.ReadFile(out); string(b) != "#!ipxe\nchain http://198.18.0.1:8080/kernel\n" {
			t.Errorf("tftp got %q", b)
		}
	}
	resp, err = client.Get("http://198.18.0.1:8080/../" + filepath.Base(root))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET with ..: %s", resp.Status)
	}
}
