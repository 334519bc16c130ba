package dhcpv4

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// Hand-built wire messages.

// header returns a 236-byte BOOTREQUEST header: Ethernet, hlen 6,
// xid 0x01020304, chaddr 02:00:00:00:00:01, everything else zero.
func header() []byte {
	b := make([]byte, HeaderLen, 600)
	b[0], b[1], b[2] = 1, 1, 6
	copy(b[4:8], []byte{1, 2, 3, 4})
	copy(b[28:34], []byte{2, 0, 0, 0, 0, 1})
	return b
}

// pkt returns header() with the magic cookie and then opts, as given: no
// end option or padding is added.
func pkt(opts ...byte) []byte {
	b := append(header(), magicCookie[:]...)
	return append(b, opts...)
}

// withField copies v into b at off (sname or file) and returns b.
func withField(b []byte, off int, v ...byte) []byte {
	copy(b[off:], v)
	return b
}

// padded appends zeros to b up to MinLen.
func padded(b []byte) []byte {
	for len(b) < MinLen {
		b = append(b, 0)
	}
	return b
}

func mustParse(t testing.TB, b []byte) *Message {
	t.Helper()
	m := new(Message)
	if err := m.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	return m
}

func mustBuild(t testing.TB, m *Message, l *Layout) []byte {
	t.Helper()
	b, err := m.AppendLayout(nil, l)
	if err != nil {
		t.Fatalf("AppendLayout: %v", err)
	}
	return b
}

