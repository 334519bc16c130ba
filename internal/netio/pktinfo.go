package netio

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/sys/unix"
)

// IP_PKTINFO control messages are encoded and decoded by hand: the generic
// helpers in x/net and x/sys allocate per message, and the layout is fixed:
// a cmsghdr (length as a C size_t, level int32, type int32) followed by
// struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst; in_addr ipi_addr; }.

// pktinfoSpace is the room one IP_PKTINFO control message takes.
var pktinfoSpace = unix.CmsgSpace(unix.SizeofInet4Pktinfo)

// pktinfo is what a received IP_PKTINFO message says.
type pktinfo struct {
	ifIndex int
	local   netip.Addr // ipi_spec_dst
	dst     netip.Addr // ipi_addr
}

// cmsgLen reads the cmsg_len field (a size_t) at the start of b.
func cmsgLen(b []byte) int {
	if unix.SizeofCmsghdr == 16 {
		return int(binary.NativeEndian.Uint64(b))
	}
	return int(binary.NativeEndian.Uint32(b))
}

func putCmsgHdr(b []byte, length, level, typ int) {
	w := unix.SizeofCmsghdr - 8 // width of cmsg_len
	if w == 8 {
		binary.NativeEndian.PutUint64(b, uint64(length))
	} else {
		binary.NativeEndian.PutUint32(b, uint32(length))
	}
	binary.NativeEndian.PutUint32(b[w:], uint32(int32(level)))
	binary.NativeEndian.PutUint32(b[w+4:], uint32(int32(typ)))
}

// parsePktinfo finds the IP_PKTINFO message in oob. Lengths are checked
// against oob, so malformed input gives false, never a panic.
func parsePktinfo(oob []byte) (pktinfo, bool) {
	h := unix.SizeofCmsghdr
	for len(oob) >= h {
		l := cmsgLen(oob)
		if l < h || l > len(oob) {
			return pktinfo{}, false
		}
		w := h - 8
		level := int32(binary.NativeEndian.Uint32(oob[w:]))
		typ := int32(binary.NativeEndian.Uint32(oob[w+4:]))
		if level == unix.IPPROTO_IP && typ == unix.IP_PKTINFO && l-h >= unix.SizeofInet4Pktinfo {
			d := oob[h:l]
			return pktinfo{
				ifIndex: int(int32(binary.NativeEndian.Uint32(d))),
				local:   netip.AddrFrom4([4]byte(d[4:8])),
				dst:     netip.AddrFrom4([4]byte(d[8:12])),
			}, true
		}
		next := unix.CmsgSpace(l - h)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return pktinfo{}, false
}

// appendPktinfo appends an IP_PKTINFO message asking to send on ifIndex
// (0: routing decides) from src (invalid: the kernel chooses).
func appendPktinfo(b []byte, ifIndex int, src netip.Addr) []byte {
	off := len(b)
	b = append(b, make([]byte, pktinfoSpace)...)
	m := b[off:]
	putCmsgHdr(m, unix.CmsgLen(unix.SizeofInet4Pktinfo), unix.IPPROTO_IP, unix.IP_PKTINFO)
	d := m[unix.SizeofCmsghdr:]
	binary.NativeEndian.PutUint32(d, uint32(int32(ifIndex)))
	if src.IsValid() {
		a := src.Unmap().As4()
		copy(d[4:8], a[:])
	}
	return b
}
