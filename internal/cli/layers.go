package cli

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// The link, IPv4 and UDP layers are decoded by hand: decode needs only the
// way to the UDP payload of port 67/68, plus the reasons it cannot get
// there (fragment, snap length, bad UDP length), which gopacket's layer
// decoders report less precisely.

// Link types decode reads (LINKTYPE_ values of pcap and pcapng).
const (
	linkNull     = layers.LinkTypeNull     // BSD loopback: 4-byte family in the capturing host's order
	linkEthernet = layers.LinkTypeEthernet // Ethernet II, with 802.1Q/802.1ad tags
	linkRaw      = layers.LinkTypeRaw      // raw IP (101)
	linkRawDLT12 = layers.LinkType(12)     // raw IP as DLT_RAW on most systems
	linkRawDLT14 = layers.LinkType(14)     // raw IP as DLT_RAW on OpenBSD
	linkLoop     = layers.LinkTypeLoop     // OpenBSD loopback: 4-byte family, big-endian
	linkSLL      = layers.LinkTypeLinuxSLL // Linux cooked capture v1 (tcpdump -i any)
	linkIPv4     = layers.LinkTypeIPv4     // raw IPv4 (228)
	linkSLL2     = layers.LinkTypeLinuxSLL2
)

func linkSupported(t layers.LinkType) bool {
	switch t {
	case linkNull, linkEthernet, linkRaw, linkRawDLT12, linkRawDLT14, linkLoop, linkSLL, linkIPv4, linkSLL2:
		return true
	}
	return false
}

const (
	etherTypeIPv4   = 0x0800
	etherTypeVLAN   = 0x8100 // 802.1Q
	etherTypeQinQ   = 0x88a8 // 802.1ad
	etherTypeQinQv1 = 0x9100 // pre-standard stacked VLAN
	afINET          = 2      // AF_INET on every system that writes null/loop captures
	protoUDP        = 17
	portServer      = 67
	portClient      = 68

	// maxVLANTags bounds the tags read from one frame; real networks stack
	// two at most.
	maxVLANTags = 8
)

// frameKind classifies a frame once its layers are decoded.
type frameKind int

const (
	kindOther       frameKind = iota // not a UDP datagram of port 67 or 68: skipped
	kindMessage                      // payload holds the BOOTP/DHCP message to parse
	kindMalformed                    // a port 67/68 datagram with a broken UDP header
	kindUndecodable                  // a port 67/68 datagram decode cannot read (fragment, snap length)
)

// datagram is what decodeFrame found in a frame.
type datagram struct {
	kind     frameKind
	src, dst netip.AddrPort // valid once the UDP ports were read
	vlans    []uint16       // VLAN ids, outermost first
	payload  []byte         // kindMessage: the UDP payload
	reason   string         // kindMalformed, kindUndecodable: why
}

// decodeFrame finds the BOOTP/DHCP datagram in a frame of the given link
// type. truncated tells that the capture kept fewer bytes than the frame
// had (its snap length).
func decodeFrame(link layers.LinkType, b []byte, truncated bool) datagram {
	var d datagram
	var etype uint16
	switch link {
	case linkEthernet:
		if len(b) < 14 {
			return d
		}
		etype, b = binary.BigEndian.Uint16(b[12:]), b[14:]
	case linkSLL:
		if len(b) < 16 {
			return d
		}
		etype, b = binary.BigEndian.Uint16(b[14:]), b[16:]
	case linkSLL2:
		if len(b) < 20 {
			return d
		}
		etype, b = binary.BigEndian.Uint16(b[0:]), b[20:]
	case linkNull, linkLoop:
		if len(b) < 4 {
			return d
		}
		if binary.BigEndian.Uint32(b) == afINET || binary.LittleEndian.Uint32(b) == afINET {
			etype = etherTypeIPv4
		}
		b = b[4:]
	case linkRaw, linkRawDLT12, linkRawDLT14, linkIPv4:
		if len(b) > 0 && b[0]>>4 == 4 {
			etype = etherTypeIPv4
		}
	default:
		return d
	}
	for etype == etherTypeVLAN || etype == etherTypeQinQ || etype == etherTypeQinQv1 {
		if len(b) < 4 || len(d.vlans) == maxVLANTags {
			return datagram{}
		}
		d.vlans = append(d.vlans, binary.BigEndian.Uint16(b)&0x0fff)
		etype, b = binary.BigEndian.Uint16(b[2:]), b[4:]
	}
	if etype != etherTypeIPv4 {
		return datagram{}
	}
	decodeIPv4(&d, b, truncated)
	return d
}

