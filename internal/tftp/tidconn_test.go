package tftp

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

func TestTIDConn(t *testing.T) {
	c, err := listenTID(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	buf := make([]byte, 16)

	start := time.Now()
	c.SetReadDeadline(start.Add(30 * time.Millisecond))
	if _, _, err := c.ReadFromUDPAddrPort(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Errorf("deadline of 30 ms ended the read after %v", d)
	}

	peer, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peer.WriteToUDPAddrPort([]byte("ack"), c.localAddr())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil || string(buf[:n]) != "ack" || from != peer.LocalAddr().(*net.UDPAddr).AddrPort() {
		t.Fatalf("read %q from %v, %v", buf[:n], from, err)
	}
	if _, err := c.WriteToUDPAddrPort([]byte("data"), from); err != nil {
		t.Fatal(err)
	}
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := peer.ReadFromUDPAddrPort(buf); err != nil || string(buf[:n]) != "data" {
		t.Fatalf("peer read %q, %v", buf[:n], err)
	}

	// interrupt wakes a blocked read.
	done := make(chan error)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	go func() { _, _, err := c.ReadFromUDPAddrPort(buf); done <- err }()
	time.AfterFunc(20*time.Millisecond, c.interrupt)
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("interrupted read: %v, want net.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("interrupt did not wake the read")
	}
}