func TestParseHeader(t *testing.T) {
	b := pkt(53, 1, 3, 255)
	b[0] = 2
	b[1], b[2], b[3] = 6, 16, 3
	copy(b[4:], []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x80, 0x00})
	copy(b[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2, 10, 0, 0, 3, 10, 0, 0, 4})
	for i := range 16 {
		b[28+i] = byte(0xa0 + i)
	}
	copy(b[offSName:], "server.example")
	copy(b[offFile:], "/boot/pxelinux.0")
	m := mustParse(t, b)
	checks := []struct {
		name      string
		got, want any
	}{
		{"op", m.Op, BootReply},
		{"htype", m.HType, uint8(6)},
		{"hlen", m.HLen, uint8(16)},
		{"hops", m.Hops, uint8(3)},
		{"xid", m.XID, XID(0xdeadbeef)},
		{"secs", m.Secs, uint16(0x0102)},
		{"flags", m.Flags, FlagBroadcast},
		{"broadcast", m.Flags.Broadcast(), true},
		{"ciaddr", m.CIAddr, netip.MustParseAddr("10.0.0.1")},
		{"yiaddr", m.YIAddr, netip.MustParseAddr("10.0.0.2")},
		{"siaddr", m.SIAddr, netip.MustParseAddr("10.0.0.3")},
		{"giaddr", m.GIAddr, netip.MustParseAddr("10.0.0.4")},
		{"chaddr", m.HardwareAddr().String(), "a0:a1:a2:a3:a4:a5:a6:a7:a8:a9:aa:ab:ac:ad:ae:af"},
		{"sname", string(m.ServerName()), "server.example"},
		{"file", string(m.BootFile()), "/boot/pxelinux.0"},
		{"xid string", m.XID.String(), "0xdeadbeef"},
		{"op string", m.Op.String(), "BOOTREPLY"},
		{"nocookie", m.NoCookie, false},
		{"overloaded", m.Overloaded, uint8(0)},
		{"bootp", m.IsBOOTP(), false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got, want := OpCode(7).String(), "op(7)"; got != want {
		t.Errorf("OpCode(7).String() = %q, want %q", got, want)
	}
	if Flags(0x7fff).Broadcast() {
		t.Error("Flags(0x7fff).Broadcast() = true")
	}
	// A zero address field still parses as the IPv4 unspecified address.
	m = mustParse(t, pkt(255))
	if m.CIAddr != netip.IPv4Unspecified() || !m.GIAddr.Is4() {
		t.Errorf("zero ciaddr = %v, giaddr = %v; want 0.0.0.0", m.CIAddr, m.GIAddr)
	}
}

func TestHardwareAddrAndNames(t *testing.T) {
	var m Message
	m.SetHardwareAddr(HTypeEthernet, []byte{1, 2, 3, 4, 5, 6})
	if m.HType != 1 || m.HLen != 6 || m.HardwareAddr().String() != "01:02:03:04:05:06" {
		t.Errorf("after SetHardwareAddr: htype %d hlen %d hw %s", m.HType, m.HLen, m.HardwareAddr())
	}
	m.CHAddr[10] = 9
	m.SetHardwareAddr(HTypeEthernet, []byte{7, 8})
	if m.HLen != 2 || m.CHAddr != [16]byte{7, 8} {
		t.Errorf("SetHardwareAddr did not clear the rest: hlen %d chaddr %x", m.HLen, m.CHAddr)
	}
	hw := m.HardwareAddr()
	hw[0] = 0xff
	if m.CHAddr[0] != 7 {
		t.Error("HardwareAddr aliases the message")
	}
	m.SetHardwareAddr(1, bytes.Repeat([]byte{1}, 20))
	if m.HLen != 16 {
		t.Errorf("hlen after a 20-byte address = %d, want 16", m.HLen)
	}
	m.HLen = 200 // out of range: HardwareAddr must not panic
	if got := len(m.HardwareAddr()); got != 16 {
		t.Errorf("HardwareAddr with hlen 200 has %d bytes, want 16", got)
	}

	if !m.SetServerName(strings.Repeat("s", 63)) || len(m.ServerName()) != 63 {
		t.Error("63-byte server name was refused")
	}
	if m.SetServerName(strings.Repeat("s", 64)) {
		t.Error("64-byte server name (no room for the NUL) was accepted")
	}
	if !m.SetBootFile(strings.Repeat("f", 127)) || len(m.BootFile()) != 127 {
		t.Error("127-byte boot file was refused")
	}
	if m.SetBootFile(strings.Repeat("f", 128)) {
		t.Error("128-byte boot file was accepted")
	}
	if !m.SetBootFile("a") || string(m.BootFile()) != "a" || !isZero(m.File[1:]) {
		t.Errorf("SetBootFile(\"a\") left %q", m.File)
	}
	// A field without a NUL is all name.
	m.File = [128]byte(bytes.Repeat([]byte{'x'}, 128))
	if len(m.BootFile()) != 128 {
		t.Errorf("BootFile without NUL has %d bytes, want 128", len(m.BootFile()))
	}
}

func TestReset(t *testing.T) {
	m := mustParse(t, padded(pkt(53, 1, 1, 12, 2, 'h', 'i', 255)))
	m.Vendor = append(m.Vendor, 1, 2)
	m.Reset()
	// Everything zero, the addresses 0.0.0.0 as an empty field parses.
	var want Message
	want.CIAddr, want.YIAddr, want.SIAddr, want.GIAddr = unspecified, unspecified, unspecified, unspecified
	if !m.Equal(&want) {
		t.Errorf("after Reset: %s", dump(m))
	}
	if !m.CIAddr.Is4() || !m.CIAddr.IsUnspecified() {
		t.Errorf("ciaddr after Reset = %v, want 0.0.0.0", m.CIAddr)
	}
	if m.Options.Has(53) || m.Options.Has(12) || m.Options.Len() != 0 {
		t.Error("Reset kept options")
	}
	if len(m.Vendor) != 0 {
		t.Errorf("Reset kept vendor %x", m.Vendor)
	}
}

func TestCopyFrom(t *testing.T) {
	src := mustParse(t, padded(pkt(53, 1, 1, 12, 2, 'h', 'i', 255)))
	var dst Message
	dst.Options.Set(99, []byte("old"))
	dst.CopyFrom(src)
	if !dst.Equal(src) {
		t.Fatalf("copy differs:\n got %s\nwant %s", dump(&dst), dump(src))
	}
	src.Options.Set(12, []byte("changed"))
	src.CHAddr[0] = 0xee
	if v, _ := dst.Options.Get(12); string(v) != "hi" || dst.CHAddr[0] != 2 {
		t.Errorf("copy shares storage with its source: host name %q, chaddr[0] %#x", v, dst.CHAddr[0])
	}

	// Copying a message onto itself changes nothing.
	self := mustParse(t, padded(pkt(53, 1, 1, 12, 2, 'h', 'i', 255)))
	self.CopyFrom(self)
	self.Options.CopyFrom(&self.Options)
	if want := mustParse(t, padded(pkt(53, 1, 1, 12, 2, 'h', 'i', 255))); !self.Equal(want) {
		t.Errorf("CopyFrom itself: %s", dump(self))
	}

	bootp := mustParse(t, append(header(), bytes.Repeat([]byte{7}, 64)...))
	dst.CopyFrom(bootp)
	if !dst.Equal(bootp) || !dst.NoCookie {
		t.Fatalf("copy of a BOOTP message differs")
	}
	bootp.Vendor[0] = 8
	if dst.Vendor[0] != 7 {
		t.Error("copied Vendor aliases the source")
	}
}

func TestEqual(t *testing.T) {
	base := mustParse(t, padded(pkt(53, 1, 1, 12, 2, 'h', 'i', 255)))
	mods := map[string]func(m *Message){
		"op":         func(m *Message) { m.Op = BootReply },
		"htype":      func(m *Message) { m.HType++ },
		"hlen":       func(m *Message) { m.HLen++ },
		"hops":       func(m *Message) { m.Hops++ },
		"xid":        func(m *Message) { m.XID++ },
		"secs":       func(m *Message) { m.Secs++ },
		"flags":      func(m *Message) { m.Flags ^= FlagBroadcast },
		"ciaddr":     func(m *Message) { m.CIAddr = netip.MustParseAddr("1.2.3.4") },
		"yiaddr":     func(m *Message) { m.YIAddr = netip.MustParseAddr("1.2.3.4") },
		"siaddr":     func(m *Message) { m.SIAddr = netip.MustParseAddr("1.2.3.4") },
		"giaddr":     func(m *Message) { m.GIAddr = netip.MustParseAddr("1.2.3.4") },
		"chaddr":     func(m *Message) { m.CHAddr[15] = 1 },
		"sname":      func(m *Message) { m.SName[63] = 1 },
		"file":       func(m *Message) { m.File[127] = 1 },
		"overloaded": func(m *Message) { m.Overloaded = 1 },
		"nocookie":   func(m *Message) { m.NoCookie = true },
		"vendor":     func(m *Message) { m.Vendor = []byte{1} },
		"value":      func(m *Message) { m.Options.Set(12, []byte("ho")) },
		"extra":      func(m *Message) { m.Options.Set(1, nil) },
		"missing":    func(m *Message) { m.Options.Del(12) },
		"order": func(m *Message) {
			m.Options.Del(53)
			m.Options.SetUint8(53, 1)
		},
	}
	for name, mod := range mods {
		t.Run(name, func(t *testing.T) {
			var m Message
			m.CopyFrom(base)
			if !m.Equal(base) {
				t.Fatal("copy not Equal before the change")
			}
			mod(&m)
			if m.Equal(base) || base.Equal(&m) {
				t.Errorf("Equal ignores %s", name)
			}
		})
	}
	// A nil and an empty vendor area are the same.
	var a, b Message
	b.Vendor = []byte{}
	if !a.Equal(&b) {
		t.Error("nil and empty Vendor differ")
	}
}

// TestParseReuse parses different messages into one Message: nothing of the
// previous message may survive.
func TestParseReuse(t *testing.T) {
	var m Message
	over := padded(pkt(53, 1, 1, 52, 1, 3, 255))
	withField(over, offFile, 12, 1, 'f', 255)
	withField(over, offSName, 15, 1, 's', 255)
	msgs := [][]byte{
		padded(pkt(53, 1, 1, 12, 3, 'a', 'b', 'c', 61, 2, 1, 2, 255)),
		append(header(), bytes.Repeat([]byte{9}, 64)...),
		over,
		padded(pkt(53, 1, 5, 255)),
		padded(pkt(255)),
	}
	for round := range 2 {
		for i, b := range msgs {
			if err := m.UnmarshalBinary(b); err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			fresh := mustParse(t, b)
			if !m.Equal(fresh) {
				t.Errorf("round %d message %d: reused parse differs from a fresh one:\n got %s\nwant %s", round, i, dump(&m), dump(fresh))
			}
		}
	}
}

func TestParseCopiesInput(t *testing.T) {
	b := padded(pkt(53, 1, 1, 12, 2, 'h', 'i', 255))
	m := mustParse(t, b)
	for i := range b {
		b[i] = 0xff
	}
	if v, _ := m.HostName(); string(v) != "hi" {
		t.Errorf("host name after clobbering the input = %q, want \"hi\"", v)
	}
	if m.Op != BootRequest || m.CHAddr[0] != 2 {
		t.Error("header aliases the input")
	}
}

// TestConcatenation: repeated instances of one code are joined in the order
// options field, file, sname (RFC 3396 section 5); the value takes the place
// of the first instance.
func TestConcatenation(t *testing.T) {
	b := padded(pkt(
		53, 1, 1,
		12, 2, 'a', '1',
		52, 1, 3,
		15, 1, 'x',
		12, 2, 'a', '2',
		0, 0, // pads between options
		255))
	withField(b, offFile, 12, 1, 'f', 0, 60, 2, 'v', 'f', 255)
	withField(b, offSName, 60, 2, 'v', 's', 12, 1, 's', 255)
	m := mustParse(t, b)
	wantOpts := []struct {
		code uint8
		v    string
	}{{53, "\x01"}, {12, "a1a2fs"}, {15, "x"}, {60, "vfvs"}}
	if m.Options.Len() != len(wantOpts) {
		t.Fatalf("options = %s, want %v", dump(m), wantOpts)
	}
	for i, w := range wantOpts {
		code, v := m.Options.At(i)
		if code != w.code || string(v) != w.v {
			t.Errorf("option %d = %d %q, want %d %q", i, code, v, w.code, w.v)
		}
	}
	if m.Overloaded != 3 || !isZero(m.File[:]) || !isZero(m.SName[:]) {
		t.Errorf("Overloaded = %d, file %q, sname %q; want 3 and both zeroed", m.Overloaded, m.File, m.SName)
	}

	// RFC 3396 section 9 style: one long value split over many instances.
	long := make([]byte, 600)
	for i := range long {
		long[i] = byte(i)
	}
	opts := []byte{53, 1, 1}
	for v := long; len(v) > 0; {
		n := min(len(v), 255)
		opts = append(append(opts, 43, byte(n)), v[:n]...)
		v = v[n:]
	}
	m = mustParse(t, append(pkt(opts...), 255))
	if v, _ := m.Options.Get(43); !bytes.Equal(v, long) {
		t.Errorf("600-byte value split in 3 came back as %d bytes", len(v))
	}
}

func TestOverloadRead(t *testing.T) {
	tests := []struct {
		name       string
		ov         byte
		file       []byte
		sname      []byte
		want       map[uint8]string
		wantCodes  []uint8
		wantFile   string
		wantSName  string
		overloaded uint8
	}{
		{
			name: "file", ov: 1,
			file:      []byte{12, 4, 'h', 'o', 's', 't', 255},
			sname:     []byte("real-server"),
			want:      map[uint8]string{12: "host"},
			wantCodes: []uint8{53, 12}, wantSName: "real-server", overloaded: 1,
		},
		{
			name: "sname", ov: 2,
			file:      []byte("pxelinux.0"),
			sname:     []byte{66, 3, 't', 'f', 't', 255},
			want:      map[uint8]string{66: "tft"},
			wantCodes: []uint8{53, 66}, wantFile: "pxelinux.0", overloaded: 2,
		},
		{
			name: "both", ov: 3,
			file:      []byte{67, 2, 'b', 'f', 255},
			sname:     []byte{66, 2, 't', 's', 255},
			want:      map[uint8]string{66: "ts", 67: "bf"},
			wantCodes: []uint8{53, 67, 66}, overloaded: 3,
		},
		{
			// No end option in the overloaded field: the options run to its end.
			name: "file-no-end", ov: 1,
			file: append(append(bytes.Repeat([]byte{0}, 120), 12, 4), "full"...),
			want: map[uint8]string{12: "full"}, wantCodes: []uint8{53, 12}, overloaded: 1,
		},
		{
			name: "sname-exactly-full", ov: 2,
			sname: append([]byte{12, 62}, bytes.Repeat([]byte{'n'}, 62)...),
			want:  map[uint8]string{12: strings.Repeat("n", 62)}, wantCodes: []uint8{53, 12}, overloaded: 2,
		},
		{
			name: "empty-fields", ov: 3,
			wantCodes: []uint8{53}, overloaded: 3,
		},
		{
			name: "garbage-after-end", ov: 1,
			file:      []byte{12, 1, 'a', 255, 1, 200, 3},
			want:      map[uint8]string{12: "a"},
			wantCodes: []uint8{53, 12}, overloaded: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := padded(pkt(53, 1, 1, 52, 1, tt.ov, 255))
			withField(b, offFile, tt.file...)
			withField(b, offSName, tt.sname...)
			m := mustParse(t, b)
			if m.Overloaded != tt.overloaded {
				t.Errorf("Overloaded = %d, want %d", m.Overloaded, tt.overloaded)
			}
			if got := m.Options.Codes(nil); !slices.Equal(got, tt.wantCodes) {
				t.Errorf("codes = %v, want %v", got, tt.wantCodes)
			}
			if m.Options.Has(OptOverload) {
				t.Error("option 52 kept in Options")
			}
			for code, want := range tt.want {
				if v, ok := m.Options.Get(code); !ok || string(v) != want {
					t.Errorf("option %d = %q, %v; want %q", code, v, ok, want)
				}
			}
			if got := string(m.BootFile()); got != tt.wantFile {
				t.Errorf("file = %q, want %q", got, tt.wantFile)
			}
			if got := string(m.ServerName()); got != tt.wantSName {
				t.Errorf("sname = %q, want %q", got, tt.wantSName)
			}
			if tt.ov&1 != 0 && !isZero(m.File[:]) {
				t.Errorf("overloaded file not zeroed: %q", m.File)
			}
			if tt.ov&2 != 0 && !isZero(m.SName[:]) {
				t.Errorf("overloaded sname not zeroed: %q", m.SName)
			}
			// build(parse(b)) keeps every option.
			out := mustBuild(t, m, &Layout{MaxLen: 1500})
			m2 := mustParse(t, out)
			checkSubset(t, m, m2, 0)
			if m2.Overloaded != 0 {
				t.Errorf("rebuilt with room to spare, Overloaded = %d", m2.Overloaded)
			}
		})
	}
}

