package dhcpv4

import (
	"encoding/binary"
	"iter"
	"net/netip"
	"time"
)

// Options is an ordered set of DHCP options, one value per code.
//
// Values live in one internal byte slice that is reused when the Options is
// Reset or the Message holding it is parsed again, so steady-state parsing and
// building allocate nothing. A slice returned by Get aliases that storage: it is
// valid until the next Reset, Set, Del or UnmarshalBinary, and must be copied to
// be kept.
//
// Repeated instances of one code on the wire are concatenated into one value
// (RFC 3396); a value longer than 255 bytes is split again when written.
// The zero value is an empty set ready to use.
type Options struct {
	buf   []byte
	list  []span
	index [256]uint16 // position in list + 1; 0 means absent
}

type span struct {
	code uint8
	off  uint32
	n    uint32
}

// Reset empties the set, keeping its storage.
func (o *Options) Reset() {
	for _, s := range o.list {
		o.index[s.code] = 0
	}
	o.list = o.list[:0]
	o.buf = o.buf[:0]
}

// Len reports the number of distinct options.
func (o *Options) Len() int { return len(o.list) }

// Has reports whether the option is present.
func (o *Options) Has(code uint8) bool { return o.index[code] != 0 }

// Get returns the value of an option (the concatenation of all its instances).
func (o *Options) Get(code uint8) ([]byte, bool) {
	i := o.index[code]
	if i == 0 {
		return nil, false
	}
	s := o.list[i-1]
	return o.buf[s.off : s.off+s.n : s.off+s.n], true
}

// At returns the code and value of the i-th option, in wire order.
func (o *Options) At(i int) (uint8, []byte) {
	s := o.list[i]
	return s.code, o.buf[s.off : s.off+s.n : s.off+s.n]
}

// All iterates over the options in wire order.
func (o *Options) All() iter.Seq2[uint8, []byte] {
	return func(yield func(uint8, []byte) bool) {
		for i := range o.list {
			if !yield(o.At(i)) {
				return
			}
		}
	}
}

// Codes appends the option codes in wire order to dst.
func (o *Options) Codes(dst []uint8) []uint8 {
	for _, s := range o.list {
		dst = append(dst, s.code)
	}
	return dst
}

// Set sets an option's value (copied), keeping its position if present.
// Codes 0 (pad) and 255 (end) cannot be set.
func (o *Options) Set(code uint8, value []byte) {
	start := len(o.buf)
	o.buf = append(o.buf, value...)
	o.commit(code, start)
}

// Append adds value to the end of an option's value (creating it if absent),
// as a repeated instance on the wire would.
func (o *Options) Append(code uint8, value []byte) {
	old, ok := o.Get(code)
	if !ok {
		o.Set(code, value)
		return
	}
	start := len(o.buf)
	o.buf = append(o.buf, old...)
	o.buf = append(o.buf, value...)
	o.commit(code, start)
}

// commit records o.buf[start:] as the value of code.
func (o *Options) commit(code uint8, start int) {
	if code == OptPad || code == OptEnd {
		o.buf = o.buf[:start]
		return
	}
	s := span{code: code, off: uint32(start), n: uint32(len(o.buf) - start)}
	if i := o.index[code]; i != 0 {
		o.list[i-1] = s
		return
	}
	o.list = append(o.list, s)
	o.index[code] = uint16(len(o.list))
}

// Del removes an option.
func (o *Options) Del(code uint8) {
	i := int(o.index[code])
	if i == 0 {
		return
	}
	o.index[code] = 0
	copy(o.list[i-1:], o.list[i:])
	o.list = o.list[:len(o.list)-1]
	for j := i - 1; j < len(o.list); j++ {
		o.index[o.list[j].code] = uint16(j + 1)
	}
}

// CopyFrom makes o an independent copy of src.
func (o *Options) CopyFrom(src *Options) {
	if o == src {
		return
	}
	o.Reset()
	for i := range src.list {
		o.Set(src.At(i))
	}
}

