package server_test

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
)

// TestMalformedBurst: a burst of malformed datagrams on port 67 is dropped
// and counted, and a real client still gets a lease right after it.
func TestMalformedBurst(t *testing.T) {
	needCommand(t, "dhclient")
	l := newLink(t, 24)
	srv := startServer(t, l.srv, lanConfig)
	c := newRelayClient(t, l.cli)

	good, err := request(1, dhcpv4.Discover).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const burst = 2000
	for i := range burst {
		var b []byte
		switch i % 4 {
		case 0: // random bytes of random length
			b = make([]byte, r.IntN(600))
			for j := range b {
				b[j] = byte(r.Uint32())
			}
		case 1: // a good request cut short
			b = good[:r.IntN(len(good)-60)]
		case 2: // an option running past the end
			b = append(append([]byte(nil), good[:240]...), 53, 200, 1)
		case 3: // a good request with random bytes flipped in the header
			b = append([]byte(nil), good...)
			b[r.IntN(4)] = byte(r.Uint32())
			b[2] = 17 + byte(r.IntN(200)) // hlen > 16
		}
		if _, err := c.conn.WriteToUDP(b, c.server); err != nil {
			t.Fatal(err)
		}
	}
	// The burst overflows the socket's receive queue, so the kernel drops
	// part of it before the server sees it; what arrives is counted.
	pollUntil(t, 10*time.Second, "malformed packets counted", func() bool {
		return srv.srv.Counters().Malformed.Load() >= 200
	})

	hw := l.cli.Interface("c0").HardwareAddr
	dir := t.TempDir()
	leases := dhclient(t, l.cli.Name, dir, filepath.Join(dir, "dhclient.leases"), 1)
	got := leases[len(leases)-1]
	if bound := waitLease(t, srv, hw, lease.Bound); bound.Addr != got.addr {
		t.Errorf("after the burst: store has %v, dhclient got %v", bound.Addr, got.addr)
	}
	t.Logf("malformed counted: %d of %d sent", srv.srv.Counters().Malformed.Load(), burst)
}
