package bench_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"bootd/internal/bench"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/servertest"
	"bootd/internal/testnet"
)

// The topology of every test here: a server namespace with s0
// (198.18.0.1/15) and a client namespace with c0, joined by a veth pair.
// In relay mode c0 has 198.18.0.2/15, the generator's giaddr.
const (
	serverAddr = "198.18.0.1"
	relayAddr  = "198.18.0.2"
)

type topo struct {
	srv, cli *testnet.Namespace
}

func newTopo(t *testing.T, mode bench.Mode) topo {
	t.Helper()
	srv := testnet.New(t, "bsrv") // skips without root or ip
	cli := testnet.New(t, "bcli")
	testnet.Veth(t, srv, "s0", cli, "c0")
	srv.IP("addr", "add", serverAddr+"/15", "dev", "s0")
	if mode == bench.Relay {
		cli.IP("addr", "add", relayAddr+"/15", "dev", "c0")
	}
	return topo{srv: srv, cli: cli}
}

// serverYAML serves 198.18.0.0/15 on s0 from a pool of 4096 addresses;
// STORE is replaced by the store directory.
const serverYAML = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
subnets:
  - subnet: 198.18.0.0/15
    server-address: 198.18.0.1
    pools:
      - range: 198.18.16.0-198.18.31.255
    options:
      router: 198.18.0.1
