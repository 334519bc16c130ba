package server_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/testnet"
)

// ipxeROM is the e1000 option ROM of Debian's ipxe-qemu: legacy BIOS iPXE
// (run by SeaBIOS here) and its EFI driver in one image.
const ipxeROM = "/usr/lib/ipxe/qemu/efi-e1000.rom"

// netbootConfig: DHCP on s0, TFTP and HTTP from ROOT, and the boot script
// for iPXE, which says user class "iPXE".
const netbootConfig = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
tftp: {root: ROOT}
http-boot: {listen: "198.18.0.1:8080"}
classes:
  - name: ipxe
    match: {user-class: iPXE}
    boot-file: boot.ipxe
subnets:
  - subnet: 198.18.0.0/22
    server-address: 198.18.0.1
    next-server: 198.18.0.1
    pools:
      - range: 198.18.0.100-198.18.0.200
    options:
      router: 198.18.0.1
`

// The markers are only in the scripts' echo commands, so iPXE prints each
// only if it ran the script that holds it: boot.ipxe came over TFTP, and
// second.ipxe, which it chains, over HTTP.
const (
	markerTFTP = "BOOTD-MARKER-TFTP-OK"
	markerHTTP = "BOOTD-MARKER-HTTP-OK"
)

// TestNetbootQEMU boots a virtual machine from bootd: qemu (TCG) with an
// e1000 NIC whose option ROM is Debian's iPXE gets a lease from bootd
// serve, loads boot.ipxe over TFTP from next-server, runs it, and chains
// second.ipxe over HTTP. The VM's serial port carries its console:
// SeaBIOS's serial console (fw_cfg etc/sercon-port) copies the text iPXE
// writes to the screen.
func TestNetbootQEMU(t *testing.T) {
	qemu := needQEMU(t)
	bin := buildBootd(t)
	l := newLink(t, 22) // s0 198.18.0.1/22 in l.srv, c0 in l.cli
	vmMAC, _ := net.ParseMAC("52:54:00:12:34:56")

	store, cfg := bootSetup(t, netbootConfig)
	p := serveChild(t, l.srv, bin, cfg)

	// The VM's side: c0 and qemu's tap0 on a bridge in the client namespace.
	vm, serial := bootVM(t, qemu, l.cli, vmMAC)
	waitMarkers(t, vm, serial, markerTFTP, markerHTTP)

	// The VM's lease, in the store of the stopped server.
	p.signal(t, syscall.SIGTERM)
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Errorf("bootd serve after SIGTERM: %v", err)
	}
	ctx := context.Background()
	js, err := journal.Open(ctx, store, journal.Options{})
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	defer js.Close()
	got, ok := leaseOf(t, js, vmMAC)
	pool := netip.MustParsePrefix("198.18.0.0/22")
	switch {
	case !ok:
		t.Errorf("no lease for the VM's MAC %v in the store", vmMAC)
	case got.State != lease.Bound || !pool.Contains(got.Addr):
		t.Errorf("VM lease: %v %v, want bound in %v", got.Addr, got.State, pool)
	default:
		t.Logf("VM lease: %v, %v", got.Addr, got.State)
	}
	if t.Failed() {
		logTail(t, "VM console", readFile(serial), 40)
	}
}

// needQEMU returns the qemu binary, or skips (fails in CI) without it, the
// iPXE ROM or network namespaces.
func needQEMU(t *testing.T) string {
	t.Helper()
	qemu := needCommand(t, "qemu-system-x86_64")
	if _, err := os.Stat(ipxeROM); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("iPXE ROM missing in CI (scripts/test.sh installs ipxe-qemu): %v", err)
		}
		t.Skipf("iPXE ROM missing (Debian package ipxe-qemu): %v", err)
	}
	if why := testnet.Available(); why != "" {
		t.Skip(why)
	}
	return qemu
}

// bootSetup writes a boot root with the two marker scripts (boot.ipxe
// chains second.ipxe over HTTP) and the configuration yaml with STORE and
// ROOT replaced; it returns the store directory and the configuration file.
func bootSetup(t *testing.T, yaml string) (store, cfg string) {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"boot.ipxe":   "#!ipxe\necho " + markerTFTP + "\nchain http://198.18.0.1:8080/second.ipxe\n",
		"second.ipxe": "#!ipxe\necho " + markerHTTP + "\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	store = filepath.Join(t.TempDir(), "leases")
	cfg = filepath.Join(t.TempDir(), "bootd.yaml")
	if err := os.WriteFile(cfg, []byte(strings.NewReplacer("STORE", store, "ROOT", root).Replace(yaml)), 0o644); err != nil {
		t.Fatal(err)
	}
	return store, cfg
}

// bootVM puts c0 of ns (and the other interfaces named) and a tap on a
// bridge (br0) and starts a VM on the tap that network boots with
// Debian's iPXE ROM; serial is the file its console goes to.
func bootVM(t *testing.T, qemu string, ns *testnet.Namespace, mac net.HardwareAddr, ports ...string) (vm *proc, serial string) {
	t.Helper()
	ns.IP("link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
	for _, port := range append([]string{"c0"}, ports...) {
		ns.IP("link", "set", port, "master", "br0")
	}
	ns.IP("tuntap", "add", "dev", "tap0", "mode", "tap")
	ns.IP("link", "set", "tap0", "master", "br0", "up")
	ns.IP("link", "set", "br0", "up")

	// SeaBIOS reads the serial console's I/O port as a little-endian
	// integer from this fw_cfg file: 0x3f8 is COM1.
	dir := t.TempDir()
	sercon := filepath.Join(dir, "sercon-port")
	if err := os.WriteFile(sercon, []byte{0xf8, 0x03}, 0o644); err != nil {
		t.Fatal(err)
	}
	serial = filepath.Join(dir, "serial.log")
	vm = start(t, 3*time.Minute, "ip", "netns", "exec", ns.Name, qemu,
		"-machine", "pc", "-accel", "tcg", "-m", "128",
		"-nodefaults", "-display", "none", "-monitor", "none", "-no-reboot",
		"-serial", "file:"+serial,
		"-fw_cfg", "name=etc/sercon-port,file="+sercon,
		"-netdev", "tap,id=n0,ifname=tap0,script=no,downscript=no",
		"-device", "e1000,netdev=n0,mac="+mac.String()+",romfile="+ipxeROM,
		"-boot", "n")
	return vm, serial
}

// waitMarkers waits until the VM's console shows every marker, then stops
// the VM. SeaBIOS, iPXE, DHCP and the scripts take about 20 s under TCG on
// two shared cores.
func waitMarkers(t *testing.T, vm *proc, serial string, markers ...string) {
	t.Helper()
	const bootTime = 120 * time.Second
	began := time.Now()
	deadline := began.Add(bootTime)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		console := readFile(serial)
		missing := ""
		for _, m := range markers {
			if !strings.Contains(console, m) {
				missing = m
				break
			}
		}
		if missing == "" {
			break
		}
		select {
		case <-vm.done:
			logTail(t, "VM console", readFile(serial), 40)
			t.Fatalf("qemu exited before %s: %v", missing, vm.err)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			logTail(t, "VM console", readFile(serial), 40)
			t.Fatalf("after %v the VM console lacks %s", bootTime, missing)
		}
	}
	t.Logf("VM printed %v %v after qemu started", markers, time.Since(began).Round(time.Second))
	vm.kill()
	<-vm.done
}

// logTail logs the last n lines of text, without the backspaces iPXE
// writes for its countdowns.
func logTail(t *testing.T, what, text string, n int) {
	t.Helper()
	text = strings.ReplaceAll(text, "\b \b", "")
	text = strings.ReplaceAll(text, "\r", "")
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	t.Logf("%s, last %d lines:\n%s", what, len(lines), strings.Join(lines, "\n"))
}

// proxyConfig: bootd as proxyDHCP beside another DHCP server: no pools,
// boot settings for PXE firmware only.
const proxyQEMUConfig = `
interfaces: [s0]
lease-store: {path: STORE}
tftp: {root: ROOT}
http-boot: {listen: "198.18.0.1:8080"}
classes:
  - name: ipxe
    match: {user-class: iPXE}
    boot-file: boot.ipxe
