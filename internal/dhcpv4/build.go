package dhcpv4

import (
	"encoding/binary"
)

// Layout says how to lay out a message being built.
type Layout struct {
	// MaxLen is the largest message (UDP payload) the receiver accepts;
	// 0 means DefaultMaxLen (548). For a DHCP client's option 57, use
	// MaxLenFromOption57.
	MaxLen int

	// Order lists option codes to write first, in this order: pass the
	// client's parameter request list (option 55). Message type (53) is always
	// written first and relay agent information (82) always last.
	Order []byte

	// NoOverload forbids carrying options in file and sname (option 52);
	// options that do not fit are then left out.
	NoOverload bool

	// Omitted is set by AppendLayout to the number of options left out
	// because they did not fit. A caller should log or count it.
	Omitted int
}

// MaxLenFromOption57 converts a maximum DHCP message size from option 57 (an
// IP datagram size, RFC 2132 section 9.10) to a payload limit for Layout.MaxLen.
// Values below the legal minimum of 576 count as 576.
func MaxLenFromOption57(v uint16) int {
	return max(int(v), 576) - 28
}

// AppendBinary appends the wire form of m to b with the default layout:
// at most DefaultMaxLen bytes, options in their stored order, overload allowed.
// It fails with ErrTooBig when the options do not fit.
func (m *Message) AppendBinary(b []byte) ([]byte, error) {
	var l Layout
	out, err := m.AppendLayout(b, &l)
	if err == nil && l.Omitted > 0 {
		return b, ErrTooBig
	}
	return out, err
}

// MarshalBinary returns the wire form of m (see AppendBinary).
func (m *Message) MarshalBinary() ([]byte, error) {
	return m.AppendBinary(make([]byte, 0, DefaultMaxLen))
}

// Wire overhead of the option layout.
const (
	lenOverloadOpt = 3 // code, length, value of option 52
	lenEnd         = 1
)

// AppendLayout appends the wire form of m to b, laid out as l says: options
// in l.Order first, overload into file and sname when they are empty and the
// options field is full, options over 255 bytes split (RFC 3396), padding to
// MinLen. Options that fit nowhere are left out and counted in l.Omitted;
// ErrTooBig means even the message type, server identifier and relay
// information could not be placed (or, with NoCookie, that the vendor area
// does not fit). It does not allocate beyond growing b.
func (m *Message) AppendLayout(b []byte, l *Layout) ([]byte, error) {
	l.Omitted = 0
	maxLen := l.MaxLen
	if maxLen == 0 {
		maxLen = DefaultMaxLen
	}
	maxLen = min(maxLen, MaxLen)
	if maxLen < MinLen {
		maxLen = MinLen
	}
	start := len(b)
	b = m.appendHeader(b)

	if m.NoCookie {
		if HeaderLen+len(m.Vendor) > maxLen {
			return b[:start], ErrTooBig
		}
		b = append(b, m.Vendor...)
		return padTo(b, start, MinLen), nil
	}
	b = append(b, magicCookie[:]...)

	// The order options go out in, as indexes into m.Options.list.
	var orderBuf [256]uint8
	order := m.writeOrder(orderBuf[:0], l.Order)

	o := &m.Options
	total := 0
	for _, i := range order {
		total += wireLen(int(o.list[i].n))
	}
	room := maxLen - (len(b) - start) // cookie already written
	if total+lenEnd <= room {
		for _, i := range order {
			b = appendOption(b, o.list[i].code, o.value(int(i)))
		}
		b = append(b, OptEnd)
		return padTo(b, start, MinLen), nil
	}

	// Overload: the options field keeps the message type, server identifier,
	// option 52 and relay information; the others go where they fit, first
	// the options field, then file, then sname.
	fileFree := !l.NoOverload && isZero(m.File[:])
	snameFree := !l.NoOverload && isZero(m.SName[:])
	mainRoom := room - lenEnd
	if fileFree || snameFree {
		mainRoom -= lenOverloadOpt
	}
	fileRoom, snameRoom := 0, 0
	if fileFree {
		fileRoom = lenFile - lenEnd
	}
	if snameFree {
		snameRoom = lenSName - lenEnd
	}
	// Reserve the mandatory options first.
	for _, i := range order {
		if mandatory(o.list[i].code) {
			mainRoom -= wireLen(int(o.list[i].n))
		}
	}
	if mainRoom < 0 {
		return b[:start], ErrTooBig
	}
	const (
		inMain  = 1
		inFile  = 2
		inSName = 3
	)
	var where [256]uint8 // by position in order
	var usedFile, usedSName bool
	for k, i := range order {
		code := o.list[i].code
		n := wireLen(int(o.list[i].n))
		switch {
		case mandatory(code):
			where[k] = inMain
		case n <= mainRoom:
			where[k] = inMain
			mainRoom -= n
		case n <= fileRoom:
			where[k] = inFile
			fileRoom -= n
			usedFile = true
		case n <= snameRoom:
			where[k] = inSName
			snameRoom -= n
			usedSName = true
		default:
			l.Omitted++
		}
	}
	var ov uint8
	if usedFile {
		ov |= 1
	}
	if usedSName {
		ov |= 2
	}
	// Main options field: mandatory ones keep their place in the order; option 52 goes first
	// after the message type so a client sees it early.
	for k, i := range order {
		if where[k] != inMain {
			continue
		}
		b = appendOption(b, o.list[i].code, o.value(int(i)))
		if k == 0 && ov != 0 && o.list[i].code == OptMessageType {
			b = append(b, OptOverload, 1, ov)
			ov |= 0x80 // written
		}
	}
	if ov != 0 && ov&0x80 == 0 {
		// No message type first: put option 52 before the end.
		b = append(b, OptOverload, 1, ov)
	}
	b = append(b, OptEnd)
	b = padTo(b, start, MinLen)
	if usedFile {
		b = m.fillField(b, start+offFile, lenFile, order, where[:], inFile)
	}
	if usedSName {
		b = m.fillField(b, start+offSName, lenSName, order, where[:], inSName)
	}
	return b, nil
}

