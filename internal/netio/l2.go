package netio

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Link-layer unicast (RFC 2131 section 4.1: yiaddr to chaddr for a client
// whose broadcast bit is clear) goes out on an AF_PACKET SOCK_DGRAM socket:
// the datagram carries a complete IPv4+UDP packet built here and the kernel
// prepends the link header, with the interface's own address as source and
// sockaddr_ll's address as destination. One socket serves every interface
// (the interface is named per sendto). Opened with protocol 0, the socket is
// never attached to a protocol, so it receives nothing: no BPF filter is
// needed and the process does not wake for traffic on the link.

const (
	ipv4HeaderLen = 20
	udpHeaderLen  = 8
	// frameTTL is the IP TTL of link-layer replies, the Linux default.
	frameTTL = 64
	// maxFrame bounds the IPv4 packet built for a link-layer reply. The
	// kernel refuses more than the interface MTU with EMSGSIZE; this only
	// keeps the IPv4 total-length field honest.
	maxFrame = 65535
)

type l2Sock struct {
	f    *os.File  // non-blocking, so the runtime poller serves it and Close is safe
	pool sync.Pool // *l2Scratch
}

// l2Scratch is the per-send state, pooled so a send allocates nothing (the
// sockaddr would escape to the heap through the unix.Sockaddr interface).
type l2Scratch struct {
	buf []byte
	sa  unix.SockaddrLinklayer
}

func openL2() (*l2Sock, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket for link-layer replies (needs CAP_NET_RAW; or set DisableL2): %w", err)
	}
	s := &l2Sock{f: os.NewFile(uintptr(fd), "netio-packet")}
	s.pool.New = func() any { return &l2Scratch{buf: make([]byte, 0, 1500)} }
	return s, nil
}

func (s *l2Sock) close() error { return s.f.Close() }

// sendL2 frames r and sends it to r.HWAddr on r.IfIndex.
func (c *Conn) sendL2(r *Reply) error {
	if c.l2 == nil {
		return ErrNoL2
	}
	if err := checkL2(r); err != nil {
		return err
	}
	src, dst := r.Src.Unmap(), r.Dst.Addr().Unmap()
	sc := c.l2.pool.Get().(*l2Scratch)
	defer c.l2.pool.Put(sc)
	sc.buf = appendIPv4UDP(sc.buf[:0], netip.AddrPortFrom(src, c.port), netip.AddrPortFrom(dst, r.Dst.Port()), r.Payload)
	sc.sa = unix.SockaddrLinklayer{
		Protocol: htons(unix.ETH_P_IP),
		Ifindex:  r.IfIndex,
		Halen:    uint8(len(r.HWAddr)),
	}
	copy(sc.sa.Addr[:], r.HWAddr)
	rc, err := c.l2.f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), sc.buf, 0, &sc.sa)
		return !errors.Is(serr, unix.EAGAIN)
	})
	return errors.Join(err, serr)
}

// checkL2 refuses link-layer replies that cannot be framed as asked.
func checkL2(r *Reply) error {
	src, dst := r.Src.Unmap(), r.Dst.Addr().Unmap()
	switch {
	case r.IfIndex <= 0:
		return ErrNoInterface
	case !src.Is4() || src.IsUnspecified():
		return fmt.Errorf("source %v: %w", r.Src, ErrNoSource)
	case !dst.Is4() || r.Dst.Port() == 0:
		return fmt.Errorf("destination %v: %w", r.Dst, ErrBadReply)
	case len(r.Payload) == 0 || len(r.Payload) > maxFrame-ipv4HeaderLen-udpHeaderLen:
		return fmt.Errorf("payload of %d bytes: %w", len(r.Payload), ErrBadReply)
	case len(r.HWAddr) > 8: // sockaddr_ll.sll_addr
		return fmt.Errorf("hardware address %v longer than 8 bytes: %w", r.HWAddr, ErrBadReply)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// appendIPv4UDP appends an IPv4 header, a UDP header and payload, with both
// checksums, to b. The addresses must be IPv4; the payload must fit.
func appendIPv4UDP(b []byte, src, dst netip.AddrPort, payload []byte) []byte {
	total := ipv4HeaderLen + udpHeaderLen + len(payload)
	s, d := src.Addr().As4(), dst.Addr().As4()
	off := len(b)
	b = append(b,
		0x45, 0, // version 4, IHL 5; DSCP/ECN 0
		byte(total>>8), byte(total),
		0, 0, // identification: 0 with DF set (RFC 6864)
		0x40, 0, // flags: DF; fragment offset 0
		frameTTL, unix.IPPROTO_UDP,
		0, 0, // header checksum, below
	)
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	ip := b[off:]
	binary.BigEndian.PutUint16(ip[10:], ^fold(sum(0, ip[:ipv4HeaderLen])))

	uoff := len(b)
	ulen := udpHeaderLen + len(payload)
	b = binary.BigEndian.AppendUint16(b, src.Port())
	b = binary.BigEndian.AppendUint16(b, dst.Port())
	b = binary.BigEndian.AppendUint16(b, uint16(ulen))
	b = append(b, 0, 0) // checksum, below
	b = append(b, payload...)

	// UDP checksum over the pseudo-header (src, dst, zero, protocol, length),
	// the UDP header and the payload. A computed 0 is sent as 0xffff
	// (RFC 768), since 0 means "no checksum".
	acc := sum(0, s[:])
	acc = sum(acc, d[:])
	acc += unix.IPPROTO_UDP + uint32(ulen)
	acc = sum(acc, b[uoff:])
	cs := ^fold(acc)
	if cs == 0 {
		cs = 0xffff
	}
	binary.BigEndian.PutUint16(b[uoff+6:], cs)
	return b
}

// sum adds b as big-endian 16-bit words (odd length padded with zero) to acc,
// the one's-complement running sum of RFC 1071, without folding. It is
// called with at most 64 KiB, so a uint32 accumulator cannot overflow when
// folded at the end: 32768 words of at most 0xffff each.
func sum(acc uint32, b []byte) uint32 {
	for len(b) >= 2 {
		acc += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint32(b[0]) << 8
	}
	return acc
}

// fold reduces a running sum to 16 bits with end-around carry.
func fold(acc uint32) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}
