package dhcpv4

import (
	"encoding/binary"
	"iter"
	"net/netip"
	"time"
)

// Typed accessors for the options a server reads on every request. They share
// the contract of the Options getters: absent and malformed both give false.
// Slices returned alias the message and are valid until it is parsed again.

// MessageType returns option 53. A message without it is BOOTP.
func (m *Message) MessageType() (MessageType, bool) {
	v, ok := m.Options.Uint8(OptMessageType)
	if !ok || v == 0 {
		return 0, false
	}
	return MessageType(v), true
}

// SetMessageType sets option 53.
func (m *Message) SetMessageType(t MessageType) { m.Options.SetUint8(OptMessageType, uint8(t)) }

// IsBOOTP reports whether the message is plain BOOTP (no DHCP message type).
func (m *Message) IsBOOTP() bool {
	_, ok := m.MessageType()
	return !ok
}

// RequestedIP returns option 50.
func (m *Message) RequestedIP() (netip.Addr, bool) { return m.Options.Addr(OptRequestedIP) }

// ServerID returns option 54.
func (m *Message) ServerID() (netip.Addr, bool) { return m.Options.Addr(OptServerID) }

// LeaseTime returns option 51.
func (m *Message) LeaseTime() (time.Duration, bool) { return m.Options.Duration(OptLeaseTime) }

// ClientID returns option 61 (type byte followed by the identifier).
// RFC 2132 requires at least two bytes.
func (m *Message) ClientID() ([]byte, bool) {
	v, ok := m.Options.Get(OptClientID)
	if !ok || len(v) < 2 {
		return nil, false
	}
	return v, true
}

// ParamRequestList returns option 55, the codes the client asks for in its
// order of preference.
func (m *Message) ParamRequestList() ([]byte, bool) {
	v, ok := m.Options.Get(OptParamRequestList)
	if !ok || len(v) == 0 {
		return nil, false
	}
	return v, true
}

// MaxMessageSize returns option 57 (an IP datagram size, see MaxLenFromOption57).
func (m *Message) MaxMessageSize() (uint16, bool) { return m.Options.Uint16(OptMaxMessageSize) }

// HostName returns option 12 (aliases the message).
func (m *Message) HostName() ([]byte, bool) { return m.text(OptHostName) }

// VendorClass returns option 60 (aliases the message).
func (m *Message) VendorClass() ([]byte, bool) { return m.text(OptVendorClass) }

func (m *Message) text(code uint8) ([]byte, bool) {
	v, ok := m.Options.Get(code)
	if !ok || len(v) == 0 {
		return nil, false
	}
	return trimNUL(v), true
}

// SubnetSelection returns option 118 (RFC 3011).
func (m *Message) SubnetSelection() (netip.Addr, bool) { return m.Options.Addr(OptSubnetSelection) }

// UserClass returns option 77 (RFC 3004) when it is not empty.
func (m *Message) UserClass() (UserClass, bool) {
	v, ok := m.Options.Get(OptUserClass)
	if !ok || len(v) == 0 {
		return nil, false
	}
	return UserClass(v), true
}

// UserClass is the value of option 77: a list of length-prefixed class names
// (RFC 3004). iPXE and some other clients send one bare name instead
// ("iPXE", no length byte); a value that is not a well-formed list is taken
// as that one name, as dnsmasq does.
type UserClass []byte

func (u UserClass) valid() bool {
	if len(u) == 0 {
		return false
	}
	for i := 0; i < len(u); {
		n := int(u[i])
		if n == 0 || i+1+n > len(u) {
			return false
		}
		i += 1 + n
	}
	return true
}

// All iterates over the class names.
func (u UserClass) All() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if !u.valid() {
			if len(u) > 0 {
				yield(u)
			}
			return
		}
		for i := 0; i < len(u); {
			n := int(u[i])
			if i+1+n > len(u) || !yield(u[i+1:i+1+n]) {
				return
			}
			i += 1 + n
		}
	}
}

// Contains reports whether one of the classes equals name.
func (u UserClass) Contains(name string) bool {
	for c := range u.All() {
		if string(c) == name {
			return true
		}
	}
	return false
}

// AppendUserClass appends the wire form of option 77 for the given classes.
func AppendUserClass(b []byte, classes ...string) []byte {
	for _, c := range classes {
		b = append(b, uint8(len(c)))
		b = append(b, c...)
	}
	return b
}

// Arch is a client system architecture type (option 93, RFC 4578 and the IANA registry).
type Arch uint16

// Architecture types used for boot file selection.
const (
	ArchX86BIOS       Arch = 0
	ArchX86UEFI       Arch = 6
	ArchX64UEFI       Arch = 7
	ArchEBC           Arch = 9
	ArchARM32UEFI     Arch = 10
	ArchARM64UEFI     Arch = 11
	ArchX86UEFIHTTP   Arch = 15
	ArchX64UEFIHTTP   Arch = 16
	ArchARM32UEFIHTTP Arch = 18
	ArchARM64UEFIHTTP Arch = 19
	ArchRISCV64UEFI   Arch = 27
	ArchRISCV64HTTP   Arch = 28
)