// decodeIPv4 decodes an IPv4 packet carrying UDP into d.
func decodeIPv4(d *datagram, b []byte, truncated bool) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || len(b) < ihl || total < ihl || b[9] != protoUDP {
		return
	}
	frag := binary.BigEndian.Uint16(b[6:])
	offset, more := frag&0x1fff, frag&0x2000 != 0
	if offset != 0 {
		return // a later fragment: no UDP header to tell the ports
	}
	if len(b) > total {
		b = b[:total] // link-layer padding
	}
	src := netip.AddrFrom4([4]byte(b[12:16]))
	dst := netip.AddrFrom4([4]byte(b[16:20]))
	udp := b[ihl:]
	if len(udp) < 4 {
		return
	}
	sport, dport := binary.BigEndian.Uint16(udp), binary.BigEndian.Uint16(udp[2:])
	if !dhcpPort(sport) && !dhcpPort(dport) {
		return
	}
	d.src, d.dst = netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	if more {
		d.kind = kindUndecodable
		d.reason = fmt.Sprintf("IPv4 fragment (id 0x%04x, offset 0, more fragments follow); fragments are not reassembled",
			binary.BigEndian.Uint16(b[4:]))
		return
	}
	if len(udp) < 8 {
		if truncated {
			d.kind, d.reason = kindUndecodable, "frame cut short by the capture's snap length, inside the UDP header"
			return
		}
		d.kind, d.reason = kindMalformed, "UDP header truncated"
		return
	}
	ulen := int(binary.BigEndian.Uint16(udp[4:]))
	switch {
	case ulen < 8:
		d.kind, d.reason = kindMalformed, fmt.Sprintf("UDP length %d is shorter than the 8-byte UDP header", ulen)
	case ulen > len(udp) && truncated:
		d.kind = kindUndecodable
		d.reason = fmt.Sprintf("frame cut short by the capture's snap length: %d of the %d bytes of the UDP datagram captured", len(udp), ulen)
	case ulen > len(udp):
		d.kind, d.reason = kindMalformed, fmt.Sprintf("UDP length %d runs past the end of the IPv4 packet (%d bytes of UDP)", ulen, len(udp))
	default:
		d.kind, d.payload = kindMessage, udp[8:ulen]
	}
}

func dhcpPort(p uint16) bool { return p == portServer || p == portClient }

// ipv4HeaderValid reports whether b starts with an IPv4 header whose
// checksum is right and whose total length fits in b; the checksum is
// always computed in software, so it tells a real header from chance bytes.
func ipv4HeaderValid(b []byte) bool {
	if len(b) < 20 || b[0]>>4 != 4 {
		return false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if ihl < 20 || len(b) < ihl || total < ihl || total > len(b) {
		return false
	}
	var sum uint32
	for i := 0; i < ihl; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return sum == 0xffff
}

// guessLink finds how a hex dump starts: a raw IPv4 packet (tcpdump -x), an
// Ethernet frame (tcpdump -xx), a Linux cooked capture (tcpdump -i any -xx),
// or else the BOOTP message itself. payload is true in the last case.
func guessLink(b []byte) (link layers.LinkType, payload bool) {
	switch {
	case ipv4HeaderValid(b):
		return linkIPv4, false
	case len(b) >= 14 && ipv4HeaderValid(skipEthernet(b)):
		return linkEthernet, false
	case len(b) >= 16 && binary.BigEndian.Uint16(b[14:]) == etherTypeIPv4 && ipv4HeaderValid(b[16:]):
		return linkSLL, false
	case len(b) >= 20 && binary.BigEndian.Uint16(b) == etherTypeIPv4 && ipv4HeaderValid(b[20:]):
		return linkSLL2, false
	}
	return 0, true
}

// skipEthernet returns what follows the Ethernet header and VLAN tags of an
// IPv4 frame, or nil.
func skipEthernet(b []byte) []byte {
	etype, b := binary.BigEndian.Uint16(b[12:]), b[14:]
	for i := 0; i < maxVLANTags && (etype == etherTypeVLAN || etype == etherTypeQinQ || etype == etherTypeQinQv1); i++ {
		if len(b) < 4 {
			return nil
		}
		etype, b = binary.BigEndian.Uint16(b[2:]), b[4:]
	}
	if etype != etherTypeIPv4 {
		return nil
	}
	return b
}
