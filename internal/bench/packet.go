package bench

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"

	"bootd/internal/dhcpv4"
)

// Offsets in the BOOTP header (RFC 951).
const (
	offHops   = 3
	offXID    = 4
	offFlags  = 10
	offCIAddr = 12
	offYIAddr = 16
	offGIAddr = 24
	offCHAddr = 28
	// offOptions is where options start, after the magic cookie.
	offOptions = 240
)

// maxMessageSize is option 57 of every request: a full Ethernet frame.
const maxMessageSize = 1500

// paramRequestList is option 55 of every request but RELEASE.
var paramRequestList = []byte{
	dhcpv4.OptSubnetMask, dhcpv4.OptRouter, dhcpv4.OptDNSServers,
	dhcpv4.OptDomainName, dhcpv4.OptLeaseTime, dhcpv4.OptServerID,
}

// clientMAC returns the hardware address of client i: locally administered
// (02), then bb, the seed, and the client number in three bytes.
func clientMAC(seed uint8, i int) [6]byte {
	return [6]byte{0x02, 0xbb, seed, byte(i >> 16), byte(i >> 8), byte(i)}
}

// xidCodec puts the client number in the low bits of an xid and an
// exchange counter in the high bits. A client's next exchange adds step to
// its xid, which keeps the low bits.
type xidCodec struct {
	bits uint   // bits of the client number
	mask uint32 // of the client number
}

func newXIDCodec(clients int) xidCodec {
	n := max(bits.Len(uint(clients-1)), 1)
	return xidCodec{bits: uint(n), mask: 1<<n - 1}
}

func (x xidCodec) encode(client int, gen uint32) uint32 { return gen<<x.bits | uint32(client) }
func (x xidCodec) client(xid uint32) int                { return int(xid & x.mask) }
func (x xidCodec) gen(xid uint32) uint32                { return xid >> x.bits }
func (x xidCodec) step() uint32                         { return 1 << x.bits }

// template is a prebuilt request: encode copies it and patches the fields
// that vary per client and exchange.
type template struct {
	b         []byte
	offReqIP  int // value of option 50, or 0 when absent
	offSID    int // value of option 54, or 0
	offHost   int // value of option 12, or 0
	hasCIAddr bool
}

// requestKind is the kind of request a template builds.
type requestKind uint8

const (
	reqDiscover requestKind = iota
	reqSelect               // REQUEST in SELECTING state: options 50 and 54
	reqRenew                // REQUEST with ciaddr
	reqRelease
	reqInform
	numRequestKinds
)

// hostLen is the length of the host names of option 12: bench-SSxxxxxx.
const hostPrefix, hostLen = "bench-", len("bench-") + 8

// buildTemplate builds the template of a request of kind rk. Relay
// templates carry giaddr and hops 1; on-link ones the broadcast flag.
func buildTemplate(rk requestKind, mode Mode, giaddr netip.Addr, hostname bool) (template, error) {
	var m dhcpv4.Message
	m.Reset()
	m.Op = dhcpv4.BootRequest
	m.SetHardwareAddr(dhcpv4.HTypeEthernet, make([]byte, 6))
	if mode == Relay {
		m.Hops = 1
		m.GIAddr = giaddr
	} else {
		m.Flags = dhcpv4.FlagBroadcast
	}
	zero := netip.AddrFrom4([4]byte{})
	var mt dhcpv4.MessageType
	switch rk {
	case reqDiscover:
		mt = dhcpv4.Discover
	case reqSelect:
		mt = dhcpv4.Request
	case reqRenew:
		mt = dhcpv4.Request
	case reqRelease:
		mt = dhcpv4.Release
	case reqInform:
		mt = dhcpv4.Inform
	default:
		return template{}, fmt.Errorf("unknown request kind %d", rk)
	}
	m.SetMessageType(mt)
	if rk == reqSelect {
		m.Options.SetAddr(dhcpv4.OptRequestedIP, zero)
	}
	if rk == reqSelect || rk == reqRelease {
		m.Options.SetAddr(dhcpv4.OptServerID, zero)
	}
	if rk != reqRelease {
		m.Options.Set(dhcpv4.OptParamRequestList, paramRequestList)
		m.Options.SetUint16(dhcpv4.OptMaxMessageSize, maxMessageSize)
		if hostname {
			m.Options.SetString(dhcpv4.OptHostName, hostPrefix+"00000000")
		}
	}
	b, err := m.AppendBinary(nil)
	if err != nil {
		return template{}, fmt.Errorf("building the %v template: %w", mt, err)
	}
	t := template{b: b, hasCIAddr: rk == reqRenew || rk == reqRelease || rk == reqInform}
	t.offReqIP = optionOffset(b, dhcpv4.OptRequestedIP)
	t.offSID = optionOffset(b, dhcpv4.OptServerID)
	t.offHost = optionOffset(b, dhcpv4.OptHostName)
	return t, nil
}

// optionOffset returns the offset of the value of the first option code in
// the options field of b, or 0 when there is none.
func optionOffset(b []byte, code uint8) int {
	for off := offOptions; off < len(b); {
		switch b[off] {
		case dhcpv4.OptPad:
			off++
			continue
		case dhcpv4.OptEnd:
			return 0
		}
		if off+1 >= len(b) {
			return 0
		}
		n := int(b[off+1])
		if b[off] == code && off+2+n <= len(b) {
			return off + 2
		}
		off += 2 + n
	}
	return 0
}

// encode writes the request of client client with xid into dst (reusing
// its storage) and returns it. ciaddr, reqIP and sid go where the template
// has them. It does not allocate when cap(dst) >= len(t.b).
func (t *template) encode(dst []byte, mac [6]byte, xid uint32, ciaddr, reqIP, sid [4]byte) []byte {
	b := append(dst[:0], t.b...)
	binary.BigEndian.PutUint32(b[offXID:], xid)
	copy(b[offCHAddr:offCHAddr+6], mac[:])
	if t.hasCIAddr {
		copy(b[offCIAddr:offCIAddr+4], ciaddr[:])
	}
	if t.offReqIP != 0 {
		copy(b[t.offReqIP:t.offReqIP+4], reqIP[:])
	}
	if t.offSID != 0 {
		copy(b[t.offSID:t.offSID+4], sid[:])
	}
	if t.offHost != 0 {
		h := b[t.offHost+len(hostPrefix) : t.offHost+hostLen]
		const hex = "0123456789abcdef"
		for i, v := range mac[2:] {
			h[2*i], h[2*i+1] = hex[v>>4], hex[v&15]
		}
	}
	return b
}

// reply is what the generator reads of a server's reply.
type reply struct {
	xid    uint32
	mac    [6]byte
	mt     dhcpv4.MessageType
	yiaddr [4]byte
	sid    [4]byte
	hasSID bool
}

// parseReply parses a BOOTREPLY from b with m as scratch. ok is false for
// anything that is not a DHCP reply with a 6-byte hardware address.
func parseReply(m *dhcpv4.Message, b []byte) (r reply, ok bool) {
	if m.UnmarshalBinary(b) != nil || m.Op != dhcpv4.BootReply || m.HLen != 6 {
		return reply{}, false
	}
	mt, ok := m.MessageType()
	if !ok {
		return reply{}, false
	}
	r = reply{xid: uint32(m.XID), mt: mt, mac: [6]byte(m.CHAddr[:6])}
	if m.YIAddr.Is4() {
		r.yiaddr = m.YIAddr.As4()
	}
	if sid, ok := m.ServerID(); ok && sid.Is4() {
		r.sid, r.hasSID = sid.As4(), true
	}
	return r, true
}
