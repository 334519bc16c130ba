package handler

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"strings"
	"testing"

	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
)

// netbootConfig chooses boot files the way a PXE/iPXE/HTTP boot lab does:
// iPXE (user class iPXE, whatever its architecture) gets its script, so it
// never loads iPXE again; PXE ROMs get an iPXE binary for their firmware;
// UEFI HTTP boot gets a URL. The most specific class comes first.
const netbootConfig = `
interfaces: [s0]
subnets:
  - subnet: 198.18.0.0/24
    server-address: 198.18.0.1
    next-server: 198.18.0.1
    pools:
      - range: 198.18.0.100-198.18.0.199
classes:
  - name: ipxe
    match: {user-class: iPXE}
    boot-file: http://198.18.0.1/boot.ipxe
  - name: http-boot
    match: {vendor-class: "HTTPClient*"}
    boot-file: http://198.18.0.1/efi/bootx64.efi
  - name: uefi
    match: {client-arch: [7, 9]}
    boot-file: ipxe.efi
  - name: bios
    match: {client-arch: [0]}
    boot-file: undionly.kpxe
  - name: long
    match: {vendor-class: "long*"}
    boot-file: ` + "/srv/boot/" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" + ".efi" + `
  - name: own-43
    match: {vendor-class: "PXEClient:Arch:00006*"}
    boot-file: ia32.efi
    options:
      vendor-specific: "06:01:03:ff"
`

// capture reads a request from the codec's golden captures (real packets
// of real firmware).
func capture(t *testing.T, name string) *dhcpv4.Message {
	t.Helper()
	b, err := os.ReadFile("../dhcpv4/testdata/captures/" + name + ".hex")
	if err != nil {
		t.Fatal(err)
	}
	var hx strings.Builder
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "#") {
			hx.WriteString(strings.TrimSpace(line))
		}
	}
	raw, err := hex.DecodeString(hx.String())
	if err != nil {
		t.Fatal(err)
	}
	m := new(dhcpv4.Message)
	if err := m.UnmarshalBinary(raw); err != nil {
		t.Fatal(err)
	}
	return m
}

func bootFileOf(m *dhcpv4.Message) string {
	if f := m.BootFile(); len(f) > 0 {
		return string(f)
	}
	f, _ := m.Options.Get(dhcpv4.OptBootFileName)
	return string(f)
}

func TestNetbootSelection(t *testing.T) {
	e := newEnv(t, netbootConfig)
	opt := func(m *dhcpv4.Message, code uint8) string {
		v, _ := m.Options.Get(code)
		return string(v)
	}
	for _, tc := range []struct {
		name       string
		req        *dhcpv4.Message
		file       string
		vendor     string // option 60 in the reply
		discovery  string // option 43 in the reply
		nextServer bool
	}{
		// OVMF's UEFI PXE (arch 7, PXEClient): the iPXE EFI binary.
		{"ovmf", capture(t, "ovmf-discover"), "ipxe.efi", "PXEClient", "\x06\x01\x08\xff", true},
		// iPXE itself, BIOS and EFI builds: the script, never iPXE again.
		{"ipxe bios", capture(t, "ipxe-discover"), "http://198.18.0.1/boot.ipxe", "PXEClient", "\x06\x01\x08\xff", true},
		{"ipxe efi", capture(t, "ipxe-efi-discover"), "http://198.18.0.1/boot.ipxe", "PXEClient", "\x06\x01\x08\xff", true},
		// A BIOS PXE ROM (arch 0, no iPXE user class).
		{"bios pxe", pxeDiscover(0, "PXEClient:Arch:00000:UNDI:002001", false), "undionly.kpxe", "PXEClient", "\x06\x01\x08\xff", true},
		// UEFI HTTP boot (arch 16): a URL, HTTPClient echoed, no option 43.
		{"http boot", pxeDiscover(16, "HTTPClient:Arch:00016:UNDI:003001", false), "http://198.18.0.1/efi/bootx64.efi", "HTTPClient", "", true},
		// A PXE client with option 43 set by the configuration keeps it.
		{"own 43", pxeDiscover(6, "PXEClient:Arch:00006:UNDI:003000", false), "ia32.efi", "PXEClient", "\x06\x01\x03\xff", true},
		// An ordinary client: no boot file, nothing echoed.
		{"dhclient", capture(t, "dhclient-discover"), "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, offer := e.handle(tc.req)
			mustType(t, res, offer, dhcpv4.Offer)
			if got := bootFileOf(offer); got != tc.file {
				t.Errorf("boot file %q, want %q", got, tc.file)
			}
			if got := opt(offer, dhcpv4.OptVendorClass); got != tc.vendor {
				t.Errorf("option 60 %q, want %q", got, tc.vendor)
			}
			if got := opt(offer, dhcpv4.OptVendorSpecific); got != tc.discovery {
				t.Errorf("option 43 %x, want %x", got, tc.discovery)
			}
			if tc.nextServer && offer.SIAddr.String() != "198.18.0.1" {
				t.Errorf("siaddr %v, want 198.18.0.1", offer.SIAddr)
			}
		})
	}
}

// TestNetbootLongBootFile: a boot file name longer than the 128-byte file
// field goes in option 67, and the file field stays empty.
func TestNetbootLongBootFile(t *testing.T) {
	e := newEnv(t, netbootConfig)
	res, offer := e.handle(pxeDiscover(11, "long-name-client", false))
	mustType(t, res, offer, dhcpv4.Offer)
	f, ok := offer.Options.Get(dhcpv4.OptBootFileName)
	if !ok || len(f) <= 128 || !bytes.HasSuffix(f, []byte(".efi")) || len(offer.BootFile()) != 0 {
		t.Errorf("option 67 %q (%v), file field %q", f, ok, offer.BootFile())
	}
}

// pxeDiscover is a DISCOVER from network boot firmware of architecture
// arch with vendor class vc.
func pxeDiscover(arch uint16, vc string, ipxe bool) *dhcpv4.Message {
	c := newClient(byte(0x40 + arch))
	c.opts = func(m *dhcpv4.Message) {
		m.Options.Set(dhcpv4.OptClientArch, []byte{byte(arch >> 8), byte(arch)})
		m.Options.SetString(dhcpv4.OptVendorClass, vc)
		if ipxe {
			m.Options.Set(dhcpv4.OptUserClass, []byte("iPXE"))
		}
	}
	return c.msg(dhcpv4.Discover)
}

// proxyConfig: another server gives addresses on 198.18.0.0/24; bootd
// only tells PXE clients what to boot.
const proxyConfig = `
interfaces: [s0]
subnets:
  - subnet: 198.18.0.0/24
    server-address: 198.18.0.1
    proxy-dhcp: true
    next-server: 198.18.0.1
    options:
      router: 198.18.0.254