// Equal reports whether both sets hold the same options with the same values in the same order.
func (o *Options) Equal(p *Options) bool {
	if len(o.list) != len(p.list) {
		return false
	}
	for i := range o.list {
		c1, v1 := o.At(i)
		c2, v2 := p.At(i)
		if c1 != c2 || string(v1) != string(v2) {
			return false
		}
	}
	return true
}

// Typed setters. Each writes the value in its wire format without allocating
// once the storage has grown.

// SetUint8 sets a one-byte option.
func (o *Options) SetUint8(code, v uint8) {
	start := len(o.buf)
	o.buf = append(o.buf, v)
	o.commit(code, start)
}

// SetUint16 sets a two-byte option in network order.
func (o *Options) SetUint16(code uint8, v uint16) {
	start := len(o.buf)
	o.buf = binary.BigEndian.AppendUint16(o.buf, v)
	o.commit(code, start)
}

// SetUint32 sets a four-byte option in network order.
func (o *Options) SetUint32(code uint8, v uint32) {
	start := len(o.buf)
	o.buf = binary.BigEndian.AppendUint32(o.buf, v)
	o.commit(code, start)
}

// SetDuration sets a time option in whole seconds (RFC 2132 times are
// unsigned 32-bit seconds); Infinite or a longer duration writes 0xffffffff.
func (o *Options) SetDuration(code uint8, d time.Duration) {
	o.SetUint32(code, durationSeconds(d))
}

// SetBool sets a one-byte boolean option.
func (o *Options) SetBool(code uint8, v bool) {
	var b uint8
	if v {
		b = 1
	}
	o.SetUint8(code, b)
}

// SetAddr sets an option holding one IPv4 address.
func (o *Options) SetAddr(code uint8, a netip.Addr) {
	start := len(o.buf)
	o.buf = appendAddr(o.buf, a)
	o.commit(code, start)
}

// SetAddrs sets an option holding a list of IPv4 addresses.
func (o *Options) SetAddrs(code uint8, as ...netip.Addr) {
	start := len(o.buf)
	for _, a := range as {
		o.buf = appendAddr(o.buf, a)
	}
	o.commit(code, start)
}

// SetString sets a text option.
func (o *Options) SetString(code uint8, s string) {
	start := len(o.buf)
	o.buf = append(o.buf, s...)
	o.commit(code, start)
}

// Typed getters share one contract: an absent option and a malformed one both
// give ok == false. Message.Validate reports the malformed ones.

