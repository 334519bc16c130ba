package lease

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
	"unsafe"
)

// Binary encoding of a lease, shared by the embedded backends.
//
// Layout of version 1 (all integers big-endian or varint as noted):
//
//	version  1 byte   (EncodingVersion)
//	addr     4 bytes  IPv4 address, the key
//	state    1 byte
//	htype    1 byte
//	flags    1 byte   flagExpires | flagSubnet | flagUUID
//	start    varint seconds since the Unix epoch, uvarint nanoseconds (both
//	         omitted, with flagStart clear, for a zero Start)
//	expires  the same, present only with flagExpires (zero means infinite)
//	subnet   4 bytes address + 1 byte prefix length, only with flagSubnet
//	uuid     16 bytes, only with flagUUID
//	then five length-prefixed (uvarint) byte strings: client ID, hardware
//	address, hostname, circuit ID, remote ID.
//
// Empty and nil byte slices encode alike and decode as nil: a store returns
// nil for an empty ClientID, HWAddr, CircuitID or RemoteID. Times decode in
// UTC; the instant is kept to the nanosecond, the location and monotonic
// reading are not.

// EncodingVersion is the first byte of every encoded lease.
const EncodingVersion = 1

// MaxEncodedLen bounds an encoded lease. Each variable field of a DHCP lease
// comes from one option (at most 255 bytes, or a few concatenated ones under
// RFC 3396); 16 KiB leaves ample room and keeps a corrupt length from asking
// for gigabytes.
const MaxEncodedLen = 16 << 10

// minEncodedLen is version, addr, state, htype, flags and five empty strings.
const minEncodedLen = 1 + 4 + 3 + 5

const (
	flagStart = 1 << iota
	flagExpires
	flagSubnet
	flagUUID
	flagsKnown = flagStart | flagExpires | flagSubnet | flagUUID
)

