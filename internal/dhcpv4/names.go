package dhcpv4

import (
	"errors"
	"strings"
)

// DNS names in options 81 (RFC 4702) and 119 (RFC 3397), in the wire format
// of RFC 1035 section 3.1. Option 119 may use compression pointers, which
// point into the option's value (RFC 3397 section 2).

// Limits of RFC 1035 names.
const (
	maxLabel = 63
	maxName  = 255 // wire length including the root label
	// maxPointerHops bounds pointer chasing while reading one name: every
	// pointer must go strictly backwards, so a value of n bytes cannot have
	// more than n/2 hops; this is a second guard.
	maxPointerHops = 128
)

var (
	errShortValue     = errors.New("value too short")
	errReservedFlags  = errors.New("reserved flag bits set")
	errLabelTooLong   = errors.New("label longer than 63 bytes")
	errNameTooLong    = errors.New("name longer than 255 bytes")
	errBadPointer     = errors.New("compression pointer does not point backwards")
	errNameTruncated  = errors.New("name runs past the end of the value")
	errEmptyLabel     = errors.New("empty label")
	errPointerInPlain = errors.New("compression pointer in an uncompressed name")
)

// DomainSearch returns the names of option 119 (allocates).
func (m *Message) DomainSearch() ([]string, bool) {
	v, ok := m.Options.Get(OptDomainSearch)
	if !ok {
		return nil, false
	}
	names, err := DecodeDomainList(v)
	return names, err == nil
}

// DecodeDomainList decodes an RFC 3397 domain search list.
func DecodeDomainList(v []byte) ([]string, error) {
	var names []string
	for off := 0; off < len(v); {
		name, next, err := readName(v, off)
		if err != nil {
			return nil, err
		}
		names = append(names, name)
		off = next
	}
	return names, nil
}

// readName reads the name at v[off:], following compression pointers, and
// returns it (without trailing dot; "" for the root) and the offset after it.
func readName(v []byte, off int) (string, int, error) {
	var sb strings.Builder
	next := -1
	wire := 0
	hops := 0
	limit := off // pointers must point before the place they were read from
	for {
		if off >= len(v) {
			return "", 0, errNameTruncated
		}
		n := int(v[off])
		switch {
		case n == 0:
			if next < 0 {
				next = off + 1
			}
			return sb.String(), next, nil
		case n&0xc0 == 0xc0:
			if off+1 >= len(v) {
				return "", 0, errNameTruncated
			}
			ptr := (n&0x3f)<<8 | int(v[off+1])
			if ptr >= limit || hops >= maxPointerHops {
				return "", 0, errBadPointer
			}
			hops++
			if next < 0 {
				next = off + 2
			}
			off, limit = ptr, ptr
		case n > maxLabel:
			return "", 0, errLabelTooLong
		default:
			if off+1+n > len(v) {
				return "", 0, errNameTruncated
			}
			wire += 1 + n
			if wire+1 > maxName {
				return "", 0, errNameTooLong
			}
			if sb.Len() > 0 {
				sb.WriteByte('.')
			}
			sb.Write(v[off+1 : off+1+n])
			off += 1 + n
		}
	}
}

// decodeUncompressedName reads a name without pointers that fills all of v;
// complete is false for a partial name (no root label, RFC 4702 section 2.3.1).
func decodeUncompressedName(v []byte) (name string, complete bool, err error) {
	if len(v) > maxName {
		return "", false, errNameTooLong
	}
	var sb strings.Builder
	for off := 0; off < len(v); {
		n := int(v[off])
		if n == 0 {
			if off != len(v)-1 {
				return "", false, errNameTruncated
			}
			return sb.String(), true, nil
		}
		if n&0xc0 != 0 {
			return "", false, errPointerInPlain
		}
		if off+1+n > len(v) {
			return "", false, errNameTruncated
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.Write(v[off+1 : off+1+n])
		off += 1 + n
	}
	return sb.String(), false, nil
}

// appendName appends a name in uncompressed wire format; root adds the
// terminating empty label.
func appendName(b []byte, name string, root bool) ([]byte, error) {
	name = strings.TrimSuffix(name, ".")
	start := len(b)
	if name != "" {
		for label := range strings.SplitSeq(name, ".") {
			if label == "" {
				return b[:start], errEmptyLabel
			}
			if len(label) > maxLabel {
				return b[:start], errLabelTooLong
			}
			b = append(b, uint8(len(label)))
			b = append(b, label...)
		}
	}
	if root {
		b = append(b, 0)
	}
	if len(b)-start > maxName {
		return b[:start], errNameTooLong
	}
	return b, nil
}

// AppendDomainList appends an RFC 3397 domain search list with compression:
// each name's longest suffix already written is replaced by a pointer.
func AppendDomainList(b []byte, names []string) ([]byte, error) {
	start := len(b)
	seen := map[string]int{} // suffix -> offset from start
	for _, name := range names {
		name = strings.TrimSuffix(name, ".")
		if name == "" {
			b = append(b, 0)
			continue
		}
		// appendName drops one trailing dot itself: a second one ("a..")
		// is an empty label.
		if strings.HasSuffix(name, ".") {
			return b[:start], errEmptyLabel
		}
		if _, err := appendName(nil, name, true); err != nil {
			return b[:start], err
		}
		rest := name
		for {
			if off, ok := seen[rest]; ok && off <= 0x3fff {
				b = append(b, 0xc0|uint8(off>>8), uint8(off))
				break
			}
			here := len(b) - start
			label, tail, more := strings.Cut(rest, ".")
			if here <= 0x3fff {
				seen[rest] = here
			}
			b = append(b, uint8(len(label)))
			b = append(b, label...)
			if !more {
				b = append(b, 0)
				break
			}
			rest = tail
		}
	}
	return b, nil
}