// fillField writes the options placed in one overloaded field over the
// field's bytes at b[at:at+size], then an end option; the rest is padding.
func (m *Message) fillField(b []byte, at, size int, order []uint8, where []uint8, sel uint8) []byte {
	f := b[at : at : at+size]
	for k, i := range order {
		if where[k] == sel {
			f = appendOption(f, m.Options.list[i].code, m.Options.value(int(i)))
		}
	}
	f = append(f, OptEnd)
	clear(b[at+len(f) : at+size])
	return b
}

func (o *Options) value(i int) []byte {
	s := o.list[i]
	return o.buf[s.off : s.off+s.n]
}

// mandatory options stay in the options field when overloading.
func mandatory(code uint8) bool {
	return code == OptMessageType || code == OptServerID || code == OptRelayAgentInfo
}

// writeOrder returns the positions of m's options in the order they are
// written: message type, then those named in prl, then the rest in stored
// order, then relay agent information. An option 52 in Options is left out:
// AppendLayout writes its own when it overloads.
func (m *Message) writeOrder(dst []uint8, prl []byte) []uint8 {
	o := &m.Options
	var done [256]bool
	add := func(code uint8) {
		if i := o.index[code]; i != 0 && !done[code] {
			done[code] = true
			dst = append(dst, uint8(i-1))
		}
	}
	done[OptRelayAgentInfo] = true // last
	done[OptOverload] = true       // decided by AppendLayout, never copied from Options
	add(OptMessageType)
	for _, c := range prl {
		add(c)
	}
	for _, s := range o.list {
		add(s.code)
	}
	done[OptRelayAgentInfo] = false
	add(OptRelayAgentInfo)
	return dst
}

// wireLen is the size of a value of n bytes on the wire, split into
// instances of at most 255 bytes (RFC 3396). An empty value takes one
// instance of length 0.
func wireLen(n int) int {
	if n == 0 {
		return 2
	}
	return n + 2*((n+254)/255)
}

func appendOption(b []byte, code uint8, v []byte) []byte {
	if len(v) == 0 {
		return append(b, code, 0)
	}
	for len(v) > 0 {
		n := min(len(v), 255)
		b = append(b, code, uint8(n))
		b = append(b, v[:n]...)
		v = v[n:]
	}
	return b
}

func (m *Message) appendHeader(b []byte) []byte {
	b = append(b, uint8(m.Op), m.HType, m.HLen, m.Hops)
	b = binary.BigEndian.AppendUint32(b, uint32(m.XID))
	b = binary.BigEndian.AppendUint16(b, m.Secs)
	b = binary.BigEndian.AppendUint16(b, uint16(m.Flags))
	b = appendAddr(b, m.CIAddr)
	b = appendAddr(b, m.YIAddr)
	b = appendAddr(b, m.SIAddr)
	b = appendAddr(b, m.GIAddr)
	b = append(b, m.CHAddr[:]...)
	b = append(b, m.SName[:]...)
	b = append(b, m.File[:]...)
	return b
}

func padTo(b []byte, start, n int) []byte {
	for len(b)-start < n {
		b = append(b, 0)
	}
	return b
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
