package dhcpv4

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Sizes and limits of the wire format.
const (
	// HeaderLen is the fixed BOOTP header: op through file (RFC 951).
	HeaderLen = 236
	// MinLen is the smallest BOOTP message (RFC 951: 236-byte header + 64-byte vendor area).
	// Built messages are padded to it because many BOOTP clients and relays drop
	// shorter replies (RFC 1542 section 3.5).
	MinLen = 300
	// DefaultMaxLen is the largest message every client must accept: a 576-byte
	// IP datagram minus 28 bytes of IP and UDP headers (RFC 2131 section 2).
	DefaultMaxLen = 576 - 28
	// MaxLen is the largest UDP payload in an IPv4 datagram; offsets into a
	// message are kept in 32 bits but nothing larger can arrive.
	MaxLen = 65535 - 28
	// MaxOptionInstances bounds the option instances read from one message,
	// and so the scratch space a hostile packet can make a worker grow. Real
	// messages hold a few dozen; even a MaxLen message of 255-byte values
	// needs only 255. Only a packet made of empty options reaches the bound.
	MaxOptionInstances = 1024

	offCookie  = 236
	offOptions = 240
	offSName   = 44
	offFile    = 108
	lenSName   = 64
	lenFile    = 128
)

// MagicCookie starts the options area of DHCP and RFC 1497 BOOTP messages.
var magicCookie = [4]byte{99, 130, 83, 99}

// OpCode is the BOOTP message op.
type OpCode uint8

// BOOTP op codes (RFC 951).
const (
	BootRequest OpCode = 1
	BootReply   OpCode = 2
)

