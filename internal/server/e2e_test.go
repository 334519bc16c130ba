package server_test

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/testnet"
)

// lanConfig is what the real clients are served: a /24 on s0 with a pool,
// a reservation, router, DNS servers, domain and a 2h lease.
const lanConfig = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 2h
subnets:
  - subnet: 198.18.0.0/24
    pools:
      - range: 198.18.0.100-198.18.0.200
    reservations:
      - mac: 02:00:5e:10:00:0a
        address: 198.18.0.10
    options:
      router: 198.18.0.1
      dns-servers: [198.18.0.53, 198.18.0.54]
      domain-name: example.test
`

var lanPool = struct{ first, last netip.Addr }{
	netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("198.18.0.200"),
}

func inPool(a netip.Addr) bool {
	return a.Compare(lanPool.first) >= 0 && a.Compare(lanPool.last) <= 0
}

// checkOptions compares what a client reported against lanConfig.
func checkOptions(t *testing.T, client string, got map[string]string) {
	t.Helper()
	want := map[string]string{
		"mask":   "255.255.255.0",
		"router": "198.18.0.1",
		"dns":    "198.18.0.53 198.18.0.54",
		"domain": "example.test",
		"lease":  "7200",
	}
	for k, w := range want {
		if g := got[k]; g != w {
			t.Errorf("%s: %s = %q, want %q", client, k, g, w)
		}
	}
}

// waitLease waits until the store holds a lease in state want for mac and returns it.
func waitLease(t *testing.T, srv *running, mac net.HardwareAddr, want lease.State) lease.Lease {
	t.Helper()
	var l lease.Lease
	pollUntil(t, 20*time.Second, "a "+want.String()+" lease for "+mac.String(), func() bool {
		var ok bool
		l, ok = leaseOf(t, srv.store, mac)
		return ok && l.State == want
	})
	return l
}

// dhclientLease is the last lease in a dhclient lease file.
type dhclientLease struct {
	addr netip.Addr
	opts map[string]string
}

var dhclientOpt = regexp.MustCompile(`^\s*option ([a-z-]+) (.*);$`)

func parseDhclientLeases(text string) []dhclientLease {
	var out []dhclientLease
	for _, block := range strings.Split(text, "lease {")[1:] {
		l := dhclientLease{opts: map[string]string{}}
		for line := range strings.SplitSeq(block, "\n") {
			line = strings.TrimSpace(line)
			if a, ok := strings.CutPrefix(line, "fixed-address "); ok {
				l.addr, _ = netip.ParseAddr(strings.TrimSuffix(a, ";"))
			}
			if m := dhclientOpt.FindStringSubmatch(line); m != nil {
				l.opts[m[1]] = m[2]
			}
		}
		out = append(out, l)
	}
	return out
}

func (l dhclientLease) normalized() map[string]string {
	return map[string]string{
		"mask":   l.opts["subnet-mask"],
		"router": l.opts["routers"],
		"dns":    strings.ReplaceAll(l.opts["domain-name-servers"], ",", " "),
		"domain": strings.Trim(l.opts["domain-name"], `"`),
		"lease":  l.opts["dhcp-lease-time"],
	}
}

// dhclient runs ISC dhclient in ns on c0 until it has written n leases to
// lf, then stops it, and returns the leases.
func dhclient(t *testing.T, ns string, dir, lf string, n int) []dhclientLease {
	t.Helper()
	pf := filepath.Join(dir, "dhclient.pid")
	p := start(t, time.Minute, "ip", "netns", "exec", ns,
		"dhclient", "-4", "-d", "-1", "-v", "-sf", "/bin/true", "-lf", lf, "-pf", pf, "c0")
	var leases []dhclientLease
	pollUntil(t, 40*time.Second, "dhclient lease file", func() bool {
		text := readFile(lf)
		leases = parseDhclientLeases(text)
		return len(leases) >= n && strings.Count(text, "\n}") >= n // written whole
	})
	p.kill()
	p.wait(t, 10*time.Second)
	os.Remove(pf)
	return leases
}

