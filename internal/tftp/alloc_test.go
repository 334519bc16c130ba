package tftp

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestBlockLoopAllocs pins the sender's steady state at no allocation: read
// a window of blocks into the ring, send them, take the client's ACK.
func TestBlockLoopAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts mean nothing under the race detector")
	}
	lo := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	srv, err := listenTID(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.close()
	cli, err := net.ListenUDP("udp4", lo)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	const blksize, window = 1428, 16
	content := bytes.NewReader(make([]byte, 1<<30)) // never reaches its end
	for _, mode := range []string{"octet", "netascii"} {
		tr, err := newTransfer(srv, cli.LocalAddr().(*net.UDPAddr).AddrPort(), content, -1,
			Request{Op: OpRRQ, Filename: "f", Mode: mode, Options: Options{BlockSize: blksize, WindowSize: window}},
			time.Second, 3)
		if err != nil {
			t.Fatal(err)
		}
		peer := srv.localAddr()
		buf := make([]byte, 4+blksize)
		ack := []byte{0, OpACK, 0, 0}
		ctx := context.Background()
		step := func() {
			if err := tr.sendWindow(); err != nil {
				t.Fatal(err)
			}
			var n int
			for range window {
				if n, _, err = cli.ReadFromUDPAddrPort(buf); err != nil {
					t.Fatal(err)
				}
			}
			ack[2], ack[3] = buf[2], buf[3]
			if n != 4+blksize {
				t.Fatalf("block of %d bytes", n-4)
			}
			cli.WriteToUDPAddrPort(ack, peer)
			if err := tr.await(ctx); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if got := testing.AllocsPerRun(50, step); got != 0 {
			t.Errorf("%s: %v allocations per window, want 0", mode, got)
		}
		if tr.retransmits != 0 {
			t.Errorf("%s: %d retransmissions", mode, tr.retransmits)
		}
	}
}
