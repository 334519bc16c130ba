package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"bootd/internal/config"
	"bootd/internal/lease"
	"bootd/internal/testnet"
)

// probeYAML serves 198.18.0.100-110 on s0; STORE and BOOTP are replaced.
const probeYAML = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: {default: 1h}
options:
  dns-servers: [198.18.0.1]
  domain-name: probe.example.test
subnets:
  - subnet: 198.18.0.0/24
    interface: s0
    server-address: 198.18.0.1
    bootp: BOOTP
    options:
      router: 198.18.0.1
    pools:
      - range: 198.18.0.100-198.18.0.110
`

const probeMAC = "02:00:5e:10:00:42"

// probeNet is a server namespace (s0, 198.18.0.1/24) and a client namespace
// (c0, no address) joined by a veth pair.
type probeNet struct {
	srv, cli *testnet.Namespace
}

func newProbeNet(t *testing.T) probeNet {
	t.Helper()
	srv := testnet.New(t, "srv") // skips without root or ip
	cli := testnet.New(t, "cli")
	testnet.Veth(t, srv, "s0", cli, "c0")
	srv.IP("addr", "add", "198.18.0.1/24", "dev", "s0")
	return probeNet{srv: srv, cli: cli}
}

// serve runs an in-process server in the server namespace until the test
// ends, with BOOTP mode bootp, and returns it.
func (n probeNet) serve(t *testing.T, bootp string) *demoServer {
	t.Helper()
	yaml := strings.NewReplacer("STORE", t.TempDir(), "BOOTP", bootp).Replace(probeYAML)
	cfg, err := config.Parse("probe.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := startServer(context.Background(), n.srv.Path(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("stopping the server: %v", err)
		}
	})
	return s
}

// probe runs bootd probe in the client namespace, bounded by 30s.
func (n probeNet) probe(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	args = append([]string{"probe", "--netns", n.cli.Name, "--iface", "c0"}, args...)
	code = Run(ctx, args, nil, &out, &errOut)
	return code, out.String(), errOut.String()
}

// storedLease returns the lease the store holds for hardware address mac.
func storedLease(t *testing.T, s lease.Store, mac string) (lease.Lease, bool) {
	t.Helper()
	hw, _ := net.ParseMAC(mac)
	var found lease.Lease
	ok := false
	err := s.Load(context.Background(), func(l *lease.Lease) error {
		if bytes.Equal(l.HWAddr, hw) {
			found, ok = *l, true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found, ok
}

func TestProbeDORA(t *testing.T) {
	t.Parallel()
	n := newProbeNet(t)
	s := n.serve(t, "off")
	code, out, errOut := n.probe(t, "--mac", probeMAC, "--hostname", "probe1", "--timeout", "10s")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantContains(t, "output", out,
		"sent DISCOVER", "sent REQUEST xid",
		"frame 1 198.18.0.1:67 > 255.255.255.255:68", "  type:     DHCP OFFER\n",
		"frame 2 198.18.0.1:67 > 255.255.255.255:68", "  type:     DHCP ACK\n",
		"  yiaddr:   198.18.0.100\n", "  option 3 router: 198.18.0.1\n",
		"ACK: client "+probeMAC+" got 198.18.0.100/24, router 198.18.0.1, dns 198.18.0.1, domain probe.example.test, lease 1h, from server 198.18.0.1\n")
	l, ok := storedLease(t, s.store, probeMAC)
	if !ok || l.State != lease.Bound || l.Addr != netip.MustParseAddr("198.18.0.100") || l.Hostname != "probe1" {
		t.Errorf("stored lease %+v (found %v), want 198.18.0.100 bound to probe1", l, ok)
	}
}

func TestProbeRelease(t *testing.T) {
	t.Parallel()
	n := newProbeNet(t)
	s := n.serve(t, "off")
	code, out, errOut := n.probe(t, "--mac", probeMAC, "--release")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantContains(t, "output", out, "  type:     DHCP ACK\n", "sent RELEASE", "ciaddr 198.18.0.100 server 198.18.0.1", "released 198.18.0.100")
	// The RELEASE has no reply: wait for the store to show it.
	deadline := time.Now().Add(10 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		l, _ := storedLease(t, s.store, probeMAC)
		if l.State == lease.Released {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10s the stored lease is %+v, want released", l)
		}
		<-tick.C
	}
}

func TestProbeInform(t *testing.T) {
	t.Parallel()
	n := newProbeNet(t)
	n.serve(t, "off")
	n.cli.IP("addr", "add", "198.18.0.7/24", "dev", "c0")
	code, out, errOut := n.probe(t, "--inform", "--mac", probeMAC)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantContains(t, "output", out, "sent INFORM", "ciaddr 198.18.0.7", "frame 1 198.18.0.1:67 > 198.18.0.7:68",
		"  type:     DHCP ACK\n", "  option 6 dns-servers: 198.18.0.1\n", "ACK: client "+probeMAC+" got 198.18.0.7")
	if strings.Contains(out, "lease-time") {
		t.Errorf("ACK to INFORM carries a lease time:\n%s", out)
	}
}

func TestProbeInformWithoutAddress(t *testing.T) {
	t.Parallel()
	n := newProbeNet(t)
	code, _, errOut := n.probe(t, "--inform")
	if code != exitError || !strings.Contains(errOut, "INFORM needs an IPv4 address on c0") {
		t.Errorf("exit %d, stderr %q; want 1 and a message about the missing address", code, errOut)
	}
}

func TestProbeBOOTP(t *testing.T) {
	t.Parallel()
	n := newProbeNet(t)
	s := n.serve(t, "dynamic")
	code, out, errOut := n.probe(t, "--bootp", "--mac", probeMAC)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	wantContains(t, "output", out, "sent BOOTREQUEST (BOOTP)", "  type:     BOOTP (no DHCP message type)\n",
		"  yiaddr:   198.18.0.100\n", "BOOTREPLY: client "+probeMAC+" got 198.18.0.100/24", "permanent (BOOTP)")
	if l, ok := storedLease(t, s.store, probeMAC); !ok || l.State != lease.Bound || !l.Expires.IsZero() {
		t.Errorf("stored lease %+v (found %v), want bound without expiry", l, ok)
	}
}

func TestProbeTimeout(t *testing.T) {
	t.Parallel()
	n := newProbeNet(t) // no server
	start := time.Now()
	code, out, errOut := n.probe(t, "--timeout", "2s")
	elapsed := time.Since(start)
	if code != exitError {
		t.Fatalf("exit %d, want 1; stderr %q\n%s", code, errOut, out)
	}
	if elapsed > 3500*time.Millisecond {
		t.Errorf("took %v with --timeout 2s", elapsed)
	}
	wantContains(t, "stderr", errOut, "bootd probe: no reply to DISCOVER on c0: 2 attempts")
	wantContains(t, "output", out, "sent DISCOVER", "(attempt 2)")
}

func TestProbeUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"probe"},
		{"probe", "--iface", "c0", "extra"},
		{"probe", "--iface", "c0", "--inform", "--bootp"},
		{"probe", "--iface", "c0", "--inform", "--release"},
		{"probe", "--iface", "c0", "--mac", "nonsense"},
		{"probe", "--iface", "c0", "--requested-address", "2001:db8::1"},
		{"probe", "--iface", "c0", "--timeout", "0s"},
		{"probe", "--nosuchflag"},
		{"demo", "extra"},
		{"demo", "--timeout", "-1s"},
	} {
		code, stdout, stderr := runCLI(t, nil, args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, "usage: bootd "+args[0]) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and a usage message", args, code, stdout, stderr)
		}
	}
}
