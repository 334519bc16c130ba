package config

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bootd/internal/dhcpv4"
)

func mustParse(t testing.TB, src string) *Config {
	t.Helper()
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func hexBytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOptionEncoding compares the wire bytes of every format, by name and
// by code with a type.
func TestOptionEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value string
		want        string // hex
	}{
		// By name, one per format used in the option table.
		{"subnet-mask", "255.255.255.0", "ffffff00"},                     // KindAddr
		{"router", "198.18.0.1", "c6120001"},                             // KindAddrs, one
		{"dns-servers", "[198.18.0.1, 198.18.0.2]", "c6120001 c6120002"}, // KindAddrs, list
		{"mobile-ip-home-agents", "[]", ""},                              // KindAddrsOrNone
		{"static-routes", `["198.18.4.0 198.18.0.1", "198.18.5.0 via 198.18.0.2"]`, "c6120400 c6120001 c6120500 c6120002"}, // KindAddrPairs
		{"default-ip-ttl", "64", "40"},                                              // KindUint8
		{"mtu", "1500", "05dc"},                                                     // KindUint16
		{"path-mtu-plateau-table", "[68, 1500]", "0044 05dc"},                       // KindUint16s
		{"time-offset", "-3600", "fffff1f0"},                                        // KindInt32
		{"arp-cache-timeout", "1h", "00000e10"},                                     // KindSeconds
		{"ipv6-only-preferred", "infinite", "ffffffff"},                             // KindSeconds
		{"ip-forwarding", "true", "01"},                                             // KindBool
		{"all-subnets-local", "false", "00"},                                        // KindBool
		{"domain-name", "example.test", hex.EncodeToString([]byte("example.test"))}, // KindString
		{"host-name", "1234", "31323334"},                                           // a number read as text
		{"domain-search", "[example.test, lab.example.test]", "076578616d706c65 0474657374 00 036c6162 c000"},                         // KindDomainList
		{"classless-static-routes", `["198.18.4.0/24 via 198.18.0.1", "0.0.0.0/0 via 198.18.0.1"]`, "18 c61204 c6120001 00 c6120001"}, // KindRoutes
		{"client-arch", "[7, 9]", "0007 0009"},                                                    // KindClientArch
		{"vendor-specific", `"01:04:de:ad:be:ef"`, "0104deadbeef"},                                // KindEncapsulated, as hex
		{"sip-servers", `"00:03:73:69:70"`, "0003736970"},                                         // KindBytes
		{"client-uuid", `"00` + strings.Repeat(":11", 16) + `"`, "00" + strings.Repeat("11", 16)}, // KindUUID
		{"tftp-server-address", "198.18.0.1", "c6120001"},
		// By code with a type.
		{`"224"`, "{type: addr, value: 198.18.0.1}", "c6120001"},
		{`"224"`, "{type: addrs, value: [198.18.0.1, 198.18.0.2]}", "c6120001 c6120002"},
		{`"224"`, "{type: uint8, value: 255}", "ff"},
		{`"224"`, "{type: uint16, value: 0x1234}", "1234"},
		{`"224"`, "{type: uint32, value: 4294967295}", "ffffffff"},
		{`"224"`, "{type: int32, value: -1}", "ffffffff"},
		{`"224"`, "{type: bool, value: true}", "01"},
		{`"224"`, `{type: string, value: "x"}`, "78"},
		{`"224"`, `{type: hex, value: "01:02:0a"}`, "01020a"},
		{`"224"`, `{type: hex, value: "01020a"}`, "01020a"},
		{`"224"`, "{type: seconds, value: 90s}", "0000005a"},
		{`"224"`, "{type: domain-list, value: [a.test]}", "0161 0474657374 00"},
		{`"224"`, `{type: routes, value: ["198.18.0.0/15 via 198.18.0.1"]}`, "0f c612 c6120001"},
		{"224", "{type: string, value: unquoted key}", hex.EncodeToString([]byte("unquoted key"))},
		{"66", "tftp.example.test", hex.EncodeToString([]byte("tftp.example.test"))}, // a known code by number
		{"router", "{type: hex, value: c6120001}", "c6120001"},                       // a name with an explicit type
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			src := "interfaces: [eth0]\nsubnets: [{subnet: 198.18.0.0/24}]\noptions:\n  " + tt.name + ": " + tt.value + "\n"
			c := mustParse(t, src)
			if len(c.Global.Options) != 1 {
				t.Fatalf("got %d options, want 1: %v", len(c.Global.Options), c.Global.Options)
			}
			got := c.Global.Options[0].Value
			if want := hexBytes(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("value = %x, want %x", got, want)
			}
		})
	}
}