func (o OpCode) String() string {
	switch o {
	case BootRequest:
		return "BOOTREQUEST"
	case BootReply:
		return "BOOTREPLY"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// XID is the transaction ID chosen by the client.
type XID uint32

func (x XID) String() string { return fmt.Sprintf("0x%08x", uint32(x)) }

// Flags is the BOOTP flags field; only the broadcast bit is defined (RFC 1542).
type Flags uint16

// FlagBroadcast asks the server to broadcast its reply.
const FlagBroadcast Flags = 0x8000

// Broadcast reports whether the broadcast bit is set.
func (f Flags) Broadcast() bool { return f&FlagBroadcast != 0 }

// HTypeEthernet is the hardware type of Ethernet (RFC 1700).
const HTypeEthernet = 1

// Message is a BOOTP or DHCPv4 message.
//
// A Message is meant to be reused: UnmarshalBinary overwrites every field and
// reuses the storage of the previous message, so a worker that keeps one
// Message parses without allocating. The zero value is an empty message.
type Message struct {
	Op     OpCode
	HType  uint8
	HLen   uint8
	Hops   uint8
	XID    XID
	Secs   uint16
	Flags  Flags
	CIAddr netip.Addr // always IPv4 after parsing (0.0.0.0 when unset)
	YIAddr netip.Addr
	SIAddr netip.Addr
	GIAddr netip.Addr
	CHAddr [16]byte // the first HLen bytes are the hardware address
	SName  [64]byte // server host name, NUL-terminated, unless overloaded
	File   [128]byte

	// Options holds the options. After parsing, options that arrived in file
	// or sname (option 52 overload) are merged in, option 52 itself is removed,
	// and the overloaded fields are zeroed; Overloaded tells which they were.
	Options Options

	// Overloaded is set by parsing to the value of option 52 (1: file, 2: sname,
	// 3: both) or 0. It is informational: building decides overload afresh.
	Overloaded uint8

	// NoCookie is set when the vendor area did not start with the magic cookie:
	// a plain RFC 951 BOOTP message. Its vendor area is then kept in Vendor
	// and Options is empty. When building, NoCookie writes Vendor instead of
	// options.
	NoCookie bool
	Vendor   []byte

	// scratch for parsing: option instances before concatenation.
	raw []rawOpt
}

type rawOpt struct {
	code uint8
	off  uint32 // offset of the value in the message
	n    uint32
}

// Reset clears the message, keeping its storage. The addresses become
// 0.0.0.0, as parsing an empty field gives; in a zero Message they are the
// invalid netip.Addr, which is written as 0.0.0.0 too.
func (m *Message) Reset() {
	// Field by field: assigning a fresh Message would copy Options (and its
	// 512-byte index) out and back, which showed in profiles of building.
	m.Op, m.HType, m.HLen, m.Hops = 0, 0, 0, 0
	m.XID, m.Secs, m.Flags = 0, 0, 0
	m.CIAddr, m.YIAddr, m.SIAddr, m.GIAddr = unspecified, unspecified, unspecified, unspecified
	m.CHAddr = [16]byte{}
	m.SName = [64]byte{}
	m.File = [128]byte{}
	m.Options.Reset()
	m.Overloaded = 0
	m.NoCookie = false
	m.Vendor = m.Vendor[:0]
	m.raw = m.raw[:0]
}

var unspecified = netip.AddrFrom4([4]byte{})

// HWAddr is a hardware address. (The codec does not use net.HardwareAddr:
// importing package net would pull the socket code into everything that
// parses a message.)
type HWAddr []byte

// String renders the address as colon-separated hex.
func (h HWAddr) String() string { return HexString(h) }

// MarshalText renders the address as String does (for logs and JSON).
func (h HWAddr) MarshalText() ([]byte, error) { return []byte(HexString(h)), nil }

// HardwareAddr returns chaddr truncated to hlen (allocates).
func (m *Message) HardwareAddr() HWAddr {
	n := min(int(m.HLen), len(m.CHAddr))
	return HWAddr(bytes.Clone(m.CHAddr[:n]))
}

// SetHardwareAddr sets htype, hlen and chaddr.
func (m *Message) SetHardwareAddr(htype uint8, hw []byte) {
	m.HType = htype
	n := copy(m.CHAddr[:], hw)
	clear(m.CHAddr[n:])
	m.HLen = uint8(n)
}

// ServerName returns sname up to its first NUL (aliases the message).
func (m *Message) ServerName() []byte { return cstring(m.SName[:]) }

// BootFile returns file up to its first NUL (aliases the message).
func (m *Message) BootFile() []byte { return cstring(m.File[:]) }

// SetServerName sets sname; it reports false if name does not fit with its NUL.
func (m *Message) SetServerName(name string) bool { return setCString(m.SName[:], name) }

// SetBootFile sets file; it reports false if name does not fit with its NUL.
func (m *Message) SetBootFile(name string) bool { return setCString(m.File[:], name) }

func cstring(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

func setCString(dst []byte, s string) bool {
	if len(s) >= len(dst) {
		return false
	}
	n := copy(dst, s)
	clear(dst[n:])
	return true
}

// UnmarshalBinary parses a BOOTP or DHCPv4 message from b (the UDP payload).
// It copies what it keeps, so b may be reused afterwards. On error the message
// holds whatever was parsed before the problem and must not be trusted.
// Errors are *ParseError wrapping one of the sentinel errors of this package.
func (m *Message) UnmarshalBinary(b []byte) error {
	m.Reset()
	if len(b) < HeaderLen {
		return &ParseError{Area: "header", Offset: len(b), Code: -1, Err: ErrShort}
	}
	if len(b) > MaxLen {
		return &ParseError{Area: "header", Offset: MaxLen, Code: -1, Err: ErrTooLong}
	}
	m.Op = OpCode(b[0])
	if m.Op != BootRequest && m.Op != BootReply {
		return &ParseError{Area: "header", Offset: 0, Code: -1, Err: ErrBadOp}
	}
	m.HType = b[1]
	m.HLen = b[2]
	if m.HLen > 16 {
		return &ParseError{Area: "header", Offset: 2, Code: -1, Err: ErrBadHLen}
	}
	m.Hops = b[3]
	m.XID = XID(binary.BigEndian.Uint32(b[4:8]))
	m.Secs = binary.BigEndian.Uint16(b[8:10])
	m.Flags = Flags(binary.BigEndian.Uint16(b[10:12]))
	m.CIAddr = netip.AddrFrom4([4]byte(b[12:16]))
	m.YIAddr = netip.AddrFrom4([4]byte(b[16:20]))
	m.SIAddr = netip.AddrFrom4([4]byte(b[20:24]))
	m.GIAddr = netip.AddrFrom4([4]byte(b[24:28]))
	copy(m.CHAddr[:], b[28:44])
	copy(m.SName[:], b[offSName:offSName+lenSName])
	copy(m.File[:], b[offFile:offFile+lenFile])

	if len(b) < offOptions || [4]byte(b[offCookie:offOptions]) != magicCookie {
		m.NoCookie = true
		m.Vendor = append(m.Vendor, b[HeaderLen:]...)
		return nil
	}

	// Options field first, then file, then sname (RFC 2131 section 4.1, RFC 3396 section 5).
	if err := m.scan(b, offOptions, len(b), AreaOptions, true); err != nil {
		return err
	}
	if ov, ok := m.overloadValue(b); ok {
		if ov < 1 || ov > 3 {
			return &ParseError{Area: AreaOptions, Offset: m.rawOffset(OptOverload), Code: int(OptOverload), Err: ErrBadOverload}
		}
		m.Overloaded = ov
		if ov&1 != 0 {
			if err := m.scan(b, offFile, offFile+lenFile, AreaFile, false); err != nil {
				return err
			}
			clear(m.File[:])
		}
		if ov&2 != 0 {
			if err := m.scan(b, offSName, offSName+lenSName, AreaSName, false); err != nil {
				return err
			}
			clear(m.SName[:])
		}
	} else if off := m.rawOffset(OptOverload); off >= 0 {
		return &ParseError{Area: AreaOptions, Offset: off, Code: int(OptOverload), Err: ErrBadOverload}
	}

	// Concatenate instances by code, in order of first appearance (RFC 3396).
	o := &m.Options
	for i, r := range m.raw {
		if r.code == OptOverload || o.index[r.code] != 0 {
			continue
		}
		start := len(o.buf)
		o.buf = append(o.buf, b[r.off:r.off+r.n]...)
		for _, r2 := range m.raw[i+1:] {
			if r2.code == r.code {
				o.buf = append(o.buf, b[r2.off:r2.off+r2.n]...)
			}
		}
		o.commit(r.code, start)
	}
	return nil
}

// scan records the option instances in b[off:limit]. In the options field
// (needEnd) an end option is required; in overloaded fields the options may
// also run to the end of the field.
func (m *Message) scan(b []byte, off, limit int, area string, needEnd bool) error {
	for off < limit {
		code := b[off]
		switch code {
		case OptPad:
			off++
			continue
		case OptEnd:
			return nil
		}
		if off+1 >= limit {
			return &ParseError{Area: area, Offset: off, Code: int(code), Err: ErrOptionTruncated}
		}
		n := int(b[off+1])
		if off+2+n > limit {
			return &ParseError{Area: area, Offset: off, Code: int(code), Err: ErrOptionTruncated}
		}
		if code == OptOverload && area != AreaOptions {
			return &ParseError{Area: area, Offset: off, Code: int(code), Err: ErrOverloadLoop}
		}
		if len(m.raw) >= MaxOptionInstances {
			return &ParseError{Area: area, Offset: off, Code: int(code), Err: ErrTooManyOptions}
		}
		m.raw = append(m.raw, rawOpt{code: code, off: uint32(off + 2), n: uint32(n)})
		off += 2 + n
	}
	if needEnd {
		return &ParseError{Area: area, Offset: off, Code: -1, Err: ErrNoEnd}
	}
	return nil
}

// rawOffset returns the offset of the first instance of code (its code
// byte), or -1 when there is none.
func (m *Message) rawOffset(code uint8) int {
	for _, r := range m.raw {
		if r.code == code {
			return int(r.off) - 2
		}
	}
	return -1
}

// overloadValue returns the value of option 52 when it is present as exactly
// one byte in total; ok is false when absent or malformed (rawOffset tells which).
func (m *Message) overloadValue(b []byte) (uint8, bool) {
	var v uint8
	n := 0
	for _, r := range m.raw {
		if r.code != OptOverload {
			continue
		}
		n += int(r.n)
		if r.n == 1 {
			v = b[r.off]
		}
	}
	if n != 1 {
		return 0, false
	}
	return v, true
}

// CopyFrom makes m an independent deep copy of src.
func (m *Message) CopyFrom(src *Message) {
	if m == src {
		return
	}
	opts, raw, vendor := m.Options, m.raw, m.Vendor
	*m = *src
	m.Options = opts
	m.Options.CopyFrom(&src.Options)
	m.raw = raw[:0]
	m.Vendor = append(vendor[:0], src.Vendor...)
	if src.Vendor == nil {
		m.Vendor = nil
	}
}

// Equal reports whether two messages have the same header fields, options
// (values and order), overload flag and vendor area.
func (m *Message) Equal(p *Message) bool {
	return m.Op == p.Op && m.HType == p.HType && m.HLen == p.HLen && m.Hops == p.Hops &&
		m.XID == p.XID && m.Secs == p.Secs && m.Flags == p.Flags &&
		m.CIAddr == p.CIAddr && m.YIAddr == p.YIAddr && m.SIAddr == p.SIAddr && m.GIAddr == p.GIAddr &&
		m.CHAddr == p.CHAddr && m.SName == p.SName && m.File == p.File &&
		m.Overloaded == p.Overloaded && m.NoCookie == p.NoCookie &&
		bytes.Equal(m.Vendor, p.Vendor) && m.Options.Equal(&p.Options)
}