// TestDhclient: ISC dhclient gets a pool address with the configured
// options, renews it by INIT-REBOOT with the same lease file, and releases
// it with dhclient -r.
func TestDhclient(t *testing.T) {
	needCommand(t, "dhclient")
	l := newLink(t, 24)
	srv := startServer(t, l.srv, lanConfig)
	hw := l.cli.Interface("c0").HardwareAddr
	dir := t.TempDir()
	lf := filepath.Join(dir, "dhclient.leases")

	leases := dhclient(t, l.cli.Name, dir, lf, 1)
	got := leases[len(leases)-1]
	if !inPool(got.addr) {
		t.Fatalf("dhclient got %v, outside the pool", got.addr)
	}
	checkOptions(t, "dhclient", got.normalized())
	bound := waitLease(t, srv, hw, lease.Bound)
	if bound.Addr != got.addr {
		t.Errorf("store has %v for %v, dhclient got %v", bound.Addr, hw, got.addr)
	}

	// Renew: dhclient started again with its lease file asks for the same
	// address (INIT-REBOOT) and gets it.
	leases = dhclient(t, l.cli.Name, dir, lf, 2)
	if again := leases[len(leases)-1]; again.addr != got.addr {
		t.Errorf("renewed lease is for %v, want %v", again.addr, got.addr)
	}
	srv.log.wait(t, 5*time.Second, 2, "chaddr="+hw.String(), "type=REQUEST", "reply=ACK")

	// Release: dhclient -r unicasts a RELEASE from the leased address.
	l.cli.IP("addr", "add", got.addr.String()+"/24", "dev", "c0")
	if out, err := run(t, 30*time.Second, "ip", "netns", "exec", l.cli.Name,
		"dhclient", "-4", "-r", "-v", "-sf", "/bin/true", "-lf", lf, "-pf", filepath.Join(dir, "release.pid"), "c0"); err != nil {
		t.Fatalf("dhclient -r: %v\n%s", err, out)
	}
	rel := waitLease(t, srv, hw, lease.Released)
	if rel.Addr != got.addr {
		t.Errorf("released lease is for %v, want %v", rel.Addr, got.addr)
	}
}

// TestReservationByMAC: a client whose MAC is reserved gets the fixed address.
func TestReservationByMAC(t *testing.T) {
	needCommand(t, "dhclient")
	l := newLink(t, 24)
	l.cli.IP("link", "set", "dev", "c0", "address", "02:00:5e:10:00:0a")
	srv := startServer(t, l.srv, lanConfig)
	dir := t.TempDir()
	leases := dhclient(t, l.cli.Name, dir, filepath.Join(dir, "dhclient.leases"), 1)
	if got, want := leases[len(leases)-1].addr, netip.MustParseAddr("198.18.0.10"); got != want {
		t.Errorf("reserved client got %v, want %v", got, want)
	}
	hw, _ := net.ParseMAC("02:00:5e:10:00:0a")
	if l := waitLease(t, srv, hw, lease.Bound); l.Addr.String() != "198.18.0.10" {
		t.Errorf("store has %v for the reserved client", l.Addr)
	}
}