classes:
  - name: ipxe
    match: {user-class: iPXE}
    boot-file: http://198.18.0.1/boot.ipxe
  - name: uefi
    match: {client-arch: [7, 9]}
    boot-file: ipxe.efi
`

func TestProxyDHCP(t *testing.T) {
	e := newEnv(t, proxyConfig)
	// A PXE DISCOVER (OVMF's, real) gets a proxy OFFER: no address, the
	// boot file, PXEClient, discovery control, its UUID back, and none of
	// the network settings.
	disc := capture(t, "ovmf-discover")
	res, offer := e.handle(disc)
	mustType(t, res, offer, dhcpv4.Offer)
	if offer.YIAddr.IsValid() && !offer.YIAddr.IsUnspecified() {
		t.Errorf("proxy OFFER gives address %v", offer.YIAddr)
	}
	if bootFileOf(offer) != "ipxe.efi" || offer.SIAddr.String() != "198.18.0.1" {
		t.Errorf("proxy OFFER boots %q from %v", bootFileOf(offer), offer.SIAddr)
	}
	vc, _ := offer.Options.Get(dhcpv4.OptVendorClass)
	o43, _ := offer.Options.Get(dhcpv4.OptVendorSpecific)
	u, _ := offer.Options.Get(dhcpv4.OptClientUUID)
	wantU, _ := disc.Options.Get(dhcpv4.OptClientUUID)
	if string(vc) != "PXEClient" || string(o43) != "\x06\x01\x08\xff" || len(wantU) == 0 || !bytes.Equal(u, wantU) {
		t.Errorf("proxy OFFER: 60 %q, 43 %x, 97 %x (want %x)", vc, o43, u, wantU)
	}
	for _, code := range []uint8{dhcpv4.OptRouter, dhcpv4.OptSubnetMask, dhcpv4.OptLeaseTime} {
		if _, ok := offer.Options.Get(code); ok {
			t.Errorf("proxy OFFER carries option %d", code)
		}
	}
	if res.Dest.Addr.Addr() != broadcast || res.Dest.Addr.Port() != ClientPort {
		t.Errorf("proxy OFFER sent to %v", res.Dest.Addr)
	}
	// The client's REQUEST to the server that gives addresses (port 67)
	// is not ours; nor is an ordinary client's DISCOVER.
	if res, _ := e.handle(capture(t, "ovmf-request")); res.Verdict != Drop {
		t.Errorf("REQUEST on port 67 in proxy mode: %+v", res)
	}
	if res, _ := e.handle(capture(t, "dhclient-discover")); res.Verdict != Drop {
		t.Errorf("dhclient DISCOVER in proxy mode: %+v", res)
	}
	// Once it has an address, the client asks the boot server port: an ACK
	// with the boot settings, back to its address and port. iPXE gets its
	// script.
	req := pxeDiscover(7, "PXEClient:Arch:00007:UNDI:003016", true)
	req.SetMessageType(dhcpv4.Request)
	req.CIAddr = netip.MustParseAddr("198.18.0.77")
	e.in.BootServer, e.in.Src = true, netip.MustParseAddrPort("198.18.0.77:4011")
	res, ack := e.handle(req)
	mustType(t, res, ack, dhcpv4.Ack)
	if bootFileOf(ack) != "http://198.18.0.1/boot.ipxe" || res.Dest.Addr != netip.MustParseAddrPort("198.18.0.77:4011") || res.Dest.HWAddr != nil {
		t.Errorf("boot server ACK: file %q to %v (hw %v)", bootFileOf(ack), res.Dest.Addr, res.Dest.HWAddr)
	}
	if ack.YIAddr.IsValid() && !ack.YIAddr.IsUnspecified() {
		t.Errorf("boot server ACK gives address %v", ack.YIAddr)
	}
	// No lease is written in proxy mode.
	n := 0
	e.store.Load(t.Context(), func(*lease.Lease) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d leases written in proxy mode", n)
	}
}

func TestProxyDHCPConfigErrors(t *testing.T) {
	for _, y := range []string{
		"interfaces: [s0]\nsubnets: [{subnet: 198.18.0.0/24, proxy-dhcp: true, pools: [{range: 198.18.0.10-198.18.0.20}]}]\n",
		"interfaces: [s0]\nsubnets: [{subnet: 198.18.0.0/24, proxy-dhcp: true, bootp: dynamic}]\n",
		"interfaces: [s0]\nsubnets: [{subnet: 198.18.0.0/24, proxy-dhcp: true, reservations: [{mac: \"02:00:00:00:00:01\", address: 198.18.0.5}]}]\n",
	} {
		if _, err := config.Parse("t.yaml", []byte(y)); err == nil {
			t.Errorf("accepted: %s", y)
		}
	}
}