subnets:
  - subnet: 198.18.0.0/22
    server-address: 198.18.0.1
    proxy-dhcp: true
    next-server: 198.18.0.1
`

// TestProxyDHCPQEMU boots a VM whose address comes from another DHCP
// server (dnsmasq, in a namespace of its own, giving addresses only) and
// whose boot file comes from bootd as proxyDHCP: iPXE takes the address
// from dnsmasq's OFFER, the boot file from bootd's proxy OFFER (and its
// ACK on port 4011), then runs boot.ipxe over TFTP and second.ipxe over
// HTTP. bootd's store stays empty.
func TestProxyDHCPQEMU(t *testing.T) {
	qemu := needQEMU(t)
	dnsmasq := needCommand(t, "dnsmasq")
	bin := buildBootd(t)
	l := newLink(t, 22)

	// The other DHCP server, on the VM's bridge too.
	other := testnet.New(t, "dhcp")
	testnet.Veth(t, other, "d0", l.cli, "d1")
	other.IP("addr", "add", "198.18.0.2/22", "dev", "d0")
	l.cli.IP("link", "set", "d1", "up")
	dir := t.TempDir()
	start(t, 3*time.Minute, "ip", "netns", "exec", other.Name, dnsmasq, "--keep-in-foreground",
		"--conf-file=/dev/null", "--port=0", "--user=root", "--interface=d0", "--bind-interfaces",
		"--dhcp-range=198.18.0.100,198.18.0.200,255.255.252.0,1h", "--dhcp-authoritative",
		"--dhcp-leasefile="+filepath.Join(dir, "dnsmasq.leases"), "--pid-file="+filepath.Join(dir, "dnsmasq.pid"),
		"--log-dhcp", "--log-facility=-")

	store, cfg := bootSetup(t, proxyQEMUConfig)
	p := serveChild(t, l.srv, bin, cfg)

	vmMAC, _ := net.ParseMAC("52:54:00:12:34:57")
	vm, serial := bootVM(t, qemu, l.cli, vmMAC, "d1")
	waitMarkers(t, vm, serial, markerTFTP, markerHTTP)
	if out := p.out.String(); !strings.Contains(out, "proxyDHCP") {
		t.Errorf("bootd's log shows no proxyDHCP answer:\n%s", out)
	}
	// The address came from dnsmasq; bootd wrote no lease.
	if leases := readFile(filepath.Join(dir, "dnsmasq.leases")); !strings.Contains(leases, vmMAC.String()) {
		t.Errorf("dnsmasq's leases lack the VM's MAC %v:\n%s", vmMAC, leases)
	}
	p.signal(t, syscall.SIGTERM)
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Errorf("bootd serve after SIGTERM: %v", err)
	}
	js, err := journal.Open(context.Background(), store, journal.Options{})
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	defer js.Close()
	if n := js.Len(); n != 0 {
		t.Errorf("bootd's store holds %d leases in proxy mode", n)
	}
}