// TestUdhcpc: busybox udhcpc gets a pool address with the configured
// options (as its script sees them), renews on SIGUSR1 and releases on
// SIGTERM (-R).
func TestUdhcpc(t *testing.T) {
	needCommand(t, "udhcpc")
	l := newLink(t, 24)
	srv := startServer(t, l.srv, lanConfig)
	hw := l.cli.Interface("c0").HardwareAddr
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	script := writeScript(t, dir, out, "$1", "ip", "subnet", "router", "dns", "domain", "lease")

	p := start(t, time.Minute, "ip", "netns", "exec", l.cli.Name,
		"udhcpc", "-f", "-R", "-i", "c0", "-s", script, "-t", "5", "-T", "2", "-A", "5")
	pollUntil(t, 30*time.Second, "udhcpc bound", func() bool { return strings.Contains(readFile(out), "END bound") })
	ev := lastBlock(readFile(out), "bound")
	addr, err := netip.ParseAddr(ev["ip"])
	if err != nil || !inPool(addr) {
		t.Fatalf("udhcpc got %q, outside the pool", ev["ip"])
	}
	checkOptions(t, "udhcpc", map[string]string{
		"mask": ev["subnet"], "router": ev["router"], "dns": ev["dns"], "domain": ev["domain"], "lease": ev["lease"],
	})
	if b := waitLease(t, srv, hw, lease.Bound); b.Addr != addr {
		t.Errorf("store has %v for %v, udhcpc got %v", b.Addr, hw, addr)
	}

	// Renew: unicast from the address, so it must be on c0 (-s configures nothing).
	l.cli.IP("addr", "add", addr.String()+"/24", "dev", "c0")
	p.signal(t, syscall.SIGUSR1)
	pollUntil(t, 20*time.Second, "udhcpc renew", func() bool { return strings.Contains(readFile(out), "END renew") })
	if ev := lastBlock(readFile(out), "renew"); ev["ip"] != addr.String() {
		t.Errorf("renewed %q, want %v", ev["ip"], addr)
	}
	srv.log.wait(t, 5*time.Second, 2, "chaddr="+hw.String(), "type=REQUEST", "reply=ACK")

	// Release on exit.
	p.signal(t, syscall.SIGTERM)
	p.wait(t, 20*time.Second)
	if r := waitLease(t, srv, hw, lease.Released); r.Addr != addr {
		t.Errorf("released lease is for %v, want %v", r.Addr, addr)
	}
}

// relayConfig serves the server link and, through relays, 198.18.1.0/24.
const relayConfig = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
subnets:
  - subnet: 198.18.0.0/24
    pools:
      - range: 198.18.0.100-198.18.0.200
  - subnet: 198.18.1.0/24
    pools:
      - range: 198.18.1.100-198.18.1.200
    options:
      router: 198.18.1.1
`

// TestRelayedDhclient: dhclient behind ISC dhcrelay -a (option 82) gets an
// address of the relayed subnet. dhcrelay drops replies that lack the
// option 82 it added, so the lease proves the echo; the store records the
// relay's circuit id and the server logged the giaddr.
func TestRelayedDhclient(t *testing.T) {
	needCommand(t, "dhclient")
	needCommand(t, "dhcrelay")
	l := newLink(t, 24)
	rly := l.cli // the relay sits where the client was: r0 is c0
	rcl := testnet.New(t, "rcl")
	testnet.Veth(t, rly, "r1", rcl, "c0")
	rly.IP("addr", "add", "198.18.0.2/24", "dev", "c0")
	rly.IP("addr", "add", "198.18.1.1/24", "dev", "r1")
	rly.Sysctl("net.ipv4.ip_forward", "0")
	l.srv.IP("route", "add", "198.18.1.0/24", "via", "198.18.0.2")
	srv := startServer(t, l.srv, relayConfig)
	hw := rcl.Interface("c0").HardwareAddr
	dir := t.TempDir()

	relay := start(t, time.Minute, "ip", "netns", "exec", rly.Name,
		"dhcrelay", "-4", "-d", "-a", "-pf", filepath.Join(dir, "dhcrelay.pid"), "-iu", "c0", "-id", "r1", "198.18.0.1")
	relay.out.wait(t, 20*time.Second, 1, "Sending on", "Socket/fallback")

	leases := dhclient(t, rcl.Name, dir, filepath.Join(dir, "dhclient.leases"), 1)
	got := leases[len(leases)-1]
	if !netip.MustParsePrefix("198.18.1.0/24").Contains(got.addr) {
		t.Errorf("relayed client got %v, want an address in 198.18.1.0/24", got.addr)
	}
	if r := got.opts["routers"]; r != "198.18.1.1" {
		t.Errorf("relayed client got router %q, want 198.18.1.1", r)
	}
	b := waitLease(t, srv, hw, lease.Bound)
	if b.Addr != got.addr || string(b.CircuitID) != "r1" {
		t.Errorf("store: %v circuit id %q, want %v circuit id \"r1\"", b.Addr, b.CircuitID, got.addr)
	}
	srv.log.wait(t, 5*time.Second, 1, "chaddr="+hw.String(), "giaddr=198.18.1.1", "reply=ACK", "to=198.18.1.1:67")
}

// TestDhcpcd: dhcpcd gets a pool address with the configured options (as
// its hook script sees them), rebinds on dhcpcd -n and releases on dhcpcd
// -k. It runs in a private mount namespace with tmpfs over /run and
// /var/lib/dhcpcd, so its pid file, control socket, DUID and leases never
// reach the host, and with -c our script instead of the system hooks.
func TestDhcpcd(t *testing.T) {
	needCommand(t, "dhcpcd")
	needCommand(t, "unshare")
	l := newLink(t, 24)
	srv := startServer(t, l.srv, lanConfig)
	hw := l.cli.Interface("c0").HardwareAddr
	dir := t.TempDir()
	out := filepath.Join(dir, "events")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("script events:\n%s", readFile(out))
		}
	})
	script := writeScript(t, dir, out, "$reason", "new_ip_address", "new_subnet_mask", "new_routers",
		"new_domain_name_servers", "new_domain_name", "new_dhcp_lease_time")
	// The shell reads commands from stdin: "renew" or "release".
	const sh = `set -eu
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=0755 tmpfs /var/lib/dhcpcd
set +e
dhcpcd -4 -B -A -L -c "$1" -t 30 c0 </dev/null &
p=$!
while read cmd; do
  case $cmd in
  renew) timeout 20 dhcpcd -4 -n c0 ;;
  release) timeout 20 dhcpcd -4 -k c0; break ;;
  esac