var archNames = [...]string{
	0: "x86 BIOS", 1: "NEC/PC98", 2: "Itanium", 3: "DEC Alpha", 4: "Arc x86",
	5: "Intel Lean Client", 6: "x86 UEFI", 7: "x64 UEFI", 8: "EFI Xscale", 9: "EBC",
	10: "ARM 32-bit UEFI", 11: "ARM 64-bit UEFI", 12: "PowerPC Open Firmware",
	13: "PowerPC ePAPR", 14: "POWER OPAL v3", 15: "x86 UEFI HTTP", 16: "x64 UEFI HTTP",
	17: "EBC HTTP", 18: "ARM 32-bit UEFI HTTP", 19: "ARM 64-bit UEFI HTTP",
	20: "x86 BIOS HTTP", 21: "ARM 32-bit U-Boot", 22: "ARM 64-bit U-Boot",
	23: "ARM 32-bit U-Boot HTTP", 24: "ARM 64-bit U-Boot HTTP", 25: "RISC-V 32-bit UEFI",
	26: "RISC-V 32-bit UEFI HTTP", 27: "RISC-V 64-bit UEFI", 28: "RISC-V 64-bit UEFI HTTP",
	29: "RISC-V 128-bit UEFI", 30: "RISC-V 128-bit UEFI HTTP", 31: "s390 Basic",
	32: "s390 Extended", 33: "MIPS 32-bit UEFI", 34: "MIPS 64-bit UEFI",
	35: "Sunway 32-bit UEFI", 36: "Sunway 64-bit UEFI", 37: "LoongArch 32-bit UEFI",
	38: "LoongArch 32-bit UEFI HTTP", 39: "LoongArch 64-bit UEFI",
	40: "LoongArch 64-bit UEFI HTTP", 41: "ARM rpiboot",
}

func (a Arch) String() string {
	if int(a) < len(archNames) && archNames[a] != "" {
		return archNames[a]
	}
	return "arch(" + itoa(int(a)) + ")"
}

// ClientArch returns the first architecture of option 93 (RFC 4578).
func (m *Message) ClientArch() (Arch, bool) {
	v, ok := m.Options.Get(OptClientArch)
	if !ok || len(v) < 2 || len(v)%2 != 0 {
		return 0, false
	}
	return Arch(binary.BigEndian.Uint16(v)), true
}

// ClientArchs iterates over every architecture of option 93.
func (m *Message) ClientArchs() iter.Seq[Arch] {
	return func(yield func(Arch) bool) {
		v, ok := m.Options.Get(OptClientArch)
		if !ok || len(v)%2 != 0 {
			return
		}
		for i := 0; i+1 < len(v); i += 2 {
			if !yield(Arch(binary.BigEndian.Uint16(v[i:]))) {
				return
			}
		}
	}
}

// NDI is option 94, the client network device interface (RFC 4578).
type NDI struct {
	Type         uint8 // 1: UNDI
	Major, Minor uint8
}

// ClientNDI returns option 94.
func (m *Message) ClientNDI() (NDI, bool) {
	v, ok := m.Options.Get(OptClientNDI)
	if !ok || len(v) != 3 {
		return NDI{}, false
	}
	return NDI{v[0], v[1], v[2]}, true
}

// ClientUUID returns the 16-byte machine identifier of option 97 (RFC 4578:
// type 0 followed by the UUID/GUID).
func (m *Message) ClientUUID() ([16]byte, bool) {
	v, ok := m.Options.Get(OptClientUUID)
	if !ok || len(v) != 17 || v[0] != 0 {
		return [16]byte{}, false
	}
	return [16]byte(v[1:]), true
}

// FQDN is option 81 (RFC 4702).
type FQDN struct {
	Flags          uint8 // FQDNServerUpdate, FQDNOverride, FQDNEncoded, FQDNNoUpdate
	RCode1, RCode2 uint8
	Name           string // the domain name, without a trailing dot
	Partial        bool   // canonical encoding without the root label (a partial name)
}

// FQDN flag bits (RFC 4702 section 2.1).
const (
	FQDNServerUpdate uint8 = 1 << 0 // S
	FQDNOverride     uint8 = 1 << 1 // O
	FQDNEncoded      uint8 = 1 << 2 // E: canonical wire format
	FQDNNoUpdate     uint8 = 1 << 3 // N
)

// ClientFQDN returns option 81 (allocates the name).
func (m *Message) ClientFQDN() (FQDN, bool) {
	v, ok := m.Options.Get(OptClientFQDN)
	if !ok {
		return FQDN{}, false
	}
	f, err := parseFQDN(v)
	return f, err == nil
}