// TestOverloadWrite checks the exact bytes of a message whose options spill
// into file and sname.
func TestOverloadWrite(t *testing.T) {
	var m Message
	m.Op = BootReply
	m.SetHardwareAddr(1, []byte{2, 0, 0, 0, 0, 1})
	m.SetMessageType(Ack)
	m.Options.SetAddr(OptServerID, netip.MustParseAddr("192.0.2.1"))
	m.Options.Set(OptHostName, bytes.Repeat([]byte{'h'}, 100))   // 102 on the wire
	m.Options.Set(OptDomainName, bytes.Repeat([]byte{'d'}, 50))  // 52
	m.Options.Set(OptRootPath, bytes.Repeat([]byte{'r'}, 40))    // 42
	m.Options.Set(OptMessage, bytes.Repeat([]byte{'m'}, 30))     // 32
	m.Options.Set(OptVendorClass, bytes.Repeat([]byte{'v'}, 20)) // 22
	// MaxLen 300 leaves 60 bytes after the cookie: end (1), 52 (3), 53 (3)
	// and 54 (6) leave 47 in the options field; file holds 127 and sname 63
	// before their end options. In order: 12 (102) goes to file (25 left),
	// 15 (52) to sname (11 left), 17 (42) to the options field (5 left),
	// 56 (32) fits nowhere, 60 (22) goes to file.
	var l Layout
	l.MaxLen = MinLen
	b := mustBuild(t, &m, &l)
	if len(b) != MinLen {
		t.Fatalf("len = %d, want %d", len(b), MinLen)
	}
	if l.Omitted != 1 {
		t.Errorf("Omitted = %d, want 1", l.Omitted)
	}
	rep := func(c byte, n int) []byte { return bytes.Repeat([]byte{c}, n) }
	wantMain := slices.Concat([]byte{53, 1, 5, 52, 1, 3, 54, 4, 192, 0, 2, 1, 17, 40}, rep('r', 40), []byte{255})
	wantFile := slices.Concat([]byte{12, 100}, rep('h', 100), []byte{60, 20}, rep('v', 20), []byte{255})
	wantSName := slices.Concat([]byte{15, 50}, rep('d', 50), []byte{255})
	for _, f := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"options field", b[offOptions:], wantMain},
		{"file", b[offFile : offFile+lenFile], wantFile},
		{"sname", b[offSName : offSName+lenSName], wantSName},
	} {
		if !bytes.Equal(f.got[:len(f.want)], f.want) || !isZero(f.got[len(f.want):]) {
			t.Errorf("%s = %v\nwant %v and zeros", f.name, f.got, f.want)
		}
	}
	m2 := mustParse(t, b)
	if m2.Overloaded != 3 {
		t.Errorf("Overloaded = %d, want 3", m2.Overloaded)
	}
	if m2.Options.Has(OptMessage) {
		t.Error("omitted option 56 is in the message")
	}
	if got, want := m2.Options.Codes(nil), []uint8{53, 54, 17, 12, 60, 15}; !slices.Equal(got, want) {
		t.Errorf("re-parsed codes = %v, want %v (options field, file, sname)", got, want)
	}
	checkSubset(t, &m, m2, l.Omitted)
}

// bigMessage is an ACK whose options need more than DefaultMaxLen.
func bigMessage() *Message {
	m := new(Message)
	m.Op = BootReply
	m.SetHardwareAddr(1, []byte{2, 0, 0, 0, 0, 1})
	m.SetMessageType(Ack)
	m.Options.SetAddr(OptServerID, netip.MustParseAddr("192.0.2.1"))
	for code := uint8(100); code < 110; code++ {
		m.Options.Set(code, bytes.Repeat([]byte{code}, 40)) // 42 each on the wire
	}
	m.Options.Set(OptRelayAgentInfo, []byte{1, 2, 'c', 'i'})
	return m
}

