package dhcpv4

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// FormatValue renders an option's value as one line of text for people, in
// the format its code defines (opaque and unknown values as quoted text when
// printable, else hex). A value that does not have that format is
// shown as "malformed (reason): " followed by its bytes in hex. It allocates
// and is meant for tools and logs, not for the packet path.
func FormatValue(code uint8, v []byte) string {
	kind := LookupOption(code).Kind
	if reason := checkValue(kind, v); reason != "" {
		return "malformed (" + reason + "): " + HexString(v)
	}
	switch kind {
	case KindAddr:
		return addrAt(v, 0).String()
	case KindAddrs, KindAddrsOrNone:
		var parts []string
		for i := 0; i < len(v); i += 4 {
			parts = append(parts, addrAt(v, i).String())
		}
		return strings.Join(parts, ", ")
	case KindAddrPairs:
		var parts []string
		for i := 0; i < len(v); i += 8 {
			parts = append(parts, addrAt(v, i).String()+" "+addrAt(v, i+4).String())
		}
		return strings.Join(parts, ", ")
	case KindUint8:
		return strconv.Itoa(int(v[0]))
	case KindUint16:
		return strconv.Itoa(int(binary.BigEndian.Uint16(v)))
	case KindUint16s:
		var parts []string
		for i := 0; i < len(v); i += 2 {
			parts = append(parts, strconv.Itoa(int(binary.BigEndian.Uint16(v[i:]))))
		}
		return strings.Join(parts, ", ")
	case KindUint32:
		return strconv.FormatUint(uint64(binary.BigEndian.Uint32(v)), 10)
	case KindInt32:
		return strconv.Itoa(int(int32(binary.BigEndian.Uint32(v))))
	case KindSeconds:
		return FormatSeconds(binary.BigEndian.Uint32(v))
	case KindBool:
		return strconv.FormatBool(v[0] == 1)
	case KindString:
		return FormatText(v)
	case KindEmpty:
		return ""
	case KindOverload:
		return [...]string{1: "1 (file)", 2: "2 (sname)", 3: "3 (file and sname)"}[v[0]]
	case KindMessageType:
		return MessageType(v[0]).String()
	case KindCodes:
		var parts []string
		for _, c := range v {
			parts = append(parts, strconv.Itoa(int(c))+" "+OptionName(c))
		}
		return strings.Join(parts, ", ")
	case KindClientID:
		return FormatClientID(v)
	case KindUserClass:
		var parts []string
		for c := range UserClass(v).All() {
			parts = append(parts, FormatText(c))
		}
		return strings.Join(parts, ", ")
	case KindFQDN:
		f, _ := parseFQDN(v)
		var flags []string
		for _, fl := range []struct {
			bit  uint8
			name string
		}{{FQDNServerUpdate, "S"}, {FQDNOverride, "O"}, {FQDNEncoded, "E"}, {FQDNNoUpdate, "N"}} {
			if f.Flags&fl.bit != 0 {
				flags = append(flags, fl.name)
			}
		}
		s := fmt.Sprintf("flags=%s rcode1=%d rcode2=%d name=%s", strings.Join(flags, ""), f.RCode1, f.RCode2, strconv.Quote(f.Name))
		if f.Partial {
			s += " (partial)"
		}
		return s
	case KindRelayInfo:
		var parts []string
		for c, sv := range RelayInfo(v).All() {
			parts = append(parts, RelaySubOptionName(c)+"="+FormatRelaySubOption(c, sv))
		}
		return strings.Join(parts, " ")
	case KindClientArch:
		var parts []string
		for i := 0; i < len(v); i += 2 {
			a := Arch(binary.BigEndian.Uint16(v[i:]))
			parts = append(parts, strconv.Itoa(int(a))+" ("+a.String()+")")
		}
		return strings.Join(parts, ", ")
	case KindNDI:
		t := "type " + strconv.Itoa(int(v[0]))
		if v[0] == 1 {
			t = "UNDI"
		}
		return fmt.Sprintf("%s %d.%d", t, v[1], v[2])
	case KindUUID:
		return FormatUUID([16]byte(v[1:]))
	case KindDomainList:
		names, _ := DecodeDomainList(v)
		return strings.Join(names, ", ")
	case KindRoutes:
		routes, _ := DecodeRoutes(v)
		var parts []string
		for _, r := range routes {
			parts = append(parts, r.Dest.String()+" via "+r.Router.String())
		}
		return strings.Join(parts, ", ")
	case KindVIClass:
		var parts []string
		for e := range VendorEntries(v) {
			var classes []string
			for c := range UserClass(e.Data).All() {
				classes = append(classes, FormatText(c))
			}
			parts = append(parts, fmt.Sprintf("enterprise %d: %s", e.Enterprise, strings.Join(classes, ", ")))
		}
		return strings.Join(parts, "; ")
	case KindVIVendor:
		var parts []string
		for e := range VendorEntries(v) {
			parts = append(parts, fmt.Sprintf("enterprise %d: %s", e.Enterprise, formatSubOptions(e.Data)))
		}
		return strings.Join(parts, "; ")
	case KindEncapsulated:
		return formatSubOptions(v)
	}
	return FormatBytes(v)
}

func formatSubOptions(v []byte) string {
	var parts []string
	for c, sv := range SubOptions(v, true) {
		parts = append(parts, strconv.Itoa(int(c))+"="+FormatBytes(sv))
	}
	return strings.Join(parts, " ")
}

// FormatRelaySubOption renders one sub-option of option 82.
func FormatRelaySubOption(code uint8, v []byte) string {
	switch code {
	case RelayLinkSelection, RelayServerIDOverride:
		if len(v) == 4 {
			return addrAt(v, 0).String()
		}
	}
	return FormatBytes(v)
}

// FormatSeconds renders a time in seconds with a readable duration.
func FormatSeconds(s uint32) string {
	if s == 0xffffffff {
		return "infinite"
	}
	return strconv.FormatUint(uint64(s), 10) + "s (" + (time.Duration(s) * time.Second).String() + ")"
}

// FormatClientID renders option 61: a hardware type and address, an RFC 4361
// IAID and DUID, or the type and bytes.
func FormatClientID(v []byte) string {
	if len(v) < 2 {
		return HexString(v)
	}
	switch {
	case v[0] == HTypeEthernet && len(v) == 7:
		return "ethernet " + HexString(v[1:])
	case v[0] == 255 && len(v) >= 7:
		return fmt.Sprintf("iaid 0x%08x duid %s", binary.BigEndian.Uint32(v[1:5]), HexString(v[5:]))
	case v[0] == 0:
		return "type 0 " + FormatBytes(v[1:])
	}
	return "type " + strconv.Itoa(int(v[0])) + " " + HexString(v[1:])
}

// FormatUUID renders 16 bytes in the 8-4-4-4-12 form.
func FormatUUID(u [16]byte) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// FormatText quotes text; a trailing NUL is dropped.
func FormatText(v []byte) string { return strconv.Quote(string(trimNUL(v))) }

// FormatBytes renders bytes as quoted text when all printable, else as hex.
func FormatBytes(v []byte) string {
	if len(v) > 0 && printable(v) {
		return strconv.Quote(string(v))
	}
	return HexString(v)
}

// HexString renders bytes as colon-separated hex ("" for none).
func HexString(v []byte) string {
	if len(v) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(len(v) * 3)
	for i, c := range v {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(hex.EncodeToString([]byte{c}))
	}
	return sb.String()
}

func printable(v []byte) bool {
	for _, c := range v {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func addrAt(v []byte, i int) netip.Addr { return netip.AddrFrom4([4]byte(v[i : i+4])) }