done
wait $p
`
	p := startInput(t, true, time.Minute, "ip", "netns", "exec", l.cli.Name,
		"unshare", "-m", "--propagation", "private", "sh", "-c", sh, "sh", script)
	pollUntil(t, 30*time.Second, "dhcpcd BOUND", func() bool { return strings.Contains(readFile(out), "END BOUND") })
	ev := lastBlock(readFile(out), "BOUND")
	addr, err := netip.ParseAddr(ev["new_ip_address"])
	if err != nil || !inPool(addr) {
		t.Fatalf("dhcpcd got %q, outside the pool", ev["new_ip_address"])
	}
	checkOptions(t, "dhcpcd", map[string]string{
		"mask": ev["new_subnet_mask"], "router": ev["new_routers"], "dns": ev["new_domain_name_servers"],
		"domain": ev["new_domain_name"], "lease": ev["new_dhcp_lease_time"],
	})
	if b := waitLease(t, srv, hw, lease.Bound); b.Addr != addr {
		t.Errorf("store has %v for %v, dhcpcd got %v", b.Addr, hw, addr)
	}

	if _, err := p.in.Write([]byte("renew\n")); err != nil {
		t.Fatal(err)
	}
	srv.log.wait(t, 20*time.Second, 2, "chaddr="+hw.String(), "type=REQUEST", "reply=ACK", "addr="+addr.String())
	// dhcpcd runs its script once it has taken the ACK in; only then is
	// it ready for the next command.
	pollUntil(t, 20*time.Second, "dhcpcd RENEW", func() bool {
		ev := readFile(out)
		return strings.Contains(ev, "END RENEW") || strings.Contains(ev, "END REBIND") || strings.Contains(ev, "END REBOOT")
	})

	if _, err := p.in.Write([]byte("release\n")); err != nil {
		t.Fatal(err)
	}
	if r := waitLease(t, srv, hw, lease.Released); r.Addr != addr {
		t.Errorf("released lease is for %v, want %v", r.Addr, addr)
	}
	p.in.Close()
	p.wait(t, 20*time.Second)
}