func TestOverloadWriteChoices(t *testing.T) {
	tests := []struct {
		name        string
		layout      Layout
		file, sname string
		wantOv      uint8
		wantOmitted int
	}{
		// 308 bytes after the header: options field 308-1-3-3-6-6 = 289 → 6
		// options of 42; file 127 → 3; sname 63 → 1. All 10 placed.
		{name: "both-free", layout: Layout{MaxLen: 548}, wantOv: 3},
		{name: "file-in-use", layout: Layout{MaxLen: 548}, file: "boot.efi", wantOv: 2, wantOmitted: 3},
		{name: "sname-in-use", layout: Layout{MaxLen: 548}, sname: "tftp", wantOv: 1, wantOmitted: 1},
		// Without the 3 bytes of option 52 the options field takes 6 all the same.
		{name: "no-overload", layout: Layout{MaxLen: 548, NoOverload: true}, wantOmitted: 4},
		{name: "both-in-use", layout: Layout{MaxLen: 548}, file: "f", sname: "s", wantOmitted: 4},
		{name: "room-to-spare", layout: Layout{MaxLen: 1500}},
		{name: "zero-maxlen-is-548", layout: Layout{}, wantOv: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := bigMessage()
			m.SetBootFile(tt.file)
			m.SetServerName(tt.sname)
			l := tt.layout
			b := mustBuild(t, m, &l)
			limit := l.MaxLen
			if limit == 0 {
				limit = DefaultMaxLen
			}
			if len(b) > limit {
				t.Errorf("len = %d, over MaxLen %d", len(b), limit)
			}
			if l.Omitted != tt.wantOmitted {
				t.Errorf("Omitted = %d, want %d", l.Omitted, tt.wantOmitted)
			}
			m2 := mustParse(t, b)
			if m2.Overloaded != tt.wantOv {
				t.Errorf("Overloaded = %d, want %d", m2.Overloaded, tt.wantOv)
			}
			checkSubset(t, m, m2, l.Omitted)
			for _, code := range []uint8{OptMessageType, OptServerID, OptRelayAgentInfo} {
				if !m2.Options.Has(code) {
					t.Errorf("mandatory option %d was left out", code)
				}
			}
			if string(m2.BootFile()) != tt.file || string(m2.ServerName()) != tt.sname {
				t.Errorf("file %q sname %q, want %q %q", m2.BootFile(), m2.ServerName(), tt.file, tt.sname)
			}
			// Option 82 is the last option of the options field.
			if i := bytes.IndexByte(b[offOptions:], OptEnd); i < 6 || !bytes.Equal(b[offOptions+i-6:offOptions+i], []byte{82, 4, 1, 2, 'c', 'i'}) {
				t.Errorf("option 82 is not last in the options field: %v", b[offOptions:])
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	// Mandatory options alone overflow the options field: ErrTooBig, b unchanged.
	var m Message
	m.Op = BootReply
	m.SetMessageType(Ack)
	m.Options.Set(OptRelayAgentInfo, bytes.Repeat([]byte{1}, 400))
	prefix := []byte("prefix")
	b, err := m.AppendLayout(prefix, &Layout{MaxLen: 548})
	if !errors.Is(err, ErrTooBig) {
		t.Errorf("AppendLayout with 400 bytes of option 82 in 548: err = %v, want ErrTooBig", err)
	}
	if string(b) != "prefix" {
		t.Errorf("on error, b = %q, want the prefix only", b)
	}

	// AppendBinary refuses to leave options out.
	big := bigMessage()
	big.SetBootFile("x") // no overload into file: some options cannot fit
	big.SetServerName("y")
	b, err = big.AppendBinary(prefix)
	if !errors.Is(err, ErrTooBig) || string(b) != "prefix" {
		t.Errorf("AppendBinary of an oversize message = %q, %v; want the prefix and ErrTooBig", b, err)
	}
	if _, err := big.MarshalBinary(); !errors.Is(err, ErrTooBig) {
		t.Errorf("MarshalBinary of an oversize message: err = %v, want ErrTooBig", err)
	}
	// And accepts it with overload.
	big.SetBootFile("")
	big.SetServerName("")
	b, err = big.MarshalBinary()
	if err != nil || len(b) > DefaultMaxLen {
		t.Fatalf("MarshalBinary with overload = %d bytes, %v", len(b), err)
	}
	checkSubset(t, big, mustParse(t, b), 0)
}

// TestAppendAppends: AppendLayout appends after what b holds, and its offsets
// (file, sname for overload) are relative to the message, not to b.
func TestAppendAppends(t *testing.T) {
	m := bigMessage()
	alone := mustBuild(t, m, &Layout{})
	prefix := []byte("0123456789")
	b, err := m.AppendLayout(prefix, &Layout{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:10], prefix) || !bytes.Equal(b[10:], alone) {
		t.Errorf("AppendLayout after a prefix differs from a build on its own")
	}
}

func TestLongOptionSplit(t *testing.T) {
	for _, n := range []int{0, 1, 254, 255, 256, 509, 510, 511, 600, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			v := make([]byte, n)
			for i := range v {
				v[i] = byte(i * 7)
			}
			var m Message
			m.Op = BootRequest
			m.Options.Set(OptVendorSpecific, v)
			b := mustBuild(t, &m, &Layout{MaxLen: MaxLen})
			// On the wire: instances of 255 bytes, then the rest, one after the other.
			var lens []int
			i := offOptions
			for b[i] == OptVendorSpecific {
				lens = append(lens, int(b[i+1]))
				i += 2 + int(b[i+1])
			}
			if b[i] != OptEnd {
				t.Fatalf("option 43 instances not followed by end: %v", b[offOptions:i+1])
			}
			want := []int{0} // an empty value is one empty instance
			if n > 0 {
				want = nil
				for r := n; r > 0; r -= 255 {
					want = append(want, min(r, 255))
				}
			}
			if !slices.Equal(lens, want) {
				t.Errorf("instance lengths = %v, want %v", lens, want)
			}
			if got := wireLen(n); got != i-offOptions {
				t.Errorf("wireLen(%d) = %d, wrote %d", n, got, i-offOptions)
			}
			got, ok := mustParse(t, b).Options.Get(OptVendorSpecific)
			if !ok || !bytes.Equal(got, v) {
				t.Errorf("value came back as %d bytes, %v", len(got), ok)
			}
		})
	}
}

// wireCodes lists the option codes of the options field of a built message,
// one per instance.
func wireCodes(t *testing.T, b []byte) []uint8 {
	t.Helper()
	var codes []uint8
	for i := offOptions; i < len(b); {
		switch b[i] {
		case OptPad:
			i++
			continue
		case OptEnd:
			return codes
		}
		codes = append(codes, b[i])
		i += 2 + int(b[i+1])
	}
	t.Fatalf("no end option in %v", b[offOptions:])
	return nil
}

func TestLayoutOrder(t *testing.T) {
	var m Message
	m.Op = BootReply
	m.Options.Set(OptRelayAgentInfo, []byte{1, 1, 'x'})
	m.Options.SetAddrs(OptRouter, netip.MustParseAddr("192.0.2.1"))
	m.Options.SetAddr(OptSubnetMask, netip.MustParseAddr("255.255.255.0"))
	m.Options.SetAddrs(OptDNSServers, netip.MustParseAddr("192.0.2.53"))
	m.SetMessageType(Ack)
	m.Options.SetUint32(OptLeaseTime, 3600)
	m.Options.SetAddr(OptServerID, netip.MustParseAddr("192.0.2.1"))
	m.Options.SetString(OptHostName, "h")
	tests := []struct {
		name  string
		order []byte
		want  []uint8
	}{
		{"stored", nil, []uint8{53, 3, 1, 6, 51, 54, 12, 82}},
		{"prl", []byte{1, 3, 6, 82, 53, 99, 1}, []uint8{53, 1, 3, 6, 51, 54, 12, 82}},
		{"prl-partial", []byte{12, 54}, []uint8{53, 12, 54, 3, 1, 6, 51, 82}},
		{"prl-only-absent", []byte{200, 201}, []uint8{53, 3, 1, 6, 51, 54, 12, 82}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBuild(t, &m, &Layout{Order: tt.order})
			if got := wireCodes(t, b); !slices.Equal(got, tt.want) {
				t.Errorf("wire order = %v, want %v", got, tt.want)
			}
			// The stored order is left alone.
			if got := m.Options.Codes(nil); !slices.Equal(got, []uint8{82, 3, 1, 6, 53, 51, 54, 12}) {
				t.Errorf("AppendLayout changed the stored order to %v", got)
			}
		})
	}
	// With overload, 53 stays first with 52 right after it, 82 stays last.
	big := bigMessage()
	big.Options.Del(OptMessageType)
	big.SetMessageType(Offer) // now stored after 82
	b := mustBuild(t, big, &Layout{Order: []byte{82, 109, 108}})
	codes := wireCodes(t, b)
	if len(codes) < 4 || codes[0] != 53 || codes[1] != 52 || codes[len(codes)-1] != 82 || codes[2] != 109 {
		t.Errorf("overloaded wire order = %v, want 53 52 109 ... 82", codes)
	}
}

