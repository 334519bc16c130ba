package tftp

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkTransfer64MiB fetches a 64 MiB file over loopback with the test
// client at blksize 1428, windowsize 16.
func BenchmarkTransfer64MiB(b *testing.B) {
	ts := startServer(b, Config{Log: slog.New(slog.DiscardHandler)})
	content := randomBytes(64 << 20)
	ts.file(b, "big", content)
	c := client{req: Request{Filename: "big", Options: Options{BlockSize: 1428, WindowSize: 16}}, into: make([]byte, 0, len(content))}
	b.SetBytes(int64(len(content)))
	b.ReportAllocs()
	for b.Loop() {
		if res := c.get(b, ts.addr); len(res.data) != len(content) {
			b.Fatalf("got %d bytes, want %d", len(res.data), len(content))
		}
	}
}

// BenchmarkCurl fetches a 64 MiB file with curl at blksize 1428 from bootd
// and, when it is installed and the benchmark runs as root, from tftpd-hpa
// (in.tftpd) serving the same directory, for comparison.
func BenchmarkCurl(b *testing.B) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skipf("curl is missing: %v", err)
	}
	ts := startServer(b, Config{Log: slog.New(slog.DiscardHandler)})
	content := randomBytes(64 << 20)
	ts.file(b, "big", content)
	fetch := func(b *testing.B, port uint16) {
		out := filepath.Join(b.TempDir(), "out")
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			cmd := exec.Command(curl, "-sS", "--tftp-blksize", "1428", "-o", out,
				fmt.Sprintf("tftp://127.0.0.1:%d/big", port))
			if msg, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("curl: %v: %s", err, msg)
			}
		}
		if fi, err := os.Stat(out); err != nil || fi.Size() != int64(len(content)) {
			b.Fatalf("curl's copy: %v, %v", fi, err)
		}
	}
	b.Run("bootd", func(b *testing.B) { fetch(b, ts.addr.Port()) })
	b.Run("tftpd-hpa", func(b *testing.B) { fetch(b, startTFTPDHPA(b, ts.root).Port()) })
}

// BenchmarkWindow16 fetches a 64 MiB file over loopback with the test
// client asking for blksize 1428 and windowsize 16, from bootd and from
// tftpd-hpa serving the same directory in the same run (tftpd-hpa 5.2
// answers windowsize by leaving it out of its OACK: one block at a time).
func BenchmarkWindow16(b *testing.B) {
	ts := startServer(b, Config{Log: slog.New(slog.DiscardHandler)})
	content := randomBytes(64 << 20)
	ts.file(b, "big", content)
	fetch := func(b *testing.B, addr netip.AddrPort) {
		c := client{req: Request{Filename: "big", Options: Options{BlockSize: 1428, WindowSize: 16}}, into: make([]byte, 0, len(content))}
		b.SetBytes(int64(len(content)))
		for b.Loop() {
			if res := c.get(b, addr); len(res.data) != len(content) {
				b.Fatalf("got %d bytes, want %d", len(res.data), len(content))
			}
		}
	}
	b.Run("bootd", func(b *testing.B) { fetch(b, ts.addr) })
	b.Run("tftpd-hpa", func(b *testing.B) { fetch(b, startTFTPDHPA(b, ts.root)) })
}

// startTFTPDHPA runs Debian's tftpd-hpa (in.tftpd) on a free loopback port
// serving root until the benchmark ends, or skips.
func startTFTPDHPA(b *testing.B, root string) netip.AddrPort {
	tftpd, err := exec.LookPath("in.tftpd")
	if err != nil {
		b.Skipf("in.tftpd (Debian package tftpd-hpa) is missing: %v", err)
	}
	if os.Geteuid() != 0 {
		b.Skip("in.tftpd needs root to chroot to its directory")
	}
	// A free port: bind, note it, release it for in.tftpd.
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	addr := c.LocalAddr().(*net.UDPAddr).AddrPort()
	c.Close()
	cmd := exec.Command(tftpd, "-L", "-u", "root", "-s", root, "-a", addr.String())
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitFor(b, "in.tftpd to answer", func() bool { return probe(addr) })
	return addr
}

// probe reports whether a TFTP server answers a request at addr.
func probe(addr netip.AddrPort) bool {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return false
	}
	defer c.Close()
	c.WriteToUDPAddrPort(AppendRequest(nil, Request{Op: OpRRQ, Filename: "probe-missing", Mode: "octet"}), addr)
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	_, _, err = c.ReadFromUDPAddrPort(make([]byte, 600))
	return err == nil
}