const inheritYAML = `
interfaces: [eth0, eth1]
lease-time: 1h
boot-file: global.efi
options:
  router: 198.18.0.1
  domain-name: global.test
  ntp-servers: 198.18.0.1
  mtu: 1500
shared-networks:
  - name: floor1
    interface: eth1
    lease-time: 2h
    options: {domain-name: shared.test, mtu: 1400}
    bootp: reservations
    subnets:
      - subnet: 198.18.1.0/24
        options: {router: 198.18.1.1}
        authoritative: false
        pools:
          - range: 198.18.1.100-198.18.1.200
            options: {ntp-servers: 198.18.1.5}
            lease-time: {default: 3h, max: 6h}
            classes: [pxe]
        reservations:
          - mac: 52:54:00:00:00:01
            address: 198.18.1.10
            hostname: host1
            boot-file: host.efi
            options: {domain-name: host.test}
      - subnet: 198.18.2.0/24
subnets:
  - subnet: 198.18.0.0/24
    interface: eth0
    options: {subnet-mask: 255.255.0.0}
classes:
  - name: pxe
    match: {vendor-class: "PXEClient*"}
    boot-file: class.efi
    options: {domain-name: class.test, mtu: 1200}
    lease-time: 30m
  - name: any-pxe
    match: {vendor-class: "PXE*"}
    boot-file: second.efi
`

// TestInheritance checks that the most specific scope wins:
// global < shared network < subnet < pool < class < reservation.
func TestInheritance(t *testing.T) {
	t.Parallel()
	c := mustParse(t, inheritYAML)
	if len(c.Subnets) != 3 {
		t.Fatalf("%d subnets, want 3", len(c.Subnets))
	}
	// File order: the shared network's subnets come first in this file.
	s1, s2, s0 := c.Subnets[0], c.Subnets[1], c.Subnets[2]
	if s1.Prefix.String() != "198.18.1.0/24" || s0.Prefix.String() != "198.18.0.0/24" {
		t.Fatalf("subnets in order %v %v %v", s1.Prefix, s2.Prefix, s0.Prefix)
	}
	pool := s1.Pools[0]
	host := s1.Reservations[0]
	var req dhcpv4.Message
	req.Options.SetString(dhcpv4.OptVendorClass, "PXEClient:Arch:00007")
	set, class := c.Classify(&req)
	if class == nil || class.Name != "pxe" || !set.Has(0) || !set.Has(1) {
		t.Fatalf("Classify = %v, %v; want pxe first, both classes", set, class)
	}

	opt := func(s *Settings, code uint8) string {
		v, _ := s.Option(code)
		return dhcpv4.FormatValue(code, v)
	}
	vopt := func(v View, code uint8) string {
		b, _ := v.Option(code)
		return dhcpv4.FormatValue(code, b)
	}
	tests := []struct{ what, got, want string }{
		{"global domain", opt(&c.Global, dhcpv4.OptDomainName), `"global.test"`},
		{"shared domain", opt(&s2.Effective, dhcpv4.OptDomainName), `"shared.test"`},
		{"shared mtu", opt(&s2.Effective, dhcpv4.OptMTU), "1400"},
		{"shared router inherited", opt(&s2.Effective, dhcpv4.OptRouter), "198.18.0.1"},
		{"subnet router", opt(&s1.Effective, dhcpv4.OptRouter), "198.18.1.1"},
		{"subnet mask from the prefix", opt(&s1.Effective, dhcpv4.OptSubnetMask), "255.255.255.0"},
		{"subnet mask configured", opt(&s0.Effective, dhcpv4.OptSubnetMask), "255.255.0.0"},
		{"pool ntp", opt(&pool.Effective, dhcpv4.OptNTPServers), "198.18.1.5"},
		{"pool router", opt(&pool.Effective, dhcpv4.OptRouter), "198.18.1.1"},
		{"other subnet ntp", opt(&s2.Effective, dhcpv4.OptNTPServers), "198.18.0.1"},
		{"view class over pool", vopt(NewView(&pool.Effective, class, nil), dhcpv4.OptDomainName), `"class.test"`},
		{"view class mtu", vopt(NewView(&pool.Effective, class, nil), dhcpv4.OptMTU), "1200"},
		{"view pool ntp under class", vopt(NewView(&pool.Effective, class, nil), dhcpv4.OptNTPServers), "198.18.1.5"},
		{"view host over class", vopt(NewView(&s1.Effective, class, host), dhcpv4.OptDomainName), `"host.test"`},
		{"view host name", vopt(NewView(&s1.Effective, class, host), dhcpv4.OptHostName), `"host1"`},
		{"view host keeps class mtu", vopt(NewView(&s1.Effective, class, host), dhcpv4.OptMTU), "1200"},
		{"boot file global", NewView(&s2.Effective, nil, nil).BootFile(), "global.efi"},
		{"boot file class", NewView(&pool.Effective, class, nil).BootFile(), "class.efi"},
		{"boot file host", NewView(&s1.Effective, class, host).BootFile(), "host.efi"},
		{"lease global", FormatDuration(NewView(&s0.Effective, nil, nil).LeaseTime(0)), "1h"},
		{"lease shared", FormatDuration(NewView(&s2.Effective, nil, nil).LeaseTime(0)), "2h"},
		{"lease pool", FormatDuration(NewView(&pool.Effective, nil, nil).LeaseTime(0)), "3h"},
		{"lease pool max", FormatDuration(NewView(&pool.Effective, nil, nil).LeaseTime(48 * time.Hour)), "6h"},
		{"lease class", FormatDuration(NewView(&pool.Effective, class, nil).LeaseTime(0)), "30m"},
		{"lease global max follows a longer default", FormatDuration(c.Global.MaxLeaseTime), "1d"},
		{"bootp shared", s1.Effective.BOOTP.String(), "reservations"},
		{"bootp global", s0.Effective.BOOTP.String(), "off"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.what, tt.got, tt.want)
		}
	}
	if s1.Effective.Authoritative || !s2.Effective.Authoritative || !c.Global.Authoritative {
		t.Errorf("authoritative: subnet %v, sibling %v, global %v; want false, true, true",
			s1.Effective.Authoritative, s2.Effective.Authoritative, c.Global.Authoritative)
	}
	t1, t2 := NewView(&s0.Effective, nil, nil).Times(time.Hour)
	if t1 != 30*time.Minute || t2 != 52*time.Minute+30*time.Second {
		t.Errorf("Times(1h) = %v, %v; want 30m, 52m30s", t1, t2)
	}

	// SetOptions: the most specific value of each option.
	var o dhcpv4.Options
	NewView(&s1.Effective, class, host).SetOptions(&o)
	if v, _ := o.Get(dhcpv4.OptDomainName); string(v) != "host.test" {
		t.Errorf("SetOptions domain-name = %q, want host.test", v)
	}
	if v, _ := o.Uint16(dhcpv4.OptMTU); v != 1200 {
		t.Errorf("SetOptions mtu = %d, want 1200", v)
	}
}

