package rarp

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The RARP packet (RFC 903) is an ARP packet (RFC 826) with its own
// ethertype and opcodes. Only Ethernet hardware addresses and IPv4 protocol
// addresses are served, so every field has a fixed size and offset:
//
//	0  htype (1, Ethernet)     2  ptype (0x0800, IPv4)
//	4  hlen (6)  5  plen (4)   6  opcode (3 request, 4 reply)
//	8  sender hardware address (SHA, 6 bytes)
//	14 sender protocol address (SPA, 4 bytes)
//	18 target hardware address (THA, 6 bytes)
//	24 target protocol address (TPA, 4 bytes)
const (
	htypeEthernet = 1
	ptypeIPv4     = 0x0800
	hlenEthernet  = 6
	plenIPv4      = 4

	opRequestReverse = 3
	opReplyReverse   = 4

	// packetLen is the length of a RARP packet for Ethernet and IPv4.
	// Longer input is accepted and the rest ignored: on Ethernet the frame
	// is padded to 46 bytes of payload, and the padding reaches the socket.
	packetLen = 28
)

// Errors returned by parse, wrapped with the offending value.
var (
	errShort  = errors.New("shorter than 28 bytes")
	errFormat = errors.New("not Ethernet/IPv4")
	errOpcode = errors.New("not a reverse request (3) or reply (4)")
)

// packet is a RARP packet for Ethernet and IPv4; the fixed fields (htype,
// ptype, hlen, plen) are implied.
type packet struct {
	op       uint16
	sha, tha [6]byte
	spa, tpa [4]byte
}

// parse decodes the first packetLen bytes of b. It checks the fixed fields
// and the opcode (3 or 4) and nothing else.
func parse(b []byte) (packet, error) {
	if len(b) < packetLen {
		return packet{}, fmt.Errorf("rarp packet of %d bytes: %w", len(b), errShort)
	}
	htype := binary.BigEndian.Uint16(b[0:])
	ptype := binary.BigEndian.Uint16(b[2:])
	if htype != htypeEthernet || ptype != ptypeIPv4 || b[4] != hlenEthernet || b[5] != plenIPv4 {
		return packet{}, fmt.Errorf("rarp packet with htype %d, ptype %#04x, hlen %d, plen %d: %w",
			htype, ptype, b[4], b[5], errFormat)
	}
	p := packet{op: binary.BigEndian.Uint16(b[6:])}
	if p.op != opRequestReverse && p.op != opReplyReverse {
		return packet{}, fmt.Errorf("rarp opcode %d at offset 6: %w", p.op, errOpcode)
	}
	copy(p.sha[:], b[8:14])
	copy(p.spa[:], b[14:18])
	copy(p.tha[:], b[18:24])
	copy(p.tpa[:], b[24:28])
	return p, nil
}

// append appends p in wire form, packetLen bytes, to b.
func (p packet) append(b []byte) []byte {
	b = append(b,
		0, htypeEthernet,
		ptypeIPv4>>8, ptypeIPv4&0xff,
		hlenEthernet, plenIPv4,
		byte(p.op>>8), byte(p.op),
	)
	b = append(b, p.sha[:]...)
	b = append(b, p.spa[:]...)
	b = append(b, p.tha[:]...)
	return append(b, p.tpa[:]...)
}
