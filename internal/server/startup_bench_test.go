package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"bootd/internal/dhcpclient"
	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
	"bootd/internal/testnet"
)

var (
	benchLeases  = flag.Int("leases", 1_000_000, "bound leases in the store of BenchmarkRestartMillion (env BOOTD_BENCH_LEASES overrides)")
	benchTraffic = flag.Int("traffic", 20_000, "new clients BenchmarkRestartMillion runs DORA for after the restart")
)

// startupConfig serves the probe on s0 from a small pool of 198.18.0.0/15,
// and holds the stored leases in a second subnet, 100.64.0.0/10, that no
// packet of the benchmark ever uses: it only gives them a pool to be in.
const startupConfig = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1d
subnets:
  - subnet: 198.18.0.0/15
    server-address: 198.18.0.1
    pools:
      - range: 198.18.0.10-198.19.255.250
  - subnet: 100.64.0.0/10
    pools:
      - range: 100.64.0.1-100.127.255.254
`

// startupLease fills l with stored lease i: bound for a day, started in
// the last 12 hours, a distinct MAC, a hostname, and for half of the
// clients an option 61 client identifier (type 1 and the MAC, as many
// clients send).
func startupLease(l *lease.Lease, i int, now time.Time) {
	mac := make([]byte, 6)
	mac[0], mac[1] = 0x02, 0x64
	binary.BigEndian.PutUint32(mac[2:], uint32(i))
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 100<<24|64<<16+uint32(i)+1)
	start := now.Add(-time.Duration(i%43200) * time.Second)
	*l = lease.Lease{
		Addr:     netip.AddrFrom4(a),
		State:    lease.Bound,
		HWType:   1,
		HWAddr:   mac,
		Hostname: "host-" + strconv.Itoa(i),
		Start:    start,
		Expires:  start.Add(24 * time.Hour),
		Subnet:   netip.MustParsePrefix("100.64.0.0/10"),
	}
	if i%2 == 0 {
		l.ClientID = append([]byte{1}, mac...)
	}
}

// BenchmarkRestartMillion measures what a large lease store costs bootd
// serve at start-up: with -leases bound leases (default a million) in its
// journal, the time from exec to the first ACK of a client in another
// namespace (start-s), and the resident memory of the server then and a
// few seconds later (rss-MB, the last reading; hwm-MB, VmHWM, the peak).
// It then kills the server with SIGKILL and starts it again on the same
// store (restart-s, restart-rss-MB, restart-hwm-MB); the files are in the
// page cache by then. Last, -traffic new clients (default 20,000) run
// DORA through a relay against the restarted server, which shows how far
// the garbage of serving grows the heap (traffic-rss-MB, traffic-hwm-MB).
//
// It needs root (namespaces) and builds cmd/bootd; run it alone:
//
//	go test -run '^$' -bench RestartMillion -benchtime 1x ./internal/server/
func BenchmarkRestartMillion(b *testing.B) {
	if why := testnet.Available(); why != "" {
		b.Skip(why)
	}
	n := *benchLeases
	if v := os.Getenv("BOOTD_BENCH_LEASES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatalf("BOOTD_BENCH_LEASES=%q: %v", v, err)
		}
	}
	// The pools of startupConfig: 100.64.0.0/10 for the stored leases,
	// 198.18.0.0/15 less a few for the probe and the traffic.
	if n < 0 || n > 1<<22-2 || *benchTraffic < 0 || *benchTraffic > 1<<17-300 {
		b.Fatalf("%d leases and %d clients: want at most %d and %d", n, *benchTraffic, 1<<22-2, 1<<17-300)
	}
	bin := benchBuild(b)
	store := filepath.Join(b.TempDir(), "leases")
	cfg := filepath.Join(b.TempDir(), "bootd.yaml")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(startupConfig, "STORE", store)), 0o644); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	writeStartupStore(b, store, n)
	b.Logf("wrote %d leases in %v", n, time.Since(t0).Round(time.Millisecond))

	srv := testnet.New(b, "srv")
	cli := testnet.New(b, "cli")
	testnet.Veth(b, srv, "s0", cli, "c0")
	srv.IP("addr", "add", serverAddr.String()+"/15", "dev", "s0")
	probe := &startupProbe{}
	if err := cli.Do(func() (err error) {
		probe.c, err = dhcpclient.Open(dhcpclient.Config{
			Interface: "c0",
			MAC:       net.HardwareAddr{0x02, 0xaa, 0, 0, 0, 1},
			Backoff:   []time.Duration{20 * time.Millisecond},
			Received: func(r *dhcpclient.Reply) {
				if mt, _ := r.Msg.MessageType(); mt == dhcpv4.Offer {
					probe.offerAt.CompareAndSwap(0, time.Now().UnixNano())
				}
			},
		})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { probe.c.Close() })

	relay := newRelayClient(b, cli)
	var first, again startup
	for b.Loop() {
		first = startOnce(b, srv, probe, bin, cfg, nil)
		again = startOnce(b, srv, probe, bin, cfg, func(pid int) {
			t0 := time.Now()
			serveTraffic(b, relay, *benchTraffic)
			rss, hwm := procMemory(b, pid)
			b.Logf("%d DORAs in %v; VmRSS %.1f MB, VmHWM %.1f MB", *benchTraffic, time.Since(t0).Round(time.Millisecond), rss, hwm)
			b.ReportMetric(rss, "traffic-rss-MB")
			b.ReportMetric(hwm, "traffic-hwm-MB")
		})
	}
	b.ReportMetric(first.ready.Seconds(), "start-s")
	b.ReportMetric(first.rss, "rss-MB")
	b.ReportMetric(first.hwm, "hwm-MB")
	b.ReportMetric(again.ready.Seconds(), "restart-s")
	b.ReportMetric(again.rss, "restart-rss-MB")
	b.ReportMetric(again.hwm, "restart-hwm-MB")
}

// startupProbe is the client of the benchmark, which notes when the first
// OFFER comes.
type startupProbe struct {
	c       *dhcpclient.Client
	offerAt atomic.Int64 // unix nanoseconds
}

// stamped collects a child's output and notes when a line with word first
// shows.
type stamped struct {
	*lines
	word string
	at   atomic.Int64 // unix nanoseconds
}

func (s *stamped) Write(p []byte) (int, error) {
	if s.at.Load() == 0 && strings.Contains(string(p), s.word) {
		s.at.Store(time.Now().UnixNano())
	}
	return s.lines.Write(p)
}

// startup is what one start of the server measured.
type startup struct {
	ready    time.Duration // exec to the first ACK
	rss, hwm float64       // MB, after settling
}

// startOnce runs bootd serve in ns, probes it with DORA until it answers,
// samples its memory for a few seconds, calls then (if not nil) with its
// PID, and kills it with SIGKILL.
func startOnce(b *testing.B, ns *testnet.Namespace, probe *startupProbe, bin, cfg string, then func(pid int)) startup {
	b.Helper()
	cmd := exec.Command("ip", "netns", "exec", ns.Name, bin, "serve", "--config", cfg)
	out := &stamped{lines: newLines(), word: "msg=serving"}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	// ip netns exec execs bootd, so the PID is bootd's.
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		syscall.Kill(pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			b.Errorf("bootd %d still running 10s after SIGKILL", pid)
		}
	}()

	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	probe.offerAt.Store(0)
	_, ack, err := probe.c.DORA(ctx)
	ready := time.Since(start)
	if err != nil {
		b.Fatalf("no ACK %v after exec: %v\nbootd output:\n%s", ready, err, out.String())
	}
	if mt, _ := ack.MessageType(); mt != dhcpv4.Ack {
		b.Fatalf("probe: %v, want ACK", mt)
	}
	since := func(ns int64) time.Duration { return time.Unix(0, ns).Sub(start).Round(time.Millisecond) }
	b.Logf("exec to the serving log line %v, to the first OFFER %v, to the ACK %v",
		since(out.at.Load()), since(probe.offerAt.Load()), ready.Round(time.Millisecond))
	var s startup
	s.ready = ready
	// Sample for a few seconds: the heap settles after the first collections.
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := range 8 {
		rss, hwm := procMemory(b, pid)
		if i == 0 {
			b.Logf("at the first ACK (%v): VmRSS %.1f MB, VmHWM %.1f MB", ready.Round(time.Millisecond), rss, hwm)
		}
		s.rss, s.hwm = rss, hwm
		select {
		case <-tick.C:
		case err := <-exited:
			b.Fatalf("bootd exited: %v\n%s", err, out.String())
		}
	}
	b.Logf("after 4s: VmRSS %.1f MB, VmHWM %.1f MB", s.rss, s.hwm)
	if then != nil {
		then(pid)
	}
	return s
}

// serveTraffic runs DORA for n new relayed clients, 32 at a time.
func serveTraffic(b *testing.B, c *relayClient, n int) {
	b.Helper()
	var failed atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for range 32 {
		wg.Go(func() {
			for i := range next {
				if _, err := c.dora(i); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if f := failed.Load(); f > int64(n/100) {
		b.Fatalf("%d of %d clients got no lease", f, n)
	}
}

// procMemory reads VmRSS and VmHWM of a process, in MB.
func procMemory(b *testing.B, pid int) (rss, hwm float64) {
	r, h := leasetest.Memory(b, pid)
	return float64(r) / (1 << 20), float64(h) / (1 << 20)
}

// writeStartupStore writes n leases (startupLease) as the snapshot of a new
// journal store in dir.
func writeStartupStore(b *testing.B, dir string, n int) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		b.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, journal.BackupName))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	leases := func(yield func(*lease.Lease) bool) {
		var l lease.Lease
		for i := range n {
			startupLease(&l, i, now)
			if !yield(&l) {
				return
			}
		}
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = journal.WriteLeases(w, leases)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync() // as a compaction leaves it
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
}

// benchBuild builds cmd/bootd into a temporary directory (buildBootd, for
// a benchmark).
func benchBuild(b *testing.B) string {
	b.Helper()
	gomod, err := run(b, time.Minute, "go", "env", "GOMOD")
	if err != nil {
		b.Fatalf("go env GOMOD: %v\n%s", err, gomod)
	}
	bin := filepath.Join(b.TempDir(), "bootd")
	out, err := run(b, 3*time.Minute, "go", "build", "-C", filepath.Dir(strings.TrimSpace(gomod)), "-o", bin, "./cmd/bootd")
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