// AppendBinary appends the encoding of l to b. It fails if l.Addr is not an
// IPv4 address, if l.Subnet is valid but not IPv4, or if the encoding would
// exceed MaxEncodedLen.
func AppendBinary(b []byte, l *Lease) ([]byte, error) {
	if !l.Addr.Is4() {
		return b, fmt.Errorf("lease address %v: not IPv4", l.Addr)
	}
	if l.Subnet.IsValid() && !l.Subnet.Addr().Is4() {
		return b, fmt.Errorf("lease %v: subnet %v not IPv4", l.Addr, l.Subnet)
	}
	if !timeInRange(l.Start) || !timeInRange(l.Expires) {
		return b, fmt.Errorf("lease %v: start %v or expiry %v outside years 1-9999", l.Addr, l.Start, l.Expires)
	}
	start := len(b)
	var flags byte
	if !l.Start.IsZero() {
		flags |= flagStart
	}
	if !l.Expires.IsZero() {
		flags |= flagExpires
	}
	if l.Subnet.IsValid() {
		flags |= flagSubnet
	}
	if l.UUID != ([16]byte{}) {
		flags |= flagUUID
	}
	a := l.Addr.As4()
	b = append(b, EncodingVersion, a[0], a[1], a[2], a[3], byte(l.State), l.HWType, flags)
	if flags&flagStart != 0 {
		b = appendTime(b, l.Start)
	}
	if flags&flagExpires != 0 {
		b = appendTime(b, l.Expires)
	}
	if flags&flagSubnet != 0 {
		s := l.Subnet.Addr().As4()
		b = append(b, s[0], s[1], s[2], s[3], byte(l.Subnet.Bits()))
	}
	if flags&flagUUID != 0 {
		b = append(b, l.UUID[:]...)
	}
	b = appendBytes(b, l.ClientID)
	b = appendBytes(b, l.HWAddr)
	b = binary.AppendUvarint(b, uint64(len(l.Hostname)))
	b = append(b, l.Hostname...)
	b = appendBytes(b, l.CircuitID)
	b = appendBytes(b, l.RemoteID)
	if n := len(b) - start; n > MaxEncodedLen {
		return b[:start], fmt.Errorf("lease %v: encoding is %d bytes, over %d", l.Addr, n, MaxEncodedLen)
	}
	return b, nil
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// EncodedAddr returns the address of an encoded lease without decoding the
// rest, for stores that key records by address.
func EncodedAddr(b []byte) (netip.Addr, error) {
	if len(b) < minEncodedLen {
		return netip.Addr{}, fmt.Errorf("encoded lease of %d bytes: %w", len(b), ErrCorrupt)
	}
	if b[0] != EncodingVersion {
		return netip.Addr{}, fmt.Errorf("encoded lease version %d: %w", b[0], ErrCorrupt)
	}
	return netip.AddrFrom4([4]byte(b[1:5])), nil
}

// UnmarshalBinary decodes an encoding made by AppendBinary into l,
// overwriting every field. Errors wrap ErrCorrupt. The decoded slices do not
// alias b.
func UnmarshalBinary(b []byte, l *Lease) error {
	return decode(b, l, false)
}

// UnmarshalBinaryShared is UnmarshalBinary without copies: the byte slices
// and the Hostname of l share b's memory, so they hold their values only as
// long as b is not changed, and must not be changed themselves. It
// allocates nothing. It is for stores that keep encoded leases in memory
// they never write over, and callers that copy what they keep, like an
// allocator loading a million leases at start-up.
func UnmarshalBinaryShared(b []byte, l *Lease) error {
	return decode(b, l, true)
}

func decode(b []byte, l *Lease, shared bool) error {
	d := decoder{b: b, shared: shared}
	if len(b) > MaxEncodedLen {
		return fmt.Errorf("encoded lease of %d bytes: %w", len(b), ErrCorrupt)
	}
	addr, err := EncodedAddr(b)
	if err != nil {
		return err
	}
	d.off = 5
	var out Lease
	out.Addr = addr
	out.State = State(d.byte())
	out.HWType = d.byte()
	flags := d.byte()
	if flags&^flagsKnown != 0 {
		return fmt.Errorf("lease %v: unknown flags %#x: %w", addr, flags, ErrCorrupt)
	}
	if flags&flagStart != 0 {
		out.Start = d.time()
	}
	if flags&flagExpires != 0 {
		out.Expires = d.time()
	}
	if flags&flagSubnet != 0 {
		s := d.take(5)
		if s != nil {
			if s[4] > 32 {
				return fmt.Errorf("lease %v: subnet /%d: %w", addr, s[4], ErrCorrupt)
			}
			out.Subnet = netip.PrefixFrom(netip.AddrFrom4([4]byte(s[:4])), int(s[4]))
		}
	}
	if flags&flagUUID != 0 {
		if u := d.take(16); u != nil {
			out.UUID = [16]byte(u)
		}
	}
	out.ClientID = d.bytes()
	out.HWAddr = d.bytes()
	out.Hostname = d.string()
	out.CircuitID = d.bytes()
	out.RemoteID = d.bytes()
	if d.bad {
		return fmt.Errorf("lease %v: truncated or malformed at offset %d: %w", addr, d.off, ErrCorrupt)
	}
	if d.off != len(b) {
		return fmt.Errorf("lease %v: %d trailing bytes: %w", addr, len(b)-d.off, ErrCorrupt)
	}
	if !validTime(out.Start, flags&flagStart != 0) || !validTime(out.Expires, flags&flagExpires != 0) {
		return fmt.Errorf("lease %v: time out of range: %w", addr, ErrCorrupt)
	}
	*l = out
	return nil
}

// Bounds of the times a lease can hold: years 1 to 9999, which keeps
// time.Unix exact in both directions.
const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

func timeInRange(t time.Time) bool {
	s := t.Unix()
	return s >= minUnix && s <= maxUnix
}

// validTime rejects a time flagged present that decodes as the zero time, so
// that decoding then encoding gives back the same bytes.
func validTime(t time.Time, present bool) bool {
	return !present || !t.IsZero()
}

// decoder reads from b with a sticky error: after the first short read every
// read returns zero values and bad stays set.
type decoder struct {
	b      []byte
	off    int
	bad    bool
	shared bool // slices and strings alias b
}

func (d *decoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b)-d.off {
		d.bad = true
		return nil
	}
	s := d.b[d.off : d.off+n]
	d.off += n
	return s
}

func (d *decoder) byte() byte {
	if s := d.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (d *decoder) uvarint() uint64 {
	if d.bad {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint() int64 {
	if d.bad {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 || sec < minUnix || sec > maxUnix {
		d.bad = true
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// bytes reads a length-prefixed string, copied unless shared; empty gives nil.
func (d *decoder) bytes() []byte {
	s := d.lengthPrefixed()
	if len(s) == 0 {
		return nil
	}
	if d.shared {
		return s[:len(s):len(s)]
	}
	return append([]byte(nil), s...)
}

// string reads a length-prefixed string, copied unless shared.
func (d *decoder) string() string {
	s := d.lengthPrefixed()
	if len(s) == 0 {
		return ""
	}
	if d.shared {
		// The caller of UnmarshalBinaryShared promises not to change b
		// while the lease is in use, which is what a string needs.
		return unsafe.String(&s[0], len(s))
	}
	return string(s)
}

func (d *decoder) lengthPrefixed() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.bad = true
		return nil
	}
	return d.take(int(n))
}
