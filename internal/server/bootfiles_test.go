package server_test

import (
	"bytes"
	"context"
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

	"golang.org/x/sys/unix"
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
		"http-boot: {listen: \"198.18.0.1:8080\"}\n" + // the tftp root
		"boot-templates:\n  host.ipxe: \"#!ipxe\\necho {{.MAC}} at {{.Address}}\\n\"\n")
	ch.start()
	acked := doraAll(t, ch.c, 2, 2)
	if len(acked) != 2 {
		t.Fatalf("DORA: %v", acked)
	}
	// The client side takes the address leased to client 1, so that the
	// boot template finds its lease.
	ch.link.cli.IP("addr", "add", acked[1].String()+"/22", "dev", "c0")
	// The client side dials from its namespace.
	dial := func(ctx context.Context, network, addr string) (conn net.Conn, err error) {
		err = ch.link.cli.Do(func() error {
			d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(acked[1], 0))}
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
	// A boot template, made for the client asking.
	resp, err = client.Get("http://198.18.0.1:8080/host.ipxe")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "#!ipxe\necho " + mac(1).String() + " at " + acked[1].String() + "\n"; resp.StatusCode != 200 || string(b) != want {
		t.Errorf("GET host.ipxe: %s %q, want %q", resp.Status, b, want)
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
		cmd = exec.CommandContext(ctx, "ip", "netns", "exec", ch.link.cli.Name, tftpBin, "-m", "binary", "198.18.0.1", "-c", "get", "host.ipxe", out)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("tftp get host.ipxe: %v\n%s", err, b)
		}
		// The TFTP client's source is the namespace's first address, the relay's: no lease.
		if b, _ := os.ReadFile(out); !strings.HasPrefix(string(b), "#!ipxe\necho  at 198.18.0.") {
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

// TestServeRARP: bootd serve with rarp on its interface answers a RARP
// request from the reserved MAC with the reserved address, and stays
// silent for a MAC without one.
func TestServeRARP(t *testing.T) {
	ch := newChild(t, "198.18.0.10-198.18.0.200")
	const reserved = "02:00:00:00:0e:01"
	ch.link.cli.IP("link", "set", "dev", "c0", "address", reserved)
	ch.write(`
interfaces: [s0]
lease-store: {path: STORE}
rarp: {interfaces: [s0]}
subnets:
  - subnet: 198.18.0.0/22
    server-address: 198.18.0.1
    reservations:
      - {mac: "` + reserved + `", address: 198.18.0.77}
`)
	ch.start()
	var fd int
	if err := ch.link.cli.Do(func() (err error) {
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_RARP)))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	ifi := ch.link.cli.Interface("c0")
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_RARP), Ifindex: ifi.Index}); err != nil {
		t.Fatal(err)
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 200_000}); err != nil {
		t.Fatal(err)
	}
	ask := func(mac net.HardwareAddr, wait time.Duration) (netip.Addr, bool) {
		t.Helper()
		// htype 1, ptype IPv4, hlen 6, plen 4, op 3 (request reverse); SHA,
		// SPA 0, THA the MAC asked about, TPA 0.
		req := []byte{0, 1, 8, 0, 6, 4, 0, 3}
		req = append(req, ifi.HardwareAddr...)
		req = append(req, 0, 0, 0, 0)
		req = append(req, mac...)
		req = append(req, 0, 0, 0, 0)
		to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_RARP), Ifindex: ifi.Index, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
		deadline := time.Now().Add(wait)
		for time.Now().Before(deadline) { // resend until answered: the responder may still be starting
			if err := unix.Sendto(fd, req, 0, to); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 64)
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // timeout: ask again
			}
			b := buf[:n]
			if n >= 28 && b[7] == 4 && bytes.Equal(b[18:24], mac) {
				return netip.AddrFrom4([4]byte(b[24:28])), true
			}
		}
		return netip.Addr{}, false
	}
	if got, ok := ask(net.HardwareAddr{2, 0, 0, 0, 0x0e, 1}, 5*time.Second); !ok || got != netip.MustParseAddr("198.18.0.77") {
		t.Errorf("RARP for the reserved MAC: %v, %v; want 198.18.0.77", got, ok)
	}
	if got, ok := ask(net.HardwareAddr{2, 0, 0, 0, 0x0e, 2}, time.Second); ok {
		t.Errorf("RARP for a MAC without a reservation answered %v", got)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