func TestLookups(t *testing.T) {
	c := mustParse(t, inheritYAML)
	for _, tt := range []struct{ addr, want string }{
		{"198.18.1.1", "198.18.1.0/24"},
		{"198.18.2.255", "198.18.2.0/24"},
		{"198.18.0.0", "198.18.0.0/24"},
		{"198.18.3.1", ""},
		{"10.0.0.1", ""},
	} {
		got := ""
		if s := c.SubnetFor(netip.MustParseAddr(tt.addr)); s != nil {
			got = s.Prefix.String()
		}
		if got != tt.want {
			t.Errorf("SubnetFor(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
	s1 := c.SubnetFor(netip.MustParseAddr("198.18.1.1"))
	if l := s1.Link(); len(l) != 2 || l[1].Prefix.String() != "198.18.2.0/24" {
		t.Errorf("Link() = %v", l)
	}
	if got := c.SubnetsOn("eth1", nil); len(got) != 2 {
		t.Errorf("SubnetsOn(eth1) = %d subnets, want 2", len(got))
	}
	if got := c.SubnetsOn("eth0", nil); len(got) != 1 || got[0].Prefix.String() != "198.18.0.0/24" {
		t.Errorf("SubnetsOn(eth0) = %v", got)
	}

	var req dhcpv4.Message
	req.SetHardwareAddr(dhcpv4.HTypeEthernet, []byte{0x52, 0x54, 0, 0, 0, 1})
	r := s1.Reservation(&req)
	if r == nil || r.Address.String() != "198.18.1.10" {
		t.Fatalf("Reservation = %v", r)
	}
	if s1.ReservationFor(netip.MustParseAddr("198.18.1.10")) != r {
		t.Error("ReservationFor does not find it")
	}
	if !raceEnabled {
		if n := testing.AllocsPerRun(100, func() { s1.Reservation(&req) }); n != 0 {
			t.Errorf("Reservation allocates %v times", n)
		}
		if n := testing.AllocsPerRun(100, func() { c.SubnetFor(netip.MustParseAddr("198.18.2.9")) }); n != 0 {
			t.Errorf("SubnetFor allocates %v times", n)
		}
	}
	pool := s1.Pools[0]
	set, _ := c.Classify(&req)
	if pool.Allows(set) {
		t.Error("a client in no class may use a pool restricted to pxe")
	}
	req.Options.SetString(dhcpv4.OptVendorClass, "PXEClient")
	set, _ = c.Classify(&req)
	if !pool.Allows(set) {
		t.Error("a pxe client may not use the pxe pool")
	}
	if pool.Size() != 101 {
		t.Errorf("pool size %d, want 101", pool.Size())
	}
}

func TestReservationIdentifiers(t *testing.T) {
	t.Parallel()
	c := mustParse(t, `
interfaces: [eth0]
subnets:
  - subnet: 198.18.0.0/24
    pools: [{range: 198.18.0.0/24}]
    reservations:
      - {client-id: "01:52:54:00:00:00:02", address: 198.18.0.2}
      - {client-id: {text: box3}, address: 198.18.0.3}
      - {circuit-id: r1, address: 198.18.0.4}
      - {remote-id: {hex: "00:01"}, address: 198.18.0.5}
`)
	s := c.Subnets[0]
	p := s.Pools[0]
	if p.First.String() != "198.18.0.1" || p.Last.String() != "198.18.0.254" || p.Size() != 254-4 {
		t.Errorf("pool %s-%s size %d; want .1-.254 size 250", p.First, p.Last, p.Size())
	}
	relay := func(sub uint8, v string) []byte { b, _ := dhcpv4.AppendSubOption(nil, sub, []byte(v)); return b }
	tests := []struct {
		name string
		set  func(m *dhcpv4.Message)
		want string
	}{
		{"client-id hex", func(m *dhcpv4.Message) { m.Options.Set(dhcpv4.OptClientID, []byte{1, 0x52, 0x54, 0, 0, 0, 2}) }, "198.18.0.2"},
		{"client-id text", func(m *dhcpv4.Message) { m.Options.Set(dhcpv4.OptClientID, []byte("\x00box3")) }, "198.18.0.3"},
		{"circuit-id", func(m *dhcpv4.Message) { m.Options.Set(dhcpv4.OptRelayAgentInfo, relay(1, "r1")) }, "198.18.0.4"},
		{"remote-id", func(m *dhcpv4.Message) { m.Options.Set(dhcpv4.OptRelayAgentInfo, relay(2, "\x00\x01")) }, "198.18.0.5"},
		{"nothing", func(m *dhcpv4.Message) {}, ""},
	}
	for _, tt := range tests {
		var m dhcpv4.Message
		m.SetHardwareAddr(dhcpv4.HTypeEthernet, []byte{2, 0, 0, 0, 0, 9})
		tt.set(&m)
		got := ""
		if r := s.Reservation(&m); r != nil {
			got = r.Address.String()
		}
		if got != tt.want {
			t.Errorf("%s: reservation %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDurations(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false}, {"30m", 30 * time.Minute, false}, {"12h", 12 * time.Hour, false},
		{"7d", 7 * 24 * time.Hour, false}, {"1h30m", 90 * time.Minute, false}, {"3600", time.Hour, false},
		{"infinite", dhcpv4.Infinite, false}, {"4294967294s", 4294967294 * time.Second, false},
		{"4294967295s", 0, true}, {"1.5h", 0, true}, {"1h30", 0, true}, {"-1s", 0, true}, {"", 0, true}, {"1w", 0, true},
	} {
		got, err := parseDuration(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
		if err == nil {
			if back, _ := parseDuration(FormatDuration(got)); back != got {
				t.Errorf("FormatDuration(%v) = %q does not read back", got, FormatDuration(got))
			}
		}
	}
}

// TestExamples loads every example configuration.
func TestExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 4 {
		t.Fatalf("found %d examples, want at least 4", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			if _, err := Load(f); err != nil {
				t.Errorf("%v", err)
			}
		})
	}
}

// loadCapture reads the message of internal/dhcpv4/testdata/captures/<name>.hex.
func loadCapture(t testing.TB, name string) *dhcpv4.Message {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "dhcpv4", "testdata", "captures", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var hx strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			hx.WriteString(line)
		}
	}
	b, err := hex.DecodeString(hx.String())
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	m := new(dhcpv4.Message)
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}