// Uint8 returns a one-byte option.
func (o *Options) Uint8(code uint8) (uint8, bool) {
	v, ok := o.Get(code)
	if !ok || len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

// Uint16 returns a two-byte option.
func (o *Options) Uint16(code uint8) (uint16, bool) {
	v, ok := o.Get(code)
	if !ok || len(v) != 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(v), true
}

// Uint32 returns a four-byte option.
func (o *Options) Uint32(code uint8) (uint32, bool) {
	v, ok := o.Get(code)
	if !ok || len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

// Duration returns a time option given in seconds; 0xffffffff gives Infinite.
func (o *Options) Duration(code uint8) (time.Duration, bool) {
	v, ok := o.Uint32(code)
	if !ok {
		return 0, false
	}
	return secondsDuration(v), true
}

// Bool returns a one-byte boolean option (0 or 1).
func (o *Options) Bool(code uint8) (bool, bool) {
	v, ok := o.Uint8(code)
	if !ok || v > 1 {
		return false, false
	}
	return v == 1, true
}

// Addr returns an option holding exactly one IPv4 address.
func (o *Options) Addr(code uint8) (netip.Addr, bool) {
	v, ok := o.Get(code)
	if !ok || len(v) != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(v)), true
}

// AppendAddrs appends the addresses of a list-of-addresses option to dst.
func (o *Options) AppendAddrs(dst []netip.Addr, code uint8) ([]netip.Addr, bool) {
	v, ok := o.Get(code)
	if !ok || len(v)%4 != 0 {
		return dst, false
	}
	for i := 0; i < len(v); i += 4 {
		dst = append(dst, netip.AddrFrom4([4]byte(v[i:i+4])))
	}
	return dst, true
}

// Addrs returns the addresses of a list-of-addresses option (allocates).
func (o *Options) Addrs(code uint8) ([]netip.Addr, bool) {
	return o.AppendAddrs(nil, code)
}

// String returns a text option as a string (allocates). RFC 2132 text is not
// NUL-terminated, but some clients add one; a trailing NUL is dropped.
func (o *Options) String(code uint8) (string, bool) {
	v, ok := o.Get(code)
	if !ok {
		return "", false
	}
	return string(trimNUL(v)), true
}

// Infinite is the lease time 0xffffffff seconds: a lease that never expires.
const Infinite = time.Duration(1<<63 - 1)

func durationSeconds(d time.Duration) uint32 {
	if d < 0 {
		return 0
	}
	s := d / time.Second
	if s >= 0xffffffff {
		return 0xffffffff
	}
	return uint32(s)
}

func secondsDuration(v uint32) time.Duration {
	if v == 0xffffffff {
		return Infinite
	}
	return time.Duration(v) * time.Second
}

// appendAddr appends an IPv4 address; an invalid or non-IPv4 address writes 0.0.0.0.
func appendAddr(b []byte, a netip.Addr) []byte {
	if !a.Is4() {
		return append(b, 0, 0, 0, 0)
	}
	v := a.As4()
	return append(b, v[:]...)
}

func trimNUL(v []byte) []byte {
	if n := len(v); n > 0 && v[n-1] == 0 {
		return v[:n-1]
	}
	return v
}

// Int32 returns a signed four-byte option (time offset, option 2).
func (o *Options) Int32(code uint8) (int32, bool) {
	v, ok := o.Uint32(code)
	return int32(v), ok
}

// SetInt32 sets a signed four-byte option.
func (o *Options) SetInt32(code uint8, v int32) { o.SetUint32(code, uint32(v)) }

// AppendUint16s appends the values of a list-of-16-bit-integers option
// (path MTU plateau table, option 25) to dst.
func (o *Options) AppendUint16s(dst []uint16, code uint8) ([]uint16, bool) {
	v, ok := o.Get(code)
	if !ok || len(v) == 0 || len(v)%2 != 0 {
		return dst, false
	}
	for i := 0; i < len(v); i += 2 {
		dst = append(dst, binary.BigEndian.Uint16(v[i:]))
	}
	return dst, true
}

// SetUint16s sets a list-of-16-bit-integers option.
func (o *Options) SetUint16s(code uint8, vs ...uint16) {
	start := len(o.buf)
	for _, v := range vs {
		o.buf = binary.BigEndian.AppendUint16(o.buf, v)
	}
	o.commit(code, start)
}

// AddrPair is one entry of a list-of-address-pairs option: policy filter
// (21: address and mask) or static routes (33: destination and router).
type AddrPair struct{ First, Second netip.Addr }

// AppendAddrPairs appends the pairs of an address-pairs option to dst.
func (o *Options) AppendAddrPairs(dst []AddrPair, code uint8) ([]AddrPair, bool) {
	v, ok := o.Get(code)
	if !ok || len(v) == 0 || len(v)%8 != 0 {
		return dst, false
	}
	for i := 0; i < len(v); i += 8 {
		dst = append(dst, AddrPair{netip.AddrFrom4([4]byte(v[i:])), netip.AddrFrom4([4]byte(v[i+4:]))})
	}
	return dst, true
}

// SetAddrPairs sets an address-pairs option.
func (o *Options) SetAddrPairs(code uint8, ps ...AddrPair) {
	start := len(o.buf)
	for _, p := range ps {
		o.buf = appendAddr(appendAddr(o.buf, p.First), p.Second)
	}
	o.commit(code, start)
}