`

// startServer runs an in-process bootd server over a journal store in the
// server namespace until the test ends.
func startServer(t *testing.T, ns *testnet.Namespace) *journal.Store {
	t.Helper()
	return servertest.Start(t, ns, serverYAML, t.Output(), slog.LevelWarn).Store
}

// startNull runs a null responder on s0 in the server namespace until the
// test ends.
func startNull(t *testing.T, ns *testnet.Namespace) *bench.NullResponder {
	t.Helper()
	var n *bench.NullResponder
	if err := ns.Do(func() (err error) {
		n, err = bench.ListenNull(context.Background(), bench.NullConfig{Port: 67, Interfaces: []string{"s0"}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("null responder: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("null responder did not stop within 10s of cancel")
		}
	})
	return n
}

// testConfig is a bounded run: count exchanges, window at a time, with a
// timeout long enough for the race detector.
func testConfig(mode bench.Mode, count, clients, window int, mix string) bench.Config {
	cfg := bench.DefaultConfig()
	cfg.Mode = mode
	if mode == bench.Relay {
		cfg.Server = netip.MustParseAddr(serverAddr)
	} else {
		cfg.Interface = "c0"
	}
	cfg.Count, cfg.Clients, cfg.Window = count, clients, window
	cfg.Duration = 20 * time.Second // never reached: count ends the run
	cfg.Timeout = 3 * time.Second
	m, err := bench.ParseMix(mix)
	if err != nil {
		panic(err)
	}
	cfg.Mix = m
	return cfg
}

// runBench opens the generator in the client namespace and runs it.
func runBench(t *testing.T, ns *testnet.Namespace, cfg bench.Config) (*bench.Report, *bench.Generator) {
	t.Helper()
	var g *bench.Generator
	if err := ns.Do(func() (err error) {
		g, err = bench.Open(context.Background(), cfg)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	r, err := g.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	r.WriteText(&text)
	t.Logf("report:\n%s", text.String())
	return r, g
}

// checkComplete checks that every exchange of a run completed.
func checkComplete(t *testing.T, r *bench.Report, count int) {
	t.Helper()
	if r.Started != uint64(count) || r.Completed.Total != uint64(count) || r.Drops != 0 || r.Naks != 0 || r.Stray != 0 {
		t.Errorf("started %d, completed %d, drops %d, naks %d, stray %d; want %d, %d, 0, 0, 0",
			r.Started, r.Completed.Total, r.Drops, r.Naks, r.Stray, count, count)
	}
	if r.SendErrors != 0 {
		t.Errorf("%d send errors", r.SendErrors)
	}
}

// storeLeases returns the store's leases by MAC.
func storeLeases(t *testing.T, s lease.Store) map[string]lease.Lease {
	t.Helper()
	out := map[string]lease.Lease{}
	err := s.Load(context.Background(), func(l *lease.Lease) error {
		mac := fmt.Sprintf("%x", l.HWAddr)
		if prev, dup := out[mac]; dup {
			t.Errorf("client %s has two leases: %v (%v) and %v (%v)", mac, prev.Addr, prev.State, l.Addr, l.State)
		}
		out[mac] = *l
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkStore checks that the store holds exactly the leases the generator
// says its clients hold (bound, same address) or gave back (released). The
// store is polled: a RELEASE has no reply, so the generator may finish
// before the server has recorded the last ones.
func checkStore(t *testing.T, s lease.Store, g *bench.Generator) {
	t.Helper()
	want := map[string]bench.ClientLease{}
	for _, c := range g.Clients() {
		want[fmt.Sprintf("%x", []byte(c.MAC))] = c
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var problems []string
		got := storeLeases(t, s)
		for mac, c := range want {
			l, ok := got[mac]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("client %s: no lease in the store", mac))
			case c.Leased && (l.State != lease.Bound || l.Addr != c.Addr):
				problems = append(problems, fmt.Sprintf("client %s: store has %v %v, generator %v bound", mac, l.Addr, l.State, c.Addr))
			case c.Released && l.State != lease.Released:
				problems = append(problems, fmt.Sprintf("client %s: store has %v %v, generator released it", mac, l.Addr, l.State))
			}
		}
		for mac, l := range got {
			if _, ok := want[mac]; !ok && l.State == lease.Bound {
				problems = append(problems, fmt.Sprintf("store has %v bound to %s, a client the generator never saw ACKed", l.Addr, mac))
			}
		}
		if len(problems) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for i, p := range problems {
				if i == 10 {
					t.Errorf("... and %d more", len(problems)-10)
					break
				}
				t.Error(p)
			}
			return
		}
		time.Sleep(20 * time.Millisecond) // polling the store, with the deadline above
	}
}

func TestAgainstServer(t *testing.T) {
	for _, mode := range []bench.Mode{bench.Relay, bench.OnLink} {
		t.Run(mode.String(), func(t *testing.T) {
			const count = 2000
			n := newTopo(t, mode)
			store := startServer(t, n.srv)
			r, g := runBench(t, n.cli, testConfig(mode, count, 3000, 32, "dora=100"))
			checkComplete(t, r, count)
			if r.Leases != count || r.Completed.DORA != count || len(g.Clients()) != count {
				t.Errorf("%d leases, %d DORAs completed, %d clients with a lease; want %d", r.Leases, r.Completed.DORA, len(g.Clients()), count)
			}
			if r.Latency.DORA.Count != count || r.Latency.DiscoverOffer.Count != count || r.Latency.RequestAck.Count != count {
				t.Errorf("latency counts %+v", r.Latency)
			}
			if r.SentPackets != 2*count || r.RecvPackets != 2*count {
				t.Errorf("sent %d received %d packets, want %d each", r.SentPackets, r.RecvPackets, 2*count)
			}
			checkStore(t, store, g)
		})
	}
}

// TestMixAgainstServer runs every kind of exchange on few clients, so
// that most of them run several exchanges, and checks the store agrees
// with the generator: bound leases where it holds one, released ones where
// it gave its lease back. On the link, the server unicasts renew and
// inform ACKs to ciaddr; a local route for the pool on c0 makes the client
// namespace accept them (see the package documentation).
func TestMixAgainstServer(t *testing.T) {
	for _, mode := range []bench.Mode{bench.Relay, bench.OnLink} {
		t.Run(mode.String(), func(t *testing.T) {
			const count = 3000
			n := newTopo(t, mode)
			if mode == bench.OnLink {
				n.cli.IP("route", "add", "local", "198.18.16.0/20", "dev", "c0")
			}
			store := startServer(t, n.srv)
			r, g := runBench(t, n.cli, testConfig(mode, count, 200, 16, "dora=40,renew=20,release=20,inform=20"))
			checkComplete(t, r, count)
			for _, k := range []uint64{r.Completed.Renew, r.Completed.Release, r.Completed.Inform} {
				if k == 0 {
					t.Errorf("a kind never ran: %+v", r.Completed)
				}
			}
			if r.Latency.Renew.Count != r.Completed.Renew || r.Latency.Inform.Count != r.Completed.Inform {
				t.Errorf("latency counts %+v, completed %+v", r.Latency, r.Completed)
			}
			released := 0
			for _, c := range g.Clients() {
				if c.Released {
					released++
				}
			}
			if released == 0 {
				t.Errorf("no client ended with its lease released")
			}
			checkStore(t, store, g)
		})
	}
}

func TestAgainstNullResponder(t *testing.T) {
	for _, mode := range []bench.Mode{bench.Relay, bench.OnLink} {
		t.Run(mode.String(), func(t *testing.T) {
			const count = 3000
			n := newTopo(t, mode)
			null := startNull(t, n.srv)
			r, _ := runBench(t, n.cli, testConfig(mode, count, 500, 64, "dora=70,renew=10,release=10,inform=10"))
			checkComplete(t, r, count)
			// The responder counts a reply once sendmmsg returns, which
			// can be after the generator has read it: wait until every
			// datagram it read is counted as replied or ignored.
			st := null.Stats()
			for deadline := time.Now().Add(5 * time.Second); st.Replied+st.Ignored < st.Received && time.Now().Before(deadline); st = null.Stats() {
				time.Sleep(time.Millisecond)
			}
			// Every request reaches the responder; all but the RELEASEs
			// are answered.
			if st.Received != r.SentPackets || st.Replied != r.RecvPackets || st.Ignored != r.Completed.Release {
				t.Errorf("null responder received %d, replied %d, ignored %d; generator sent %d, received %d, released %d",
					st.Received, st.Replied, st.Ignored, r.SentPackets, r.RecvPackets, r.Completed.Release)
			}
		})
	}
}

// TestRate runs at a fixed rate against the null responder: exchanges are
// started on schedule, not only as others finish.
func TestRate(t *testing.T) {
	n := newTopo(t, bench.Relay)
	startNull(t, n.srv)
	cfg := testConfig(bench.Relay, 500, 1000, 1, "dora=100")
	cfg.Rate = 2000
	r, _ := runBench(t, n.cli, cfg)
	checkComplete(t, r, 500)
	if r.Unstarted != 0 {
		t.Errorf("%d exchanges due with every client busy, out of 1000 clients", r.Unstarted)
	}
}

// TestDuration ends a run by its duration, and cancellation ends it early.
func TestDuration(t *testing.T) {
	n := newTopo(t, bench.Relay)
	startNull(t, n.srv)
	cfg := testConfig(bench.Relay, 0, 100, 4, "dora=100")
	cfg.Duration = 300 * time.Millisecond
	r, _ := runBench(t, n.cli, cfg)
	if r.Started == 0 || r.Completed.Total+r.Drops != r.Started {
		t.Errorf("started %d, completed %d, drops %d", r.Started, r.Completed.Total, r.Drops)
	}
	if r.DurationS < 0.3 || r.DurationS > 10 {
		t.Errorf("duration %v s for a run of 0.3 s", r.DurationS)
	}
}

// TestServerAllocationsPerLease pins what bootd's packet path allocates:
// the same generator runs the same count of DORAs against the null
// responder (which allocates nothing per packet) and against an
// in-process bootd server, and the difference in allocations, per lease,
// is the server's: today the client key of each DISCOVER and REQUEST.
// Not under the race detector, which allocates on its own.
func TestServerAllocationsPerLease(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const count = 3000
	measure := func(start func(*testnet.Namespace)) float64 {
		n := newTopo(t, bench.Relay)
		start(n.srv)
		for i, c := range []int{1000, count} { // a warm-up run, then the measured one
			cfg := testConfig(bench.Relay, c, 4000, 32, "dora=100")
			cfg.MACSeed = uint8(i + 1)
			var g *bench.Generator
			if err := n.cli.Do(func() (err error) {
				g, err = bench.Open(context.Background(), cfg)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var m0, m1 runtime.MemStats
			runtime.ReadMemStats(&m0)
			r, err := g.Run(t.Context())
			runtime.ReadMemStats(&m1)
			g.Close()
			if err != nil {
				t.Fatal(err)
			}
			checkComplete(t, r, c)
			if c == count {
				return float64(m1.Mallocs-m0.Mallocs) / count
			}
		}
		panic("unreachable")
	}
	null := measure(func(ns *testnet.Namespace) { startNull(t, ns) })
	srv := measure(func(ns *testnet.Namespace) { startServer(t, ns) })
	t.Logf("allocations per lease: %.2f with the null responder, %.2f with bootd", null, srv)
	if srv-null >= maxServerAllocsPerLease {
		t.Errorf("bootd allocates %.2f objects per lease, want fewer than %d", srv-null, maxServerAllocsPerLease)
	}
}

// maxServerAllocsPerLease bounds the server's allocations per DORA: the
// handler builds the client key as a string for each of its two requests.
const maxServerAllocsPerLease = 3