func TestMaxLenFromOption57(t *testing.T) {
	for _, tt := range []struct {
		v    uint16
		want int
	}{{0, 548}, {1, 548}, {575, 548}, {576, 548}, {577, 549}, {1500, 1472}, {65535, 65507}} {
		if got := MaxLenFromOption57(tt.v); got != tt.want {
			t.Errorf("MaxLenFromOption57(%d) = %d, want %d", tt.v, got, tt.want)
		}
	}
	// End to end: a client's option 57 bounds the reply.
	req := mustParse(t, padded(pkt(53, 1, 1, 57, 2, 0x02, 0x40, 255))) // 576
	size, ok := req.MaxMessageSize()
	if !ok || size != 576 {
		t.Fatalf("MaxMessageSize() = %d, %v; want 576", size, ok)
	}
	b := mustBuild(t, bigMessage(), &Layout{MaxLen: MaxLenFromOption57(size)})
	if len(b) > 548 {
		t.Errorf("reply of %d bytes exceeds the client's 576-byte datagram", len(b))
	}
	// Layout.MaxLen below MinLen is raised to it; above MaxLen, lowered to it.
	var m Message
	m.Options.Set(OptVendorSpecific, make([]byte, 50))
	for _, ml := range []int{1, 299} {
		l := Layout{MaxLen: ml}
		if b := mustBuild(t, &m, &l); len(b) != MinLen || l.Omitted != 0 {
			t.Errorf("MaxLen %d: len %d omitted %d; want %d and 0", ml, len(b), l.Omitted, MinLen)
		}
	}
	m.Options.Set(OptVendorSpecific, make([]byte, 70000))
	l := Layout{MaxLen: 100000}
	b = mustBuild(t, &m, &l)
	if len(b) > MaxLen || l.Omitted != 1 {
		t.Errorf("MaxLen 100000 with a 70000-byte option: len %d omitted %d; want at most %d and 1", len(b), l.Omitted, MaxLen)
	}
}

func TestPadding(t *testing.T) {
	tests := []struct {
		name    string
		set     func(m *Message)
		wantLen int
	}{
		{"empty", func(m *Message) {}, MinLen},
		{"one-option", func(m *Message) { m.SetMessageType(Discover) }, MinLen},
		// 240 + 58 + 1 = 299: padded; 240 + 59 + 1 = 300 exactly; 301 left alone.
		{"299", func(m *Message) { m.Options.Set(43, make([]byte, 56)) }, MinLen},
		{"300", func(m *Message) { m.Options.Set(43, make([]byte, 57)) }, MinLen},
		{"301", func(m *Message) { m.Options.Set(43, make([]byte, 58)) }, 301},
		{"bootp-empty-vendor", func(m *Message) { m.NoCookie = true }, MinLen},
		{"bootp-long-vendor", func(m *Message) { m.NoCookie, m.Vendor = true, make([]byte, 100) }, 336},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Message
			m.Op = BootRequest
			tt.set(&m)
			b := mustBuild(t, &m, &Layout{MaxLen: 1500})
			if len(b) != tt.wantLen {
				t.Errorf("len = %d, want %d", len(b), tt.wantLen)
			}
			if m.NoCookie {
				return
			}
			end := offOptions
			for b[end] != OptEnd {
				end += 2 + int(b[end+1])
			}
			if !isZero(b[end+1:]) {
				t.Errorf("padding after the end option is not zero: %v", b[end+1:])
			}
		})
	}
}

