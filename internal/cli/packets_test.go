package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"bootd/internal/dhcpv4"
)

// Helpers shared by the tests: running the command line, and building
// BOOTP messages, their UDP/IPv4/link layers and capture files.

// runCLI runs the command line with stdin and returns the exit code and
// what was written to stdout and stderr.
func runCLI(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut strings.Builder
	code = Run(context.Background(), args, bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

var (
	testMAC    = []byte{0x02, 0x00, 0x5e, 0x10, 0x00, 0x01}
	clientPort = netip.MustParseAddrPort("0.0.0.0:68")
	bcastPort  = netip.MustParseAddrPort("255.255.255.255:67")
	serverPort = netip.MustParseAddrPort("198.51.100.1:67")
	relayPort  = netip.MustParseAddrPort("198.51.100.9:67")
	testTime   = time.Date(2026, 11, 23, 3, 27, 44, 767948123, time.UTC)
)

func addrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// dhcpMessage builds a BOOTREQUEST of the given type from testMAC; edit
// changes it before it is written.
func dhcpMessage(t *testing.T, typ dhcpv4.MessageType, edit func(m *dhcpv4.Message)) []byte {
	t.Helper()
	var m dhcpv4.Message
	m.Op = dhcpv4.BootRequest
	m.XID = 0x1a2b3c4d
	m.SetHardwareAddr(dhcpv4.HTypeEthernet, testMAC)
	m.SetMessageType(typ)
	if edit != nil {
		edit(&m)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	return b
}

// udpIPv4 wraps payload in UDP and IPv4 headers (checksummed IPv4 header,
// UDP checksum 0). ipID and frag set the identification and the
// flags/fragment offset field.
func udpIPv4(src, dst netip.AddrPort, payload []byte) []byte {
	return udpIPv4Frag(src, dst, payload, 0, 0)
}

func udpIPv4Frag(src, dst netip.AddrPort, payload []byte, ipID, frag uint16) []byte {
	udpLen := 8 + len(payload)
	b := make([]byte, 20, 20+udpLen)
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:], uint16(20+udpLen))
	binary.BigEndian.PutUint16(b[4:], ipID)
	binary.BigEndian.PutUint16(b[6:], frag)
	b[8] = 64
	b[9] = protoUDP
	s, d := src.Addr().As4(), dst.Addr().As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[10:], ^uint16(sum))
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = append(b, 0, 0)
	return append(b, payload...)
}

// ethernet wraps an IPv4 packet in an Ethernet header, with VLAN tags
// (802.1ad outer, 802.1Q inner) when vlans are given.
func ethernet(ip []byte, vlans ...uint16) []byte {
	b := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, testMAC...)
	for i, v := range vlans {
		tpid := uint16(etherTypeVLAN)
		if i == 0 && len(vlans) > 1 {
			tpid = etherTypeQinQ
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, v)
	}
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv4)
	return append(b, ip...)
}

// sll wraps an IPv4 packet in a Linux cooked v1 header (outgoing packet).
func sll(ip []byte) []byte {
	b := []byte{0, 4, 0, 1, 0, 6}
	b = append(b, testMAC...)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint16(b, etherTypeIPv4)
	return append(b, ip...)
}

// sll2 wraps an IPv4 packet in a Linux cooked v2 header.
func sll2(ip []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, etherTypeIPv4)
	b = append(b, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6)
	b = append(b, testMAC...)
	b = append(b, 0, 0)
	return append(b, ip...)
}

// packet is one frame for writePCAP; origLen > len(data) marks a frame cut
// by the snap length.
type packet struct {
	data    []byte
	origLen int
}

func writePCAP(t *testing.T, link layers.LinkType, pkts ...packet) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65536, link); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		ci := gopacket.CaptureInfo{
			Timestamp:     testTime.Add(time.Duration(i) * time.Second),
			CaptureLength: len(p.data),
			Length:        max(p.origLen, len(p.data)),
		}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func frames(data ...[]byte) []packet {
	var ps []packet
	for _, d := range data {
		ps = append(ps, packet{data: d})
	}
	return ps
}
