package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bootd/internal/dhcpv4"
	"bootd/internal/server"
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
		// Both transfers are in bootd serve's metrics (the server counts
		// one when its last block is acknowledged, just after the client
		// has it: poll).
		sock := filepath.Join(ch.store, server.ControlSocket)
		pollUntil(t, 10*time.Second, "2 TFTP transfers in /metrics", func() bool {
			fams, err := scrape(sock)
			return err == nil && metricValue(fams, "bootd_tftp_transfers_total", "result", "completed") == 2 &&
				metricValue(fams, "bootd_tftp_bytes_total") > 0
		})
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

// TestProxyDHCPOverNetwork: a proxy-dhcp server answers a PXE client's
// broadcast DISCOVER with a proxy OFFER (no address) and its REQUEST to
// the boot server port 4011 with an ACK back to the client's address and
// port, both carrying the boot file.
func TestProxyDHCPOverNetwork(t *testing.T) {
	l := newLink(t, 24)
	l.cli.IP("addr", "add", "198.18.0.77/24", "dev", "c0") // as given by the other server
	startServer(t, l.srv, `
interfaces: [s0]
lease-store: {path: STORE}
subnets:
  - subnet: 198.18.0.0/24
    server-address: 198.18.0.1
    proxy-dhcp: true
    next-server: 198.18.0.1
    boot-file: ipxe.efi
`)
	listen := func(port int) *net.UDPConn {
		t.Helper()
		var c *net.UDPConn
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
				if serr == nil {
					serr = unix.BindToDevice(int(fd), "c0")
				}
			})
			return serr
		}}
		if err := l.cli.Do(func() error {
			pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", port))
			if err == nil {
				c = pc.(*net.UDPConn)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	pxe := func(mt dhcpv4.MessageType, ciaddr netip.Addr) []byte {
		m := new(dhcpv4.Message)
		m.Reset()
		m.Op, m.XID, m.Flags = dhcpv4.BootRequest, 0x4011, dhcpv4.FlagBroadcast
		m.SetHardwareAddr(dhcpv4.HTypeEthernet, []byte{2, 0, 0, 0, 0x40, 0x11})
		m.SetMessageType(mt)
		if ciaddr.IsValid() {
			m.CIAddr, m.Flags = ciaddr, 0
		}
		m.Options.SetString(dhcpv4.OptVendorClass, "PXEClient:Arch:00007:UNDI:003016")
		m.Options.Set(dhcpv4.OptClientArch, []byte{0, 7})
		b, err := m.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	exchange := func(c *net.UDPConn, to *net.UDPAddr, req []byte, want dhcpv4.MessageType) *dhcpv4.Message {
		t.Helper()
		buf := make([]byte, 1500)
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) { // resend: the server may still be starting
			if _, err := c.WriteToUDP(req, to); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, _, err := c.ReadFromUDP(buf)
			if err != nil {
				continue
			}
			m := new(dhcpv4.Message)
			if m.UnmarshalBinary(buf[:n]) == nil && m.XID == 0x4011 {
				if mt, _ := m.MessageType(); mt == want {
					return m
				}
			}
		}
		t.Fatalf("no %v", want)
		return nil
	}
	offer := exchange(listen(68), &net.UDPAddr{IP: net.IPv4bcast, Port: 67}, pxe(dhcpv4.Discover, netip.Addr{}), dhcpv4.Offer)
	if !offer.YIAddr.IsUnspecified() || string(offer.BootFile()) != "ipxe.efi" {
		t.Errorf("proxy OFFER: yiaddr %v, file %q", offer.YIAddr, offer.BootFile())
	}
	ack := exchange(listen(4011), &net.UDPAddr{IP: net.IPv4(198, 18, 0, 1), Port: 4011}, pxe(dhcpv4.Request, netip.MustParseAddr("198.18.0.77")), dhcpv4.Ack)
	if !ack.YIAddr.IsUnspecified() || string(ack.BootFile()) != "ipxe.efi" || ack.SIAddr != netip.MustParseAddr("198.18.0.1") {
		t.Errorf("boot server ACK: yiaddr %v, file %q, siaddr %v", ack.YIAddr, ack.BootFile(), ack.SIAddr)
	}
}
