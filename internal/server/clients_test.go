package server_test

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
)

// relayedConfig serves 198.18.0.0/22 on s0 with the given pool.
func relayedConfig(pool string) string {
	return `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
subnets:
  - subnet: 198.18.0.0/22
    server-address: 198.18.0.1
    pools:
      - range: ` + pool + `
    options:
      router: 198.18.0.1
`
}

// doraAll runs DORA for clients 0..n-1 with workers at a time and returns
// the ACKed address of each.
func doraAll(t *testing.T, c *relayClient, n, workers int) []netip.Addr {
	t.Helper()
	addrs := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				ack, err := c.dora(i)
				if err != nil {
					errs[i] = err
					continue
				}
				addrs[i] = ack.YIAddr
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			if failed < 5 {
				t.Error(err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d clients got no lease", failed, n)
	}
	return addrs
}

// TestThousandClients: 1,000 distinct clients, relayed, each get a distinct
// address, and the store holds 1,000 bound leases, each for its client.
func TestThousandClients(t *testing.T) {
	const n = 1000
	l := newLink(t, 22)
	srv := startServer(t, l.srv, relayedConfig("198.18.0.10-198.18.3.250"))
	c := newRelayClient(t, l.cli)

	start := time.Now()
	addrs := doraAll(t, c, n, 16)
	t.Logf("%d DORA exchanges in %v", n, time.Since(start))

	pool := netip.MustParsePrefix("198.18.0.0/22")
	seen := map[netip.Addr]int{}
	for i, a := range addrs {
		if !pool.Contains(a) {
			t.Errorf("client %d got %v, outside %v", i, a, pool)
		}
		if j, dup := seen[a]; dup {
			t.Errorf("clients %d and %d both got %v", j, i, a)
		}
		seen[a] = i
	}
	bound := 0
	err := srv.store.Load(context.Background(), func(l *lease.Lease) error {
		if l.State != lease.Bound {
			return nil
		}
		bound++
		i, ok := seen[l.Addr]
		if !ok {
			t.Errorf("bound lease %v was never ACKed", l.Addr)
		} else if got, want := l.HWAddr, mac(i); string(got) != string(want) {
			t.Errorf("lease %v: HWAddr %v, want %v", l.Addr, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if bound != n {
		t.Errorf("store has %d bound leases, want %d", bound, n)
	}
}

// TestPoolExhausted: a pool of 20 serves 20 clients; the 21st gets no
// offer, and the server logs and counts the drop.
func TestPoolExhausted(t *testing.T) {
	l := newLink(t, 22)
	srv := startServer(t, l.srv, relayedConfig("198.18.0.100-198.18.0.119"))
	c := newRelayClient(t, l.cli)

	addrs := doraAll(t, c, 20, 4)
	seen := map[netip.Addr]bool{}
	for _, a := range addrs {
		seen[a] = true
	}
	if len(seen) != 20 {
		t.Fatalf("20 clients got %d distinct addresses", len(seen))
	}
	dropped := srv.srv.Counters().Dropped.Load()

	m, err := c.exchange(request(20, dhcpv4.Discover), 2, 500*time.Millisecond, dhcpv4.Offer)
	if err == nil {
		t.Fatalf("21st client offered %v from a full pool of 20", m.YIAddr)
	}
	srv.log.wait(t, 5*time.Second, 1, "pool exhausted", mac(20).String())
	if got := srv.srv.Counters().Dropped.Load(); got <= dropped {
		t.Errorf("Dropped counter %d, want more than %d", got, dropped)
	}
}