func TestBOOTP(t *testing.T) {
	t.Run("no-cookie", func(t *testing.T) {
		// RFC 951 vendor area with something other than the cookie.
		vend := make([]byte, 64)
		copy(vend, "CMU\x00 vendor data")
		b := append(header(), vend...)
		m := mustParse(t, b)
		if !m.NoCookie || !bytes.Equal(m.Vendor, vend) || m.Options.Len() != 0 || !m.IsBOOTP() {
			t.Fatalf("NoCookie %v, Vendor %q, %d options, IsBOOTP %v", m.NoCookie, m.Vendor, m.Options.Len(), m.IsBOOTP())
		}
		if err := m.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
		out := mustBuild(t, m, &Layout{})
		if !bytes.Equal(out, b) {
			t.Errorf("rebuilt BOOTP message differs:\n got %x\nwant %x", out, b)
		}
		// Options set on a NoCookie message are not written.
		m.Options.SetUint8(OptMessageType, 1)
		if out := mustBuild(t, m, &Layout{}); !bytes.Equal(out, b) {
			t.Error("options written into a NoCookie message")
		}
	})
	t.Run("vendor-over-maxlen", func(t *testing.T) {
		// The vendor area is bounded by Layout.MaxLen like options are.
		var m Message
		m.Op = BootRequest
		m.NoCookie = true
		m.Vendor = make([]byte, DefaultMaxLen-HeaderLen)
		if b, err := m.AppendLayout(nil, &Layout{}); err != nil || len(b) != DefaultMaxLen {
			t.Errorf("vendor area filling 548 bytes: %d bytes, %v", len(b), err)
		}
		m.Vendor = append(m.Vendor, 0)
		if b, err := m.AppendLayout([]byte{1}, &Layout{}); !errors.Is(err, ErrTooBig) || len(b) != 1 {
			t.Errorf("vendor area one byte over 548: %d bytes, %v; want ErrTooBig", len(b), err)
		}
		if _, err := m.AppendLayout(nil, &Layout{MaxLen: 1500}); err != nil {
			t.Errorf("the same in 1500: %v", err)
		}
	})
	t.Run("cookie-prefix", func(t *testing.T) {
		// 239 bytes: three bytes of the cookie are not a cookie.
		b := append(header(), magicCookie[:3]...)
		m := mustParse(t, b)
		if !m.NoCookie || !bytes.Equal(m.Vendor, magicCookie[:3]) {
			t.Errorf("NoCookie %v, Vendor %x; want true and the 3 bytes", m.NoCookie, m.Vendor)
		}
	})
	t.Run("header-only", func(t *testing.T) {
		b := header()
		m := mustParse(t, b)
		if !m.NoCookie || len(m.Vendor) != 0 || m.Options.Len() != 0 {
			t.Fatalf("236-byte message: NoCookie %v, Vendor %x, %d options", m.NoCookie, m.Vendor, m.Options.Len())
		}
		if m.XID != 0x01020304 || m.HardwareAddr().String() != "02:00:00:00:00:01" {
			t.Errorf("header: xid %v chaddr %s", m.XID, m.HardwareAddr())
		}
		// Rebuilt, it is padded to 300 bytes: the vendor area comes back as 64 zeros.
		out := mustBuild(t, m, &Layout{})
		if len(out) != MinLen || !bytes.Equal(out[:HeaderLen], b) || !isZero(out[HeaderLen:]) {
			t.Errorf("rebuilt header-only message: %d bytes %x", len(out), out)
		}
		m2 := mustParse(t, out)
		if !bytes.Equal(m2.Vendor, make([]byte, 64)) {
			t.Errorf("re-parsed vendor = %x, want 64 zeros", m2.Vendor)
		}
	})
	t.Run("rfc1497", func(t *testing.T) {
		// RFC 1497 vendor extensions in the 64-byte vendor area of a 300-byte
		// BOOTP reply: cookie, options, end, pad.
		b := pkt(
			1, 4, 255, 255, 255, 0,
			3, 4, 192, 0, 2, 1,
			12, 5, 'h', 'o', 's', 't', '1',
			13, 2, 0, 42,
			255)
		b = padded(b)
		b[0] = 2
		if len(b) != 300 {
			t.Fatalf("test message is %d bytes", len(b))
		}
		m := mustParse(t, b)
		if m.NoCookie || !m.IsBOOTP() || m.Options.Len() != 4 {
			t.Fatalf("NoCookie %v IsBOOTP %v options %d; want false true 4", m.NoCookie, m.IsBOOTP(), m.Options.Len())
		}
		if v, ok := m.Options.Addr(OptSubnetMask); !ok || v.String() != "255.255.255.0" {
			t.Errorf("subnet mask = %v, %v", v, ok)
		}
		if v, ok := m.Options.Uint16(OptBootFileSize); !ok || v != 42 {
			t.Errorf("boot file size = %d, %v", v, ok)
		}
		if v, ok := m.HostName(); !ok || string(v) != "host1" {
			t.Errorf("host name = %q, %v", v, ok)
		}
		if err := m.Validate(); err != nil {
			t.Errorf("Validate: %v", err)
		}
		if out := mustBuild(t, m, &Layout{}); !bytes.Equal(out, b) {
			t.Errorf("rebuilt RFC 1497 message differs:\n got %x\nwant %x", out, b)
		}
	})
}

// TestOverloadOptionNotCopied: option 52 is decided by the builder; one set
// by hand in Options must not reach the wire, or a parser would read the
// boot file name as options.
func TestOverloadOptionNotCopied(t *testing.T) {
	var m Message
	m.Op = BootReply
	m.SetMessageType(Offer)
	m.Options.SetUint8(OptOverload, 1)
	m.SetBootFile("pxelinux.0")
	for _, l := range []Layout{{MaxLen: 1500}, {MaxLen: 300}} {
		b := mustBuild(t, &m, &l)
		m2 := mustParse(t, b)
		if string(m2.BootFile()) != "pxelinux.0" || m2.Overloaded != 0 {
			t.Errorf("MaxLen %d: file %q, Overloaded %d; want pxelinux.0 and 0", l.MaxLen, m2.BootFile(), m2.Overloaded)
		}
		if slices.Contains(wireCodes(t, b), OptOverload) {
			t.Errorf("MaxLen %d: option 52 written", l.MaxLen)
		}
	}
	// Even when the builder overloads itself: only its own option 52.
	big := bigMessage()
	big.Options.SetUint8(OptOverload, 2)
	b := mustBuild(t, big, &Layout{})
	codes := wireCodes(t, b)
	if n := bytes.Count(codes, []byte{OptOverload}); n != 1 || codes[1] != OptOverload {
		t.Errorf("wire codes %v, want one option 52, after the message type", codes)
	}
	m2 := mustParse(t, b)
	checkSubset(t, bigMessage(), m2, 0)
}

func TestParseErrors(t *testing.T) {
	over := func(ov byte, file, sname []byte) []byte {
		b := padded(pkt(53, 1, 1, 52, 1, ov, 255))
		withField(b, offFile, file...)
		return withField(b, offSName, sname...)
	}
	withHeader := func(off int, v byte) []byte {
		b := padded(pkt(255))
		b[off] = v
		return b
	}
	tooLong := padded(pkt(255))
	tooLong = append(tooLong, make([]byte, MaxLen+1-len(tooLong))...)
	tests := []struct {
		name   string
		b      []byte
		want   error
		area   string
		offset int
		code   int
	}{
		{"too-long", tooLong, ErrTooLong, "header", MaxLen, -1},
		{"op-0", withHeader(0, 0), ErrBadOp, "header", 0, -1},
		{"op-3", withHeader(0, 3), ErrBadOp, "header", 0, -1},
		{"op-255", withHeader(0, 255), ErrBadOp, "header", 0, -1},
		{"hlen-17", withHeader(2, 17), ErrBadHLen, "header", 2, -1},
		{"hlen-255", withHeader(2, 255), ErrBadHLen, "header", 2, -1},
		{"no-end-cookie-only", pkt(), ErrNoEnd, AreaOptions, 240, -1},
		{"no-end", pkt(53, 1, 1), ErrNoEnd, AreaOptions, 243, -1},
		{"no-end-pads", pkt(53, 1, 1, 0, 0, 0), ErrNoEnd, AreaOptions, 246, -1},
		{"no-length-byte", pkt(53, 1, 1, 12), ErrOptionTruncated, AreaOptions, 243, 12},
		{"value-past-end", pkt(53, 1, 1, 12, 5, 'a', 'b'), ErrOptionTruncated, AreaOptions, 243, 12},
		{"value-past-end-by-one", pkt(12, 2, 'a'), ErrOptionTruncated, AreaOptions, 240, 12},
		{"file-value-past-end", over(1, []byte{12, 200, 'x'}, nil), ErrOptionTruncated, AreaFile, offFile, 12},
		{"file-no-length-byte", over(1, append(make([]byte, 127), 12), nil), ErrOptionTruncated, AreaFile, offFile + 127, 12},
		{"sname-value-past-end", over(2, nil, []byte{0, 15, 63}), ErrOptionTruncated, AreaSName, offSName + 1, 15},
		{"sname-past-end-with-file", over(3, []byte{255}, append(make([]byte, 62), 1, 1)), ErrOptionTruncated, AreaSName, offSName + 62, 1},
		{"loop-in-file", over(1, []byte{12, 1, 'a', 52, 1, 1, 255}, nil), ErrOverloadLoop, AreaFile, offFile + 3, 52},
		{"loop-in-sname", over(2, nil, []byte{52, 1, 3, 255}), ErrOverloadLoop, AreaSName, offSName, 52},
		{"loop-in-sname-both", over(3, []byte{255}, []byte{52, 1, 2}), ErrOverloadLoop, AreaSName, offSName, 52},
		{"overload-0", padded(pkt(53, 1, 1, 52, 1, 0, 255)), ErrBadOverload, AreaOptions, 243, 52},
		{"overload-4", padded(pkt(52, 1, 4, 255)), ErrBadOverload, AreaOptions, 240, 52},
		{"overload-255", padded(pkt(52, 1, 255, 255)), ErrBadOverload, AreaOptions, 240, 52},
		{"overload-two-bytes", padded(pkt(52, 2, 1, 1, 255)), ErrBadOverload, AreaOptions, 240, 52},
		{"overload-empty", padded(pkt(53, 1, 1, 52, 0, 255)), ErrBadOverload, AreaOptions, 243, 52},
		{"overload-twice", padded(pkt(53, 1, 1, 52, 1, 1, 52, 1, 2, 255)), ErrBadOverload, AreaOptions, 243, 52},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkParseError(t, tt.b, tt.want, tt.area, tt.offset, tt.code)
		})
	}
}

