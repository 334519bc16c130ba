package dhcpv4

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Golden packets: real captures in testdata/captures/*.hex, written by
// capture.sh in that directory. Each file has '#' comment lines (which hold
// tcpdump's -vvv decoding of the packet) and then the UDP payload as lowercase
// hex, 64 characters a line.

const capturesDir = "testdata/captures"

// capture is one golden packet and the comment header that describes it.
type capture struct {
	name   string   // file name without .hex
	header []string // comment lines without the leading "# "
	data   []byte
}

// loadCapture reads testdata/captures/<name>.hex. It fails the test when the
// file is missing or badly formed.
func loadCapture(t testing.TB, name string) capture {
	t.Helper()
	c, err := readCapture(filepath.Join(capturesDir, name+".hex"))
	if err != nil {
		t.Fatalf("capture %s: %v", name, err)
	}
	return c
}

func readCapture(path string) (capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return capture{}, err
	}
	defer f.Close()
	c := capture{name: strings.TrimSuffix(filepath.Base(path), ".hex")}
	var hx strings.Builder
	short := false // a line shorter than 64 characters must be the last one
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			if hx.Len() > 0 {
				return capture{}, fmt.Errorf("line %d: comment after the hex data", n)
			}
			// Older captures kept tcpdump's tabs: expand them as the
			// newer ones do (tab stops every 8 columns, "# " included).
			line = expandTabs(line)
			c.header = append(c.header, strings.TrimPrefix(strings.TrimPrefix(line, "#"), " "))
			continue
		case line == "":
			continue
		}
		if short {
			return capture{}, fmt.Errorf("line %d: hex line after a short one", n)
		}
		if len(line) > 64 || len(line)%2 != 0 || strings.ToLower(line) != line {
			return capture{}, fmt.Errorf("line %d: want up to 64 lowercase hex characters, got %q", n, line)
		}
		short = len(line) < 64
		hx.WriteString(line)
	}
	if err := sc.Err(); err != nil {
		return capture{}, err
	}
	c.data, err = hex.DecodeString(hx.String())
	if err != nil {
		return capture{}, err
	}
	if len(c.data) == 0 {
		return capture{}, fmt.Errorf("no hex data")
	}
	return c, nil
}

// expandTabs replaces tabs with spaces up to the next multiple of 8 columns.
func expandTabs(s string) string {
	if !strings.Contains(s, "\t") {
		return s
	}
	var sb strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			n := 8 - col%8
			sb.WriteString(strings.Repeat(" ", n))
			col += n
			continue
		}
		sb.WriteRune(r)
		col++
	}
	return sb.String()
}

// allCaptures loads every capture in the directory, sorted by name.
func allCaptures(t testing.TB) []capture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(capturesDir, "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(paths)
	var cs []capture
	for _, p := range paths {
		c, err := readCapture(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		cs = append(cs, c)
	}
	return cs
}

func TestReadCapture(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.hex", "# one\n#two\n# \tx\ty\n\n"+strings.Repeat("ab", 32)+"\n0102\n")
	c, err := readCapture(good)
	if err != nil {
		t.Fatalf("readCapture(good): %v", err)
	}
	if want := append(bytes.Repeat([]byte{0xab}, 32), 1, 2); !bytes.Equal(c.data, want) {
		t.Errorf("data = %x, want %x", c.data, want)
	}
	if want := []string{"one", "two", "      x       y"}; !slices.Equal(c.header, want) {
		t.Errorf("header = %q, want %q", c.header, want)
	}
	for name, text := range map[string]string{
		"upper.hex":    "ABCD\n",
		"odd.hex":      "abc\n",
		"long.hex":     strings.Repeat("ab", 33) + "\n",
		"notlast.hex":  "ab\nab\n",
		"nothex.hex":   "zz\n",
		"empty.hex":    "# only a comment\n",
		"comment.hex":  "abab\n# late comment\n",
		"missing0.hex": "",
	} {
		if _, err := readCapture(write(name, text)); err == nil {
			t.Errorf("readCapture(%s) succeeded, want an error", name)
		}
	}
	if _, err := readCapture(filepath.Join(dir, "absent.hex")); err == nil {
		t.Error("readCapture of a missing file succeeded")
	}
}

// goldenWant is what the tcpdump decoding in a capture's header says. Every
// field is checked: an empty value means the field or option must be absent
// (or zero for header fields).
type goldenWant struct {
	op                  OpCode
	htype, hlen, hops   uint8
	xid                 XID
	secs                uint16
	flags               Flags
	ciaddr, yiaddr      string
	siaddr, giaddr      string
	chaddr              string // hardware address, colon hex
	sname, file         string
	msgType             MessageType
	codes               []uint8 // option codes, in the order of first appearance
	clientID            string  // hex, no separators
	requestedIP         string
	serverID            string
	prl                 []byte
	maxSize             uint16
	vendorClass         string
	hostName            string
	userClass           []string
	archs               []Arch
	ndi                 *NDI
	uuid                string // 8-4-4-4-12
	circuitID, remoteID string // option 82 sub-options 1 and 2 ("" with both: no option 82)
	leaseTime           time.Duration
	renewal, rebinding  time.Duration
	subnetMask          string
	routers, dns        []string
	domainName          string
	domainSearch        []string
	routes              []string         // "dest via router"
	message             string           // option 56
	raw                 map[uint8]string // more options: exact values
	ntp                 []string         // option 42 (checked when set)
	overloaded          uint8
}

// Values as tcpdump prints them, in wire form.
func ip4(s string) string { a := netip.MustParseAddr(s).As4(); return string(a[:]) }
func u16(v uint16) string { return string(binary.BigEndian.AppendUint16(nil, v)) }
func u32(v uint32) string { return string(binary.BigEndian.AppendUint32(nil, v)) }

// words renders the 32-bit decimal words tcpdump prints for an unknown
// option whose length is a multiple of 4.
func words(ws ...uint32) string {
	var b []byte
	for _, w := range ws {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return string(b)
}

// halfwords renders the 16-bit words tcpdump prints for an unknown option
// of even length.
func halfwords(ws ...uint16) string {
	var b []byte
	for _, w := range ws {
		b = binary.BigEndian.AppendUint16(b, w)
	}
	return string(b)
}

// seq returns the codes from..to.
func seq(from, to uint8) []byte {
	var b []byte
	for c := int(from); c <= int(to); c++ {
		b = append(b, uint8(c))
	}
	return b
}

// Option values that several captures share.
var (
	dhclientPRL = []byte{1, 28, 2, 3, 15, 6, 119, 12, 44, 47, 26, 121, 42}
	udhcpcPRL   = []byte{1, 3, 6, 12, 15, 28, 42, 43, 119, 121, 252}
	dhcpcdPRL   = []byte{1, 121, 3, 6, 12, 15, 26, 28, 33, 51, 54, 58, 59, 119}
	ipxePRL     = slices.Concat([]byte{1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119}, seq(128, 135), []byte{175, 203})
	ovmfPRL     = slices.Concat([]byte{1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97}, seq(128, 135))
	nmapPRL     = slices.Concat([]byte{252}, seq(1, 61), []byte{67, 66})

	dhcpcdClientID = "ff07000003000100013296743302b007000003" // IAID 7:0:0:3, DUID-LLT
	// 119 as tcpdump prints it: 124090465,1836084325,74737011,1946157932,1633861632.
	dnsmasqSearch = []string{"example.test", "lab.example.test"}
	dnsmasqWPAD   = halfwords(26740, 29808, 14895, 12081, 14648, 11825, 14382, 12334, 12591, 30576, 24932, 11876, 24948)
	// 43 as tcpdump prints it: 1.18.104.101.108.108.111.32.102.114.111.109.32.100.110.115.109.97.115.113.255.
	dnsmasqVendor = "\x01\x12hello from dnsmasq\xff"
	// iPXE's encapsulated options (175), BIOS and EFI builds.
	ipxe175    = words(2969895296, 2249199339, 50397184, 385941794, 16847617, 17891585, 654377241, 16853249, 17826050, 553713941, 16848897, 17957121)
	ipxeEFI175 = words(2969895296, 2249199339, 50397184, 385941796, 16847617, 17891585, 654377257, 16848129, 17957121)
	// The overloaded reply (dnsmasq with a client max size of 576): 224 and
	// 252 in the options field, 42 and 119 in file, 15 and 3 in sname.
	overload224    = halfwords(25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 12603, 25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 12859, 25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 13115, 25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 13371, 25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 13627, 25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 13883, 25199, 28532, 25645, 27759, 28263, 11631, 28788, 26991, 28205, 12336, 14139)
	overload252    = halfwords(26740, 29808, 14895, 12081, 14648, 11825, 14382, 12334, 12591, 28786, 28536, 31021, 24949, 29807, 25455, 28262, 26983, 12144, 29295, 30841, 11617, 30068, 28515, 28526, 26217, 26415, 28786, 28536, 31021, 24949, 29807, 25455, 28262, 26983, 12144, 29295, 30841, 11617, 30068, 28515, 28526, 26217, 26415, 30576, 24932, 11876, 24948)
	overloadNTP    = []string{"198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5", "198.18.0.6", "198.18.0.7", "198.18.0.8", "198.18.0.9", "198.18.0.10", "198.18.0.11", "198.18.0.12"}
	overloadSearch = []string{"dept01.lab.example.test", "dept02.lab.example.test", "dept03.lab.example.test", "dept04.lab.example.test", "dept05.lab.example.test", "dept06.lab.example.test"}
	zeroUUID       = "00000000-0000-0000-0000-000000000000"
)

// dnsmasqLease is the lease part of dnsmasq's OFFER and ACK on 198.18.0.0/24.
func dnsmasqLease(w goldenWant) goldenWant {
	w.op, w.htype, w.hlen = BootReply, 1, 6
	w.siaddr, w.serverID = "198.18.0.1", "198.18.0.1"
	w.leaseTime, w.renewal, w.rebinding = time.Hour, 30*time.Minute, 3150*time.Second
	w.subnetMask, w.dns, w.domainName = "255.255.255.0", []string{"198.18.0.1"}, "example.test"
	if w.routers == nil {
		w.routers = []string{"198.18.0.1"}
	}
	return w
}

var goldenTests = []struct {
	name string
	want goldenWant
}{
	// dhclient (ISC) and its server, dnsmasq.
	{"dhclient-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x53a24e73, chaddr: "02:b0:07:00:00:01",
		msgType: Discover, codes: []uint8{53, 12, 55},
		hostName: "dhclient-test", prl: dhclientPRL,
	}},
	{"dhclient-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x53a24e73, chaddr: "02:b0:07:00:00:01",
		msgType: Request, codes: []uint8{53, 54, 50, 12, 55},
		serverID: "198.18.0.1", requestedIP: "198.18.0.111", hostName: "dhclient-test", prl: dhclientPRL,
	}},
	{"dhclient-release", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0xe905b767, chaddr: "02:b0:07:00:00:01",
		ciaddr: "198.18.0.111", msgType: Release, codes: []uint8{53, 54, 12},
		serverID: "198.18.0.1", hostName: "dhclient-test",
	}},
	{"dhclient-reboot-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x3149783e, chaddr: "02:b0:07:00:00:01",
		msgType: Request, codes: []uint8{53, 50, 12, 55},
		requestedIP: "198.18.0.250", hostName: "dhclient-test", prl: dhclientPRL,
	}},
	{"dnsmasq-offer", dnsmasqLease(goldenWant{
		xid: 0x53a24e73, chaddr: "02:b0:07:00:00:01", yiaddr: "198.18.0.111",
		msgType: Offer, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 121, 26, 2, 42, 119, 15, 6, 3},
		domainSearch: dnsmasqSearch, routes: []string{"198.18.2.0/24 via 198.18.0.1"},
		raw: map[uint8]string{28: ip4("198.18.0.255"), 26: u16(1500), 2: u32(3600), 42: ip4("198.18.0.1")},
	})},
	{"dnsmasq-ack", dnsmasqLease(goldenWant{
		xid: 0x53a24e73, chaddr: "02:b0:07:00:00:01", yiaddr: "198.18.0.111",
		msgType: Ack, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 12, 121, 26, 2, 42, 119, 15, 6, 3},
		hostName:     "dhclient-test",
		domainSearch: dnsmasqSearch, routes: []string{"198.18.2.0/24 via 198.18.0.1"},
		raw: map[uint8]string{28: ip4("198.18.0.255"), 26: u16(1500), 2: u32(3600), 42: ip4("198.18.0.1")},
	})},
	{"dnsmasq-nak", goldenWant{
		op: BootReply, htype: 1, hlen: 6, xid: 0x3149783e, flags: FlagBroadcast, chaddr: "02:b0:07:00:00:01",
		msgType: Nak, codes: []uint8{53, 54, 56},
		serverID: "198.18.0.1", message: "address not available",
	}},

	// busybox udhcpc, and dnsmasq's overloaded reply to its 576-byte limit.
	{"udhcpc-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x2e835b24, chaddr: "02:b0:07:00:00:02",
		msgType: Discover, codes: []uint8{53, 57, 55, 12, 51, 60, 61},
		maxSize: 576, prl: udhcpcPRL, hostName: "udhcpc-test", leaseTime: 2 * time.Hour,
		vendorClass: "bootd-test", clientID: "0102b007000002",
	}},
	{"udhcpc-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x2e835b24, chaddr: "02:b0:07:00:00:02",
		msgType: Request, codes: []uint8{53, 50, 54, 57, 55, 12, 51, 60, 61},
		requestedIP: "198.18.0.112", serverID: "198.18.0.1",
		maxSize: 576, prl: udhcpcPRL, hostName: "udhcpc-test", leaseTime: 2 * time.Hour,
		vendorClass: "bootd-test", clientID: "0102b007000002",
	}},
	{"udhcpc-renew-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x2e835b24, chaddr: "02:b0:07:00:00:02",
		ciaddr:  "198.18.0.112",
		msgType: Request, codes: []uint8{53, 57, 55, 12, 51, 60, 61},
		maxSize: 576, prl: udhcpcPRL, hostName: "udhcpc-test", leaseTime: 2 * time.Hour,
		vendorClass: "bootd-test", clientID: "0102b007000002",
	}},
	{"udhcpc-release", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x9324bd77, secs: 2, chaddr: "02:b0:07:00:00:02",
		ciaddr:  "198.18.0.112",
		msgType: Release, codes: []uint8{53, 54, 61},
		serverID: "198.18.0.1", clientID: "0102b007000002",
	}},
	{"dnsmasq-udhcpc-offer", dnsmasqLease(goldenWant{
		xid: 0x2e835b24, chaddr: "02:b0:07:00:00:02", yiaddr: "198.18.0.112",
		msgType: Offer, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 252, 121, 42, 119, 15, 6, 3, 43, 60},
		domainSearch: dnsmasqSearch, routes: []string{"198.18.2.0/24 via 198.18.0.1"}, vendorClass: "bootd-test",
		raw: map[uint8]string{28: ip4("198.18.0.255"), 252: dnsmasqWPAD, 43: dnsmasqVendor},
	})},
	{"dnsmasq-udhcpc-ack", dnsmasqLease(goldenWant{
		xid: 0x2e835b24, chaddr: "02:b0:07:00:00:02", yiaddr: "198.18.0.112",
		msgType: Ack, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 12, 252, 121, 42, 119, 15, 6, 3, 43, 60},
		hostName:     "udhcpc-test",
		domainSearch: dnsmasqSearch, routes: []string{"198.18.2.0/24 via 198.18.0.1"}, vendorClass: "bootd-test",
		raw: map[uint8]string{28: ip4("198.18.0.255"), 252: dnsmasqWPAD, 43: dnsmasqVendor},
	})},
	{"dnsmasq-overload-offer", dnsmasqLease(goldenWant{
		xid: 0x49ab3009, chaddr: "02:b0:07:00:00:09", yiaddr: "198.18.0.119", overloaded: 3,
		msgType: Offer, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 224, 252, 6, 42, 119, 15, 3},
		domainSearch: overloadSearch,
		raw:          map[uint8]string{28: ip4("198.18.0.255"), 224: overload224, 252: overload252},
		ntp:          overloadNTP,
	})},
	{"dnsmasq-overload-ack", dnsmasqLease(goldenWant{
		xid: 0x49ab3009, chaddr: "02:b0:07:00:00:09", yiaddr: "198.18.0.119", overloaded: 3,
		msgType: Ack, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 224, 252, 6, 42, 119, 15, 3},
		domainSearch: overloadSearch,
		raw:          map[uint8]string{28: ip4("198.18.0.255"), 224: overload224, 252: overload252},
		ntp:          overloadNTP,
	})},

	// dhcpcd: RFC 4361 client identifier, rapid commit.
	{"dhcpcd-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x69d300c1, chaddr: "02:b0:07:00:00:03",
		msgType: Discover, codes: []uint8{53, 55, 57, 61, 80, 116, 145},
		prl: dhcpcdPRL, maxSize: 1472, clientID: dhcpcdClientID,
		raw: map[uint8]string{80: "", 116: "\x01", 145: "\x01"},
	}},
	{"dhcpcd-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x69d300c1, chaddr: "02:b0:07:00:00:03",
		msgType: Request, codes: []uint8{50, 53, 54, 55, 57, 61, 145},
		requestedIP: "198.18.0.113", serverID: "198.18.0.1",
		prl: dhcpcdPRL, maxSize: 1472, clientID: dhcpcdClientID,
	}},
	{"dhcpcd-release", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x2750ee37, chaddr: "02:b0:07:00:00:03",
		ciaddr: "198.18.0.113", msgType: Release, codes: []uint8{53, 54, 61},
		serverID: "198.18.0.1", clientID: dhcpcdClientID,
	}},
	{"dhcpcd-inform", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x100aa1a5, secs: 5, chaddr: "02:b0:07:00:00:03",
		ciaddr: "198.18.0.50", msgType: Inform, codes: []uint8{53, 55, 57, 61, 145},
		prl: []byte{1, 121, 3, 6, 12, 15, 26, 28, 33, 51, 54, 119}, maxSize: 1472, clientID: dhcpcdClientID,
	}},
	{"dnsmasq-inform-ack", goldenWant{
		op: BootReply, htype: 1, hlen: 6, xid: 0x100aa1a5, secs: 5, chaddr: "02:b0:07:00:00:03",
		ciaddr: "198.18.0.50", siaddr: "198.18.0.1",
		msgType: Ack, codes: []uint8{53, 54, 1, 28, 121, 26, 119, 15, 6, 3},
		serverID: "198.18.0.1", subnetMask: "255.255.255.0", routers: []string{"198.18.0.1"}, dns: []string{"198.18.0.1"},
		domainName: "example.test", domainSearch: dnsmasqSearch, routes: []string{"198.18.2.0/24 via 198.18.0.1"},
	}},

	// nmap broadcast-dhcp-discover.
	{"nmap-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x76af85a6, flags: FlagBroadcast, chaddr: "de:ad:c0:de:ca:fe",
		msgType: Discover, codes: []uint8{53, 55}, prl: nmapPRL,
	}},
	{"dnsmasq-nmap-offer", dnsmasqLease(goldenWant{
		xid: 0x76af85a6, flags: FlagBroadcast, chaddr: "de:ad:c0:de:ca:fe", yiaddr: "198.18.0.117",
		msgType: Offer, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 252, 26, 2, 42, 15, 6, 3},
		raw: map[uint8]string{252: dnsmasqWPAD, 2: u32(3600)},
	})},

	// dhclient behind dhcrelay: giaddr, hops, option 82.
	{"dhcrelay-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, hops: 1, xid: 0xaad2a159, chaddr: "02:b0:07:00:00:05",
		giaddr:  "198.18.1.1",
		msgType: Discover, codes: []uint8{53, 12, 55, 82},
		hostName: "dhclient-relayed", prl: dhclientPRL, circuitID: "r1",
	}},
	{"dhcrelay-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, hops: 1, xid: 0xaad2a159, chaddr: "02:b0:07:00:00:05",
		giaddr:  "198.18.1.1",
		msgType: Request, codes: []uint8{53, 54, 50, 12, 55, 82},
		serverID: "198.18.0.1", requestedIP: "198.18.1.115",
		hostName: "dhclient-relayed", prl: dhclientPRL, circuitID: "r1",
	}},
	{"dhcrelay-release", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, hops: 1, xid: 0xacf19638, chaddr: "02:b0:07:00:00:05",
		ciaddr: "198.18.1.115", giaddr: "198.18.1.1",
		msgType: Release, codes: []uint8{53, 54, 12, 82},
		serverID: "198.18.0.1", hostName: "dhclient-relayed", circuitID: "r1",
	}},
	{"dnsmasq-relayed-offer", dnsmasqLease(goldenWant{
		hops: 1, xid: 0xaad2a159, chaddr: "02:b0:07:00:00:05", yiaddr: "198.18.1.115", giaddr: "198.18.1.1",
		msgType: Offer, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 26, 2, 42, 119, 15, 6, 3, 82},
		routers: []string{"198.18.1.1"}, domainSearch: dnsmasqSearch, circuitID: "r1",
		raw: map[uint8]string{28: ip4("198.18.1.255")},
	})},
	{"dnsmasq-relayed-ack", dnsmasqLease(goldenWant{
		hops: 1, xid: 0xaad2a159, chaddr: "02:b0:07:00:00:05", yiaddr: "198.18.1.115", giaddr: "198.18.1.1",
		msgType: Ack, codes: []uint8{53, 54, 51, 58, 59, 1, 28, 12, 26, 2, 42, 119, 15, 6, 3, 82},
		hostName: "dhclient-relayed", routers: []string{"198.18.1.1"}, domainSearch: dnsmasqSearch, circuitID: "r1",
		raw: map[uint8]string{28: ip4("198.18.1.255")},
	})},

	// iPXE: user class "iPXE" as a bare string, PXE options 93/94/97, iPXE's 175.
	{"ipxe-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x136b5b2a, secs: 4, chaddr: "52:54:00:b0:07:06",
		msgType: Discover, codes: []uint8{53, 57, 93, 94, 60, 77, 55, 175, 61, 97},
		maxSize: 1472, archs: []Arch{ArchX86BIOS}, ndi: &NDI{1, 2, 1},
		vendorClass: "PXEClient:Arch:00000:UNDI:002001", userClass: []string{"iPXE"}, prl: ipxePRL,
		clientID: "01525400b00706", uuid: zeroUUID, raw: map[uint8]string{175: ipxe175},
	}},
	{"ipxe-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x136b5b2a, secs: 18, chaddr: "52:54:00:b0:07:06",
		msgType: Request, codes: []uint8{53, 57, 93, 94, 60, 77, 55, 175, 61, 97, 54, 50},
		serverID: "198.18.0.1", requestedIP: "198.18.0.101",
		maxSize: 1472, archs: []Arch{ArchX86BIOS}, ndi: &NDI{1, 2, 1},
		vendorClass: "PXEClient:Arch:00000:UNDI:002001", userClass: []string{"iPXE"}, prl: ipxePRL,
		clientID: "01525400b00706", uuid: zeroUUID, raw: map[uint8]string{175: ipxe175},
	}},
	{"dnsmasq-ipxe-offer", dnsmasqLease(goldenWant{
		xid: 0x136b5b2a, secs: 4, chaddr: "52:54:00:b0:07:06", yiaddr: "198.18.0.101",
		msgType: Offer, codes: []uint8{53, 54, 51, 66, 67, 58, 59, 1, 28, 26, 119, 15, 6, 3},
		domainSearch: dnsmasqSearch,
		raw:          map[uint8]string{66: "bootsrv\x00", 67: "http://198.18.0.1/boot.ipxe\x00"},
	})},
	{"dnsmasq-ipxe-ack", dnsmasqLease(goldenWant{
		xid: 0x136b5b2a, secs: 18, chaddr: "52:54:00:b0:07:06", yiaddr: "198.18.0.101",
		msgType: Ack, codes: []uint8{53, 54, 51, 66, 67, 58, 59, 1, 28, 26, 119, 15, 6, 3},
		domainSearch: dnsmasqSearch,
		raw:          map[uint8]string{66: "bootsrv\x00", 67: "http://198.18.0.1/boot.ipxe\x00"},
	})},
	{"ipxe-efi-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x2a0a2a53, secs: 4, chaddr: "52:54:00:b0:07:07",
		msgType: Discover, codes: []uint8{53, 57, 93, 94, 60, 77, 55, 175, 61, 97},
		maxSize: 1472, archs: []Arch{ArchX64UEFI}, ndi: &NDI{1, 3, 10},
		vendorClass: "PXEClient:Arch:00007:UNDI:003010", userClass: []string{"iPXE"}, prl: ipxePRL,
		clientID: "01525400b00707", uuid: zeroUUID, raw: map[uint8]string{175: ipxeEFI175},
	}},
	{"ipxe-efi-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x2a0a2a53, secs: 18, chaddr: "52:54:00:b0:07:07",
		msgType: Request, codes: []uint8{53, 57, 93, 94, 60, 77, 55, 175, 61, 97, 54, 50},
		serverID: "198.18.0.1", requestedIP: "198.18.0.102",
		maxSize: 1472, archs: []Arch{ArchX64UEFI}, ndi: &NDI{1, 3, 10},
		vendorClass: "PXEClient:Arch:00007:UNDI:003010", userClass: []string{"iPXE"}, prl: ipxePRL,
		clientID: "01525400b00707", uuid: zeroUUID, raw: map[uint8]string{175: ipxeEFI175},
	}},

	// OVMF's own (EDK2) UEFI PXE client.
	{"ovmf-discover", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x6f373b97, flags: FlagBroadcast, chaddr: "52:54:00:b0:07:08",
		msgType: Discover, codes: []uint8{53, 57, 55, 97, 94, 93, 60},
		maxSize: 1472, prl: ovmfPRL, uuid: zeroUUID, ndi: &NDI{1, 3, 0}, archs: []Arch{ArchX64UEFI},
		vendorClass: "PXEClient:Arch:00007:UNDI:003000",
	}},
	{"ovmf-request", goldenWant{
		op: BootRequest, htype: 1, hlen: 6, xid: 0x6f373b97, flags: FlagBroadcast, chaddr: "52:54:00:b0:07:08",
		msgType: Request, codes: []uint8{53, 54, 50, 57, 55, 97, 94, 93, 60},
		serverID: "198.18.0.1", requestedIP: "198.18.0.103", maxSize: 65280, prl: ovmfPRL,
		uuid: zeroUUID, ndi: &NDI{1, 3, 0}, archs: []Arch{ArchX64UEFI},
		vendorClass: "PXEClient:Arch:00007:UNDI:003000",
	}},
	{"dnsmasq-ovmf-offer", dnsmasqLease(goldenWant{
		xid: 0x6f373b97, flags: FlagBroadcast, chaddr: "52:54:00:b0:07:08", yiaddr: "198.18.0.103",
		msgType: Offer, codes: []uint8{53, 54, 51, 66, 67, 58, 59, 1, 28, 2, 42, 15, 6, 3},
		raw: map[uint8]string{66: "bootsrv\x00", 67: "ipxe.efi\x00", 2: u32(3600)},
	})},
	{"dnsmasq-ovmf-ack", dnsmasqLease(goldenWant{
		xid: 0x6f373b97, flags: FlagBroadcast, chaddr: "52:54:00:b0:07:08", yiaddr: "198.18.0.103",
		msgType: Ack, codes: []uint8{53, 54, 51, 66, 67, 58, 59, 1, 28, 2, 42, 15, 6, 3},
		raw: map[uint8]string{66: "bootsrv\x00", 67: "ipxe.efi\x00", 2: u32(3600)},
	})},
}

// TestGolden checks each named capture against its tcpdump decoding. A
// missing file fails the test: the captures are part of the suite.
func TestGolden(t *testing.T) {
	for _, tt := range goldenTests {
		t.Run(tt.name, func(t *testing.T) {
			c := loadCapture(t, tt.name)
			var m Message
			if err := m.UnmarshalBinary(c.data); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			checkGolden(t, &m, &tt.want)
		})
	}
}

func addrOrZero(s string) netip.Addr {
	if s == "" {
		return netip.IPv4Unspecified()
	}
	return netip.MustParseAddr(s)
}

func checkGolden(t *testing.T, m *Message, w *goldenWant) {
	t.Helper()
	// Header.
	if m.Op != w.op {
		t.Errorf("op = %v, want %v", m.Op, w.op)
	}
	if m.HType != w.htype || m.HLen != w.hlen || m.Hops != w.hops {
		t.Errorf("htype/hlen/hops = %d/%d/%d, want %d/%d/%d", m.HType, m.HLen, m.Hops, w.htype, w.hlen, w.hops)
	}
	if m.XID != w.xid {
		t.Errorf("xid = %v, want %v", m.XID, w.xid)
	}
	if m.Secs != w.secs {
		t.Errorf("secs = %d, want %d", m.Secs, w.secs)
	}
	if m.Flags != w.flags {
		t.Errorf("flags = %#04x, want %#04x", m.Flags, w.flags)
	}
	for _, a := range []struct {
		name string
		got  netip.Addr
		want string
	}{{"ciaddr", m.CIAddr, w.ciaddr}, {"yiaddr", m.YIAddr, w.yiaddr}, {"siaddr", m.SIAddr, w.siaddr}, {"giaddr", m.GIAddr, w.giaddr}} {
		if a.got != addrOrZero(a.want) {
			t.Errorf("%s = %v, want %v", a.name, a.got, addrOrZero(a.want))
		}
	}
	if got := m.HardwareAddr().String(); got != w.chaddr {
		t.Errorf("chaddr = %s, want %s", got, w.chaddr)
	}
	if got := string(m.ServerName()); got != w.sname {
		t.Errorf("sname = %q, want %q", got, w.sname)
	}
	if got := string(m.BootFile()); got != w.file {
		t.Errorf("file = %q, want %q", got, w.file)
	}
	if m.NoCookie || m.Overloaded != w.overloaded {
		t.Errorf("NoCookie = %v, Overloaded = %d; want false, %d", m.NoCookie, m.Overloaded, w.overloaded)
	}
	if m.Overloaded&1 != 0 && !isZero(m.File[:]) || m.Overloaded&2 != 0 && !isZero(m.SName[:]) {
		t.Errorf("overloaded fields not zeroed: file %q sname %q", m.File, m.SName)
	}

	// Options.
	if got := m.Options.Codes(nil); !slices.Equal(got, w.codes) {
		t.Errorf("option codes = %v, want %v", got, w.codes)
	}
	mt, ok := m.MessageType()
	if !ok || mt != w.msgType {
		t.Errorf("MessageType() = %v, %v; want %v, true", mt, ok, w.msgType)
	}
	checkBytesOpt(t, "ClientID", hexOrNil(t, w.clientID), m.ClientID)
	checkAddrOpt(t, "RequestedIP", w.requestedIP, m.RequestedIP)
	checkAddrOpt(t, "ServerID", w.serverID, m.ServerID)
	checkBytesOpt(t, "ParamRequestList", w.prl, m.ParamRequestList)
	if got, ok := m.MaxMessageSize(); got != w.maxSize || ok != (w.maxSize != 0) {
		t.Errorf("MaxMessageSize() = %d, %v; want %d", got, ok, w.maxSize)
	}
	checkBytesOpt(t, "VendorClass", strBytes(w.vendorClass), m.VendorClass)
	checkBytesOpt(t, "HostName", strBytes(w.hostName), m.HostName)
	uc, ok := m.UserClass()
	var gotUC []string
	for c := range uc.All() {
		gotUC = append(gotUC, string(c))
	}
	if ok != (w.userClass != nil) || !slices.Equal(gotUC, w.userClass) {
		t.Errorf("UserClass() = %q, %v; want %q", gotUC, ok, w.userClass)
	}
	gotArchs := slices.Collect(m.ClientArchs())
	if !slices.Equal(gotArchs, w.archs) {
		t.Errorf("ClientArchs() = %v, want %v", gotArchs, w.archs)
	}
	if a, ok := m.ClientArch(); ok != (w.archs != nil) || (ok && a != w.archs[0]) {
		t.Errorf("ClientArch() = %v, %v; want the first of %v", a, ok, w.archs)
	}
	if ndi, ok := m.ClientNDI(); ok != (w.ndi != nil) || (ok && ndi != *w.ndi) {
		t.Errorf("ClientNDI() = %+v, %v; want %+v", ndi, ok, w.ndi)
	}
	if u, ok := m.ClientUUID(); ok != (w.uuid != "") || (ok && FormatUUID(u) != w.uuid) {
		t.Errorf("ClientUUID() = %s, %v; want %q", FormatUUID(u), ok, w.uuid)
	}
	ri, ok := m.RelayAgentInfo()
	if ok != (w.circuitID != "" || w.remoteID != "") {
		t.Errorf("RelayAgentInfo() ok = %v, want circuit id %q remote id %q", ok, w.circuitID, w.remoteID)
	}
	checkBytesOpt(t, "relay CircuitID", strBytes(w.circuitID), ri.CircuitID)
	checkBytesOpt(t, "relay RemoteID", strBytes(w.remoteID), ri.RemoteID)
	checkDuration(t, "LeaseTime", w.leaseTime, m.LeaseTime)
	checkDuration(t, "renewal (58)", w.renewal, func() (time.Duration, bool) { return m.Options.Duration(OptRenewalTime) })
	checkDuration(t, "rebinding (59)", w.rebinding, func() (time.Duration, bool) { return m.Options.Duration(OptRebindingTime) })
	checkAddrOpt(t, "subnet mask", w.subnetMask, func() (netip.Addr, bool) { return m.Options.Addr(OptSubnetMask) })
	checkAddrsOpt(t, "routers", w.routers, m, OptRouter)
	checkAddrsOpt(t, "dns", w.dns, m, OptDNSServers)
	if got, ok := m.Options.String(OptDomainName); got != w.domainName || ok != (w.domainName != "") {
		t.Errorf("domain name = %q, %v; want %q", got, ok, w.domainName)
	}
	if got, ok := m.DomainSearch(); !slices.Equal(got, w.domainSearch) || ok != (w.domainSearch != nil) {
		t.Errorf("DomainSearch() = %q, %v; want %q", got, ok, w.domainSearch)
	}
	rs, ok := m.ClasslessRoutes()
	var gotRoutes []string
	for _, r := range rs {
		gotRoutes = append(gotRoutes, r.Dest.String()+" via "+r.Router.String())
	}
	if !slices.Equal(gotRoutes, w.routes) || ok != (w.routes != nil) {
		t.Errorf("ClasslessRoutes() = %q, %v; want %q", gotRoutes, ok, w.routes)
	}
	if got, ok := m.Options.String(OptMessage); got != w.message || ok != (w.message != "") {
		t.Errorf("message (56) = %q, %v; want %q", got, ok, w.message)
	}
	if w.ntp != nil {
		checkAddrsOpt(t, "ntp", w.ntp, m, OptNTPServers)
	}
	for code, want := range w.raw {
		if got, ok := m.Options.Get(code); !ok || string(got) != want {
			t.Errorf("option %d = %q, %v; want %q", code, got, ok, want)
		}
	}
}

func strBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func hexOrNil(t *testing.T, s string) []byte {
	t.Helper()
	if s == "" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q in test table", s)
	}
	return b
}

// checkBytesOpt checks an accessor against want; nil want means absent.
func checkBytesOpt(t *testing.T, name string, want []byte, get func() ([]byte, bool)) {
	t.Helper()
	got, ok := get()
	if ok != (want != nil) || !bytes.Equal(got, want) {
		t.Errorf("%s() = %q, %v; want %q, %v", name, got, ok, want, want != nil)
	}
}

func checkAddrOpt(t *testing.T, name, want string, get func() (netip.Addr, bool)) {
	t.Helper()
	got, ok := get()
	if want == "" {
		if ok {
			t.Errorf("%s() = %v, true; want absent", name, got)
		}
		return
	}
	if !ok || got != netip.MustParseAddr(want) {
		t.Errorf("%s() = %v, %v; want %s, true", name, got, ok, want)
	}
}

func checkAddrsOpt(t *testing.T, name string, want []string, m *Message, code uint8) {
	t.Helper()
	as, ok := m.Options.Addrs(code)
	var got []string
	for _, a := range as {
		got = append(got, a.String())
	}
	if ok != (want != nil) || !slices.Equal(got, want) {
		t.Errorf("%s = %q, %v; want %q", name, got, ok, want)
	}
}

func checkDuration(t *testing.T, name string, want time.Duration, get func() (time.Duration, bool)) {
	t.Helper()
	got, ok := get()
	if ok != (want != 0) || got != want {
		t.Errorf("%s = %v, %v; want %v", name, got, ok, want)
	}
}

// TestGoldenAll runs over every capture in the directory, named or not:
// it parses, validates, agrees with the header's tcpdump decoding, and
// survives a rebuild.
func TestGoldenAll(t *testing.T) {
	cs := allCaptures(t)
	if len(cs) == 0 {
		t.Fatalf("no captures in %s", capturesDir)
	}
	named := map[string]bool{}
	for _, tt := range goldenTests {
		named[tt.name] = true
	}
	for _, c := range cs {
		t.Run(c.name, func(t *testing.T) {
			if !named[c.name] {
				t.Logf("capture %s has no hand-written expectations in goldenTests", c.name)
			}
			var m Message
			if err := m.UnmarshalBinary(c.data); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if err := m.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			checkTcpdump(t, c, &m)

			// build(parse(b)) re-parses to an Equal message, keeping the
			// order but for 53 first and 82 last.
			want := expectedWire(&m, nil)
			for _, l := range []Layout{{MaxLen: 1500}, {MaxLen: MaxLen}} {
				out, err := m.AppendLayout(nil, &l)
				if err != nil || l.Omitted != 0 {
					t.Fatalf("AppendLayout(MaxLen %d): %v, omitted %d", l.MaxLen, err, l.Omitted)
				}
				var m2 Message
				if err := m2.UnmarshalBinary(out); err != nil {
					t.Fatalf("re-parse: %v", err)
				}
				if !m2.Equal(want) {
					t.Errorf("MaxLen %d: re-parsed message differs:\n got %s\nwant %s", l.MaxLen, dump(&m2), dump(want))
				}
				// Captures without padding quirks come out byte for byte.
				if len(c.data) >= MinLen && !bytes.Equal(out, c.data) && sameLayout(c.data) {
					t.Errorf("MaxLen %d: rebuilt bytes differ from the capture:\n got %x\nwant %x", l.MaxLen, out, c.data)
				}
			}

			// Laid out for the client's PRL within the smallest size: every
			// option that was not omitted keeps its value.
			var l Layout
			l.MaxLen = DefaultMaxLen
			l.Order, _ = m.ParamRequestList()
			out, err := m.AppendLayout(nil, &l)
			if err != nil {
				t.Fatalf("AppendLayout(548, PRL order): %v", err)
			}
			var m3 Message
			if err := m3.UnmarshalBinary(out); err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			checkSubset(t, &m, &m3, l.Omitted)
		})
	}
}

// sameLayout reports whether a capture is laid out the way AppendLayout lays
// it out (one instance per option, 53 first and 82 last, no padding inside
// the options, nothing after the end option but zeros), so rebuilding must
// give the same bytes.
func sameLayout(b []byte) bool {
	if len(b) < offOptions || [4]byte(b[offCookie:offOptions]) != magicCookie {
		return false
	}
	seen := map[uint8]bool{}
	for i := offOptions; i < len(b); {
		c := b[i]
		switch {
		case c == OptEnd:
			return isZero(b[i+1:])
		case c == OptPad || c == OptOverload || seen[OptRelayAgentInfo] || seen[c]:
			return false
		case c == OptMessageType && i != offOptions:
			return false
		case i+1 >= len(b):
			return false
		}
		seen[c] = true
		i += 2 + int(b[i+1])
	}
	return false
}

// checkSubset checks that every option of orig is in got with the same value,
// except for omitted ones, and that got has nothing else.
func checkSubset(t *testing.T, orig, got *Message, omitted int) {
	t.Helper()
	missing := 0
	for code, v := range orig.Options.All() {
		gv, ok := got.Options.Get(code)
		if !ok {
			missing++
			continue
		}
		if !bytes.Equal(gv, v) {
			t.Errorf("option %d = %x, want %x", code, gv, v)
		}
	}
	for code := range got.Options.All() {
		if !orig.Options.Has(code) {
			t.Errorf("option %d appeared from nowhere", code)
		}
	}
	if missing != omitted {
		t.Errorf("%d options missing, Layout.Omitted = %d", missing, omitted)
	}
	if orig.Options.Len() != got.Options.Len()+omitted {
		t.Errorf("original has %d options, re-parse %d + %d omitted", orig.Options.Len(), got.Options.Len(), omitted)
	}
}

// dump renders a message for failure messages.
func dump(m *Message) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "op=%v htype=%d hlen=%d hops=%d xid=%v secs=%d flags=%#x ci=%v yi=%v si=%v gi=%v chaddr=%x",
		m.Op, m.HType, m.HLen, m.Hops, m.XID, m.Secs, uint16(m.Flags), m.CIAddr, m.YIAddr, m.SIAddr, m.GIAddr, m.CHAddr)
	fmt.Fprintf(&sb, " sname=%q file=%q overloaded=%d nocookie=%v vendor=%x", cstring(m.SName[:]), cstring(m.File[:]), m.Overloaded, m.NoCookie, m.Vendor)
	for code, v := range m.Options.All() {
		fmt.Fprintf(&sb, " [%d:%x]", code, v)
	}
	return sb.String()
}

// The tcpdump -vvv decoding in a capture's header, read back.
var (
	reBootp    = regexp.MustCompile(`BOOTP/DHCP, (Request|Reply)(?: from ([0-9a-f:]+))?, length (\d+)(?:, htype (\d+))?(?:, hlen (\d+))?(?:, hops (\d+))?(?:, xid 0x([0-9a-f]+))?(?:, secs (\d+))?, Flags \[[^\]]*\] \(0x([0-9a-f]{4})\)`)
	reField    = regexp.MustCompile(`^ {8}(Client-IP|Your-IP|Server-IP|Gateway-IP|Client-Ethernet-Address) (\S+)$`)
	reNameFile = regexp.MustCompile(`^ {8}(sname|file) "(.*)"$`)
	reOption   = regexp.MustCompile(`^ {10}\S.* \((\d+)\), length (\d+)`)
	// tcpdump does not decode overloaded fields; capture.sh adds lines for them.
	reOverload = regexp.MustCompile(`^  in (file|sname): option (\d+), length (\d+): (.*)$`)
)

// checkTcpdump compares the parsed message with what tcpdump printed for it:
// the header fields and the option instances (code and length, in wire
// order; repeated instances add up to the concatenated value).
func checkTcpdump(t *testing.T, c capture, m *Message) {
	t.Helper()
	var (
		sawBootp bool
		fields   = map[string]string{}
		codes    []uint8
		lens     = map[uint8]int{}
		// options found in file and sname, in that order (RFC 3396)
		overCodes = map[string][]uint8{}
		overVals  = map[uint8][]byte{}
	)
	for _, h := range c.header {
		if sm := reBootp.FindStringSubmatch(h); sm != nil {
			sawBootp = true
			wantOp := map[string]OpCode{"Request": BootRequest, "Reply": BootReply}[sm[1]]
			if m.Op != wantOp {
				t.Errorf("tcpdump: %s, op = %v", sm[1], m.Op)
			}
			if sm[2] != "" && m.HardwareAddr().String() != sm[2] {
				t.Errorf("tcpdump: from %s, chaddr = %s", sm[2], m.HardwareAddr())
			}
			if n, _ := strconv.Atoi(sm[3]); n != len(c.data) {
				t.Errorf("tcpdump: length %d, capture has %d bytes", n, len(c.data))
			}
			wantHType, wantHLen := uint64(1), uint64(6)
			if sm[4] != "" {
				wantHType, _ = strconv.ParseUint(sm[4], 10, 8)
			}
			if sm[5] != "" {
				wantHLen, _ = strconv.ParseUint(sm[5], 10, 8)
			} else if sm[4] != "" {
				wantHLen = uint64(m.HLen) // tcpdump prints hlen whenever htype is not 1
			}
			if uint64(m.HType) != wantHType || uint64(m.HLen) != wantHLen {
				t.Errorf("tcpdump: htype %d hlen %d, parsed %d %d", wantHType, wantHLen, m.HType, m.HLen)
			}
			hops, _ := strconv.Atoi(orZero(sm[6]))
			xid, _ := strconv.ParseUint(orZero(sm[7]), 16, 32)
			secs, _ := strconv.Atoi(orZero(sm[8]))
			flags, _ := strconv.ParseUint(sm[9], 16, 16)
			if int(m.Hops) != hops || uint64(m.XID) != xid || int(m.Secs) != secs || uint64(m.Flags) != flags {
				t.Errorf("tcpdump: hops %d xid %#x secs %d flags %#04x; parsed %d %v %d %#04x",
					hops, xid, secs, flags, m.Hops, m.XID, m.Secs, uint16(m.Flags))
			}
			continue
		}
		if sm := reField.FindStringSubmatch(h); sm != nil {
			fields[sm[1]] = sm[2]
			continue
		}
		if sm := reNameFile.FindStringSubmatch(h); sm != nil {
			fields[sm[1]] = sm[2]
			continue
		}
		if sm := reOverload.FindStringSubmatch(h); sm != nil {
			code64, _ := strconv.ParseUint(sm[2], 10, 8)
			n, _ := strconv.Atoi(sm[3])
			v, err := strconv.Unquote(sm[4])
			if err != nil {
				b, err := hex.DecodeString(sm[4])
				if err != nil {
					t.Fatalf("capture.sh overload line %q: %v", h, err)
				}
				v = string(b)
			}
			if len(v) != n {
				t.Fatalf("capture.sh overload line %q: %d bytes, says %d", h, len(v), n)
			}
			code := uint8(code64)
			overCodes[sm[1]] = append(overCodes[sm[1]], code)
			overVals[code] = append(overVals[code], v...)
			continue
		}
		if sm := reOption.FindStringSubmatch(h); sm != nil {
			code64, _ := strconv.ParseUint(sm[1], 10, 8)
			n, _ := strconv.Atoi(sm[2])
			code := uint8(code64)
			if code == OptPad || code == OptEnd {
				continue
			}
			if _, ok := lens[code]; !ok {
				codes = append(codes, code)
			}
			lens[code] += n
		}
	}
	if !sawBootp {
		t.Fatalf("no tcpdump BOOTP/DHCP line in the header of %s", c.name)
	}
	for _, a := range []struct {
		name string
		got  netip.Addr
	}{{"Client-IP", m.CIAddr}, {"Your-IP", m.YIAddr}, {"Server-IP", m.SIAddr}, {"Gateway-IP", m.GIAddr}} {
		if want := addrOrZero(fields[a.name]); a.got != want {
			t.Errorf("tcpdump: %s %v, parsed %v", a.name, want, a.got)
		}
	}
	if hw, ok := fields["Client-Ethernet-Address"]; ok {
		if want, err := net.ParseMAC(hw); err != nil || !bytes.Equal(m.HardwareAddr(), want) {
			t.Errorf("tcpdump: Client-Ethernet-Address %s, parsed %s", hw, m.HardwareAddr())
		}
	}
	// With option 52, tcpdump shows file and sname as names; parsing reads
	// options from them, zeroes them and drops 52.
	if _, ok := lens[OptOverload]; ok {
		var ov uint8
		if len(overCodes["file"]) > 0 {
			ov |= 1
		}
		if len(overCodes["sname"]) > 0 {
			ov |= 2
		}
		if m.Overloaded&ov != ov {
			t.Errorf("capture.sh: options in file %v and sname %v, Overloaded = %d", overCodes["file"], overCodes["sname"], m.Overloaded)
		}
		if m.Overloaded&1 != 0 {
			delete(fields, "file")
		}
		if m.Overloaded&2 != 0 {
			delete(fields, "sname")
		}
		codes = slices.DeleteFunc(codes, func(c uint8) bool { return c == OptOverload })
		delete(lens, OptOverload)
		for _, area := range []string{"file", "sname"} {
			for _, c := range overCodes[area] {
				if _, ok := lens[c]; !ok {
					codes = append(codes, c)
				}
				lens[c] += 0
			}
		}
		for c, v := range overVals {
			// The options field part of a value, then file, then sname.
			got, _ := m.Options.Get(c)
			if !bytes.HasSuffix(got, v) || len(got) != lens[c]+len(v) {
				t.Errorf("option %d = %x, want %d bytes from the options field and %x from file/sname", c, got, lens[c], v)
			}
			lens[c] += len(v)
		}
	} else if len(overCodes) > 0 {
		t.Errorf("capture.sh shows options in file/sname, tcpdump no option 52")
	}
	if got := string(m.ServerName()); got != fields["sname"] {
		t.Errorf("tcpdump: sname %q, parsed %q", fields["sname"], got)
	}
	if got := string(m.BootFile()); got != fields["file"] {
		t.Errorf("tcpdump: file %q, parsed %q", fields["file"], got)
	}
	if got := m.Options.Codes(nil); !slices.Equal(got, codes) {
		t.Errorf("tcpdump: option codes %v, parsed %v", codes, got)
	}
	for code, n := range lens {
		if v, _ := m.Options.Get(code); len(v) != n {
			t.Errorf("tcpdump: option %d has %d bytes, parsed %d", code, n, len(v))
		}
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}