func parseFQDN(v []byte) (FQDN, error) {
	if len(v) < 3 {
		return FQDN{}, errShortValue
	}
	f := FQDN{Flags: v[0], RCode1: v[1], RCode2: v[2]}
	if f.Flags&0xf0 != 0 {
		return FQDN{}, errReservedFlags
	}
	name := v[3:]
	if f.Flags&FQDNEncoded == 0 {
		f.Name = string(trimNUL(name))
		return f, nil
	}
	if len(name) == 0 {
		return f, nil
	}
	s, complete, err := decodeUncompressedName(name)
	if err != nil {
		return FQDN{}, err
	}
	f.Name, f.Partial = s, !complete
	return f, nil
}

// AppendFQDN appends the wire form of option 81. With FQDNEncoded set the
// name is written in canonical wire format (with the root label unless
// Partial), otherwise as ASCII.
func AppendFQDN(b []byte, f FQDN) ([]byte, error) {
	start := len(b)
	b = append(b, f.Flags, f.RCode1, f.RCode2)
	if f.Flags&FQDNEncoded == 0 {
		return append(b, f.Name...), nil
	}
	if f.Name == "" {
		return b, nil
	}
	b, err := appendName(b, f.Name, !f.Partial)
	if err != nil {
		return b[:start], err
	}
	return b, nil
}

// VendorEntry is one enterprise's data in option 124 or 125 (RFC 3925).
type VendorEntry struct {
	Enterprise uint32
	Data       []byte // 124: length-prefixed class data; 125: code/length/value sub-options
}

// VendorEntries iterates over the entries of option 124 or 125; it stops at
// the first malformed entry.
func VendorEntries(v []byte) iter.Seq[VendorEntry] {
	return func(yield func(VendorEntry) bool) {
		for i := 0; i+5 <= len(v); {
			n := int(v[i+4])
			if i+5+n > len(v) {
				return
			}
			if !yield(VendorEntry{binary.BigEndian.Uint32(v[i:]), v[i+5 : i+5+n]}) {
				return
			}
			i += 5 + n
		}
	}
}

// AppendVendorEntry appends one entry of option 124 or 125.
func AppendVendorEntry(b []byte, e VendorEntry) []byte {
	b = binary.BigEndian.AppendUint32(b, e.Enterprise)
	b = append(b, uint8(len(e.Data)))
	return append(b, e.Data...)
}

// SubOptions iterates over code/length/value sub-options (options 43, 82, 125
// data, 175) and stops at an end (255) code or at the first truncated one.
// Pad (0) is skipped only when skipPad is set: option 82 has a sub-option 0.
func SubOptions(v []byte, skipPad bool) iter.Seq2[uint8, []byte] {
	return func(yield func(uint8, []byte) bool) {
		for i := 0; i < len(v); {
			c := v[i]
			if skipPad && c == 0 {
				i++
				continue
			}
			if skipPad && c == 255 {
				return
			}
			if i+2 > len(v) || i+2+int(v[i+1]) > len(v) {
				return
			}
			n := int(v[i+1])
			if !yield(c, v[i+2:i+2+n]) {
				return
			}
			i += 2 + n
		}
	}
}

// subOptionsValid reports whether v is an exact sequence of sub-options.
func subOptionsValid(v []byte, skipPad bool) bool {
	i := 0
	for i < len(v) {
		if skipPad && v[i] == 0 {
			i++
			continue
		}
		if skipPad && v[i] == 255 {
			return true
		}
		if i+2 > len(v) || i+2+int(v[i+1]) > len(v) {
			return false
		}
		i += 2 + int(v[i+1])
	}
	return true
}

// AppendSubOption appends one code/length/value sub-option; it reports false
// if the value is longer than 255 bytes.
func AppendSubOption(b []byte, code uint8, v []byte) ([]byte, bool) {
	if len(v) > 255 {
		return b, false
	}
	b = append(b, code, uint8(len(v)))
	return append(b, v...), true
}

// Accessors for what a client reads from an OFFER or ACK.

// SubnetMask returns option 1.
func (m *Message) SubnetMask() (netip.Addr, bool) { return m.Options.Addr(OptSubnetMask) }

// Routers returns option 3 (allocates).
func (m *Message) Routers() ([]netip.Addr, bool) { return m.Options.Addrs(OptRouter) }

// DNSServers returns option 6 (allocates).
func (m *Message) DNSServers() ([]netip.Addr, bool) { return m.Options.Addrs(OptDNSServers) }

// DomainName returns option 15 (aliases the message).
func (m *Message) DomainName() ([]byte, bool) { return m.text(OptDomainName) }

// RenewalTime returns option 58 (T1).
func (m *Message) RenewalTime() (time.Duration, bool) { return m.Options.Duration(OptRenewalTime) }

// RebindingTime returns option 59 (T2).
func (m *Message) RebindingTime() (time.Duration, bool) {
	return m.Options.Duration(OptRebindingTime)
}