func checkParseError(t *testing.T, b []byte, want error, area string, offset, code int) {
	t.Helper()
	var m Message
	err := m.UnmarshalBinary(b)
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err %T is not a *ParseError", err)
	}
	if pe.Area != area || pe.Offset != offset || pe.Code != code {
		t.Errorf("ParseError{Area %q, Offset %d, Code %d}, want {%q, %d, %d}", pe.Area, pe.Offset, pe.Code, area, offset, code)
	}
	if pe.Offset < 0 || pe.Offset > len(b) {
		t.Errorf("offset %d outside the %d-byte message", pe.Offset, len(b))
	}
}

func TestParseShort(t *testing.T) {
	full := padded(pkt(53, 1, 1, 255))
	for n := range HeaderLen {
		checkParseError(t, full[:n], ErrShort, "header", n, -1)
	}
	// 236 to 239 bytes: no room for the cookie, so plain BOOTP.
	for n := HeaderLen; n < offOptions; n++ {
		m := mustParse(t, full[:n])
		if !m.NoCookie || len(m.Vendor) != n-HeaderLen {
			t.Errorf("%d bytes: NoCookie %v, %d vendor bytes", n, m.NoCookie, len(m.Vendor))
		}
	}
	// The header checks come before the length of the options matters.
	b := header()
	b[0] = 9
	checkParseError(t, b, ErrBadOp, "header", 0, -1)
}

func TestParseErrorString(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&ParseError{Area: AreaOptions, Offset: 243, Code: 12, Err: ErrOptionTruncated},
			"dhcpv4: options at offset 243 (option 12): option runs past the end of its field"},
		{&ParseError{Area: "header", Offset: 10, Code: -1, Err: ErrShort},
			"dhcpv4: header at offset 10: message shorter than the 236-byte BOOTP header"},
		{&OptionError{Code: 50, Reason: "length 3, want 4"},
			"dhcpv4: option 50 (requested-address): length 3, want 4"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if !errors.Is(&OptionError{Code: 1}, ErrMalformed) {
		t.Error("OptionError does not unwrap to ErrMalformed")
	}
}

func TestParseLimits(t *testing.T) {
	// The largest message parses.
	b := padded(pkt(53, 1, 1))
	for len(b)+2+255 < MaxLen {
		b = append(append(b, 43, 255), make([]byte, 255)...)
	}
	b = append(b, 255)
	b = append(b, make([]byte, MaxLen-len(b))...)
	m := mustParse(t, b)
	if v, _ := m.Options.Get(43); len(v) < 60000 {
		t.Errorf("option 43 has %d bytes", len(v))
	}

	// A message made of empty options, more instances than
	// MaxOptionInstances: rejected with ErrTooManyOptions at the first one
	// over the bound, never a panic or an unbounded scratch space.
	b = pkt()
	for len(b)+3 <= offOptions+4+2*(MaxOptionInstances+10) {
		b = append(b, 100+byte(len(b)/2%50), 0)
	}
	b = append(b, 255)
	var tm Message
	err := tm.UnmarshalBinary(padded(b))
	var pe *ParseError
	if !errors.Is(err, ErrTooManyOptions) || !errors.As(err, &pe) {
		t.Fatalf("parse of %d empty options: %v, want ErrTooManyOptions", MaxOptionInstances+10, err)
	}
	if want := offOptions + 2*MaxOptionInstances; pe.Offset != want {
		t.Errorf("ErrTooManyOptions at offset %d, want %d", pe.Offset, want)
	}
	if cap(tm.raw) > 2*MaxOptionInstances {
		t.Errorf("scratch grew to %d instances", cap(tm.raw))
	}

	// Exactly MaxOptionInstances instances, spread over options, file and sname, parse.
	b = pkt(52, 1, 3)
	for i := 0; i+2 <= lenFile; i += 2 {
		b[offFile+i] = 7
	}
	for i := 0; i+2 <= lenSName; i += 2 {
		b[offSName+i] = 8
	}
	for n := 1 + lenFile/2 + lenSName/2; n < MaxOptionInstances; n++ {
		b = append(b, 100+byte(n%50), 0)
	}
	b = append(b, 255)
	m = mustParse(t, b)
	if m.Options.Len() != 52 || !m.Options.Has(7) || !m.Options.Has(8) {
		t.Errorf("%d distinct options, want 52", m.Options.Len())
	}
}

// Generated messages.

// genCode returns an option code that can be set: not pad, end or overload.
func genCode(r *rand.Rand) uint8 {
	for {
		c := uint8(r.UintN(256))
		switch c {
		case OptPad, OptEnd, OptOverload:
			continue
		}
		if r.IntN(4) == 0 { // favour the codes a server cares about
			return []uint8{OptMessageType, OptServerID, OptRelayAgentInfo, OptHostName, OptClientID, OptParamRequestList}[r.IntN(6)]
		}
		return c
	}
}

func genBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// genValue returns an option value: empty, short, or long (over 255 bytes).
func genValue(r *rand.Rand, maxLong int) []byte {
	switch k := r.IntN(10); {
	case k == 0:
		return nil
	case k == 1 && maxLong > 256:
		return genBytes(r, 256+r.IntN(maxLong-256))
	default:
		return genBytes(r, 1+r.IntN(40))
	}
}

// genMessage fills m with random header fields and options. With fields,
// sname and file get random contents some of the time.
func genMessage(r *rand.Rand, m *Message, nOpts, maxLong int, fields bool) {
	m.Reset()
	m.Op = OpCode(1 + r.IntN(2))
	m.HType = uint8(r.UintN(256))
	m.HLen = uint8(r.IntN(17))
	copy(m.CHAddr[:], genBytes(r, 16))
	m.Hops = uint8(r.UintN(256))
	m.XID = XID(r.Uint32())
	m.Secs = uint16(r.UintN(1 << 16))
	m.Flags = Flags(r.UintN(1 << 16))
	m.CIAddr = netip.AddrFrom4([4]byte(genBytes(r, 4)))
	m.YIAddr = netip.AddrFrom4([4]byte(genBytes(r, 4)))
	m.SIAddr = netip.AddrFrom4([4]byte(genBytes(r, 4)))
	m.GIAddr = netip.AddrFrom4([4]byte(genBytes(r, 4)))
	if fields {
		for _, f := range [][]byte{m.SName[:], m.File[:]} {
			switch r.IntN(3) {
			case 0: // a name
				n := copy(f, strings.Repeat("x", r.IntN(len(f))))
				clear(f[n:])
			case 1: // anything
				copy(f, genBytes(r, len(f)))
			}
		}
	}
	if r.IntN(20) == 0 {
		m.NoCookie = true
		m.Vendor = genBytes(r, 64+r.IntN(300))
		m.Vendor[0] = 0 // not the cookie
		return
	}
	for range r.IntN(nOpts + 1) {
		code := genCode(r)
		if r.IntN(4) == 0 {
			m.Options.Append(code, genValue(r, maxLong))
		} else {
			m.Options.Set(code, genValue(r, maxLong))
		}
	}
}

// expectedWire returns a copy of m with its options in the order
// AppendLayout writes them when everything fits: message type, the codes
// of order, the others as stored, relay agent information.
func expectedWire(m *Message, order []byte) *Message {
	w := new(Message)
	w.CopyFrom(m)
	w.Options.Reset()
	add := func(code uint8) {
		if v, ok := m.Options.Get(code); ok && !w.Options.Has(code) && code != OptRelayAgentInfo && code != OptOverload {
			w.Options.Set(code, v)
		}
	}
	add(OptMessageType)
	for _, c := range order {
		add(c)
	}
	for c := range m.Options.All() {
		add(c)
	}
	if v, ok := m.Options.Get(OptRelayAgentInfo); ok {
		w.Options.Set(OptRelayAgentInfo, v)
	}
	w.Overloaded = 0
	return w
}

// TestRoundTripGenerated: parse(build(m)) == m when everything fits.
func TestRoundTripGenerated(t *testing.T) {
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 0x626f6f7464))
		var m, got Message
		var buf []byte
		for i := range 2000 {
			genMessage(r, &m, 30, 1200, true)
			var order []byte
			if r.IntN(2) == 0 {
				order = genBytes(r, r.IntN(20))
			}
			l := Layout{MaxLen: MaxLen, Order: order}
			var err error
			buf, err = m.AppendLayout(buf[:0], &l)
			if err != nil || l.Omitted != 0 {
				t.Fatalf("seed %d #%d: AppendLayout: %v, omitted %d", seed, i, err, l.Omitted)
			}
			if len(buf) < MinLen || len(buf) > MaxLen {
				t.Fatalf("seed %d #%d: built %d bytes", seed, i, len(buf))
			}
			if err := got.UnmarshalBinary(buf); err != nil {
				t.Fatalf("seed %d #%d: UnmarshalBinary: %v\n%s", seed, i, err, dump(&m))
			}
			want := expectedWire(&m, order)
			if !got.Equal(want) {
				t.Fatalf("seed %d #%d: round trip differs:\n got %s\nwant %s", seed, i, dump(&got), dump(want))
			}
		}
	}
}

// TestRoundTripSmall: in 548 bytes (or less) options overflow into file and
// sname or are left out; what is not left out comes back unchanged.
func TestRoundTripSmall(t *testing.T) {
	var overloads, omissions, tooBig int
	for seed := range uint64(4) {
		r := rand.New(rand.NewPCG(seed, 0x736d616c6c))
		var m, got Message
		var buf []byte
		for i := range 3000 {
			genMessage(r, &m, 25, 400, r.IntN(3) == 0)
			if m.NoCookie {
				continue
			}
			l := Layout{MaxLen: []int{0, 300, 400, 548}[r.IntN(4)], NoOverload: r.IntN(5) == 0}
			if r.IntN(2) == 0 {
				l.Order = genBytes(r, r.IntN(20))
			}
			maxLen := l.MaxLen
			if maxLen == 0 {
				maxLen = DefaultMaxLen
			}
			fileFree := !l.NoOverload && isZero(m.File[:])
			snameFree := !l.NoOverload && isZero(m.SName[:])
			room := maxLen - offOptions - 1 // after the cookie, before the end option
			total, mandatory := 0, 0
			for code, v := range m.Options.All() {
				total += wireLen(len(v))
				if code == OptMessageType || code == OptServerID || code == OptRelayAgentInfo {
					mandatory += wireLen(len(v))
				}
			}
			fits := total <= room
			overloadRoom := room
			if fileFree || snameFree {
				overloadRoom -= 3
			}

			var err error
			buf, err = m.AppendLayout(buf[:0], &l)
			if errors.Is(err, ErrTooBig) {
				if fits || mandatory <= overloadRoom {
					t.Fatalf("seed %d #%d: ErrTooBig with %d of %d bytes mandatory", seed, i, mandatory, overloadRoom)
				}
				tooBig++
				continue
			}
			if err != nil {
				t.Fatalf("seed %d #%d: %v", seed, i, err)
			}
			if len(buf) > maxLen || len(buf) < MinLen {
				t.Fatalf("seed %d #%d: %d bytes for MaxLen %d", seed, i, len(buf), maxLen)
			}
			if err := got.UnmarshalBinary(buf); err != nil {
				t.Fatalf("seed %d #%d: UnmarshalBinary: %v", seed, i, err)
			}
			checkSubset(t, &m, &got, l.Omitted)
			if t.Failed() {
				t.Fatalf("seed %d #%d: message %s\nre-parsed %s", seed, i, dump(&m), dump(&got))
			}
			if fits {
				if got.Overloaded != 0 || l.Omitted != 0 || !got.Equal(expectedWire(&m, l.Order)) {
					t.Fatalf("seed %d #%d: fits, but Overloaded %d Omitted %d or differs:\n got %s\nwant %s",
						seed, i, got.Overloaded, l.Omitted, dump(&got), dump(expectedWire(&m, l.Order)))
				}
				continue
			}
			if got.Overloaded == 0 && l.Omitted == 0 {
				t.Fatalf("seed %d #%d: %d bytes of options in %d, but no overload and nothing omitted", seed, i, total, room)
			}
			if got.Overloaded&1 != 0 && !fileFree || got.Overloaded&2 != 0 && !snameFree {
				t.Fatalf("seed %d #%d: Overloaded %d, file free %v, sname free %v", seed, i, got.Overloaded, fileFree, snameFree)
			}
			if got.Overloaded&1 == 0 && got.File != m.File || got.Overloaded&2 == 0 && got.SName != m.SName {
				t.Fatalf("seed %d #%d: a field not overloaded changed", seed, i)
			}
			for _, code := range []uint8{OptMessageType, OptServerID, OptRelayAgentInfo} {
				if m.Options.Has(code) && !got.Options.Has(code) {
					t.Fatalf("seed %d #%d: mandatory option %d left out", seed, i, code)
				}
			}
			if got.Overloaded != 0 {
				overloads++
			}
			if l.Omitted != 0 {
				omissions++
			}
		}
	}
	// The generator must reach every branch.
	if overloads < 100 || omissions < 100 || tooBig < 10 {
		t.Errorf("only %d overloads, %d with omissions, %d too big", overloads, omissions, tooBig)
	}
	t.Logf("%d overloads, %d with omissions, %d too big", overloads, omissions, tooBig)
}

// Reset must clear every field, whatever the previous message held.
func TestResetClearsEverything(t *testing.T) {
	var fresh Message
	fresh.Reset()
	for _, name := range []string{"dnsmasq-overload-ack", "ipxe-request", "dhcrelay-request"} {
		m := mustParse(t, loadCapture(t, name).data)
		m.NoCookie, m.Vendor = true, append(m.Vendor, 1, 2, 3)
		m.Reset()
		if !m.Equal(&fresh) {
			t.Errorf("%s: Reset left fields set: %+v", name, m)
		}
		if m.Options.Len() != 0 || len(m.raw) != 0 {
			t.Errorf("%s: Reset left %d options, %d raw instances", name, m.Options.Len(), len(m.raw))
		}
	}
}
