package dhcpv4

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the seed corpus in testdata/fuzz from the captures and hand-built messages")

// parseSentinels are the errors UnmarshalBinary may return (wrapped).
var parseSentinels = []error{ErrShort, ErrTooLong, ErrBadOp, ErrBadHLen, ErrOptionTruncated, ErrNoEnd, ErrBadOverload, ErrOverloadLoop, ErrTooManyOptions}

// handSeeds are hand-built messages for FuzzParse: each feature of the
// format and each bad-input case that gets past the header checks.
func handSeeds() map[string][]byte {
	over := func(ov byte, file, sname []byte, opts ...byte) []byte {
		b := padded(pkt(append(append([]byte{53, 1, 1, 52, 1, ov}, opts...), 255)...))
		withField(b, offFile, file...)
		return withField(b, offSName, sname...)
	}
	relayed := padded(pkt(
		53, 1, 1,
		61, 7, 1, 2, 0, 0, 0, 0, 1,
		55, 4, 1, 3, 6, 15,
		57, 2, 5, 220,
		82, 18, 1, 4, 'e', 't', 'h', '0', 2, 2, 0xab, 0xcd, 5, 4, 10, 1, 0, 0, 11, 4, 10, 0, 0, 1,
		255))
	relayed[3], relayed[24], relayed[25], relayed[26], relayed[27] = 1, 10, 1, 0, 1
	pxe := padded(pkt(slices.Concat(
		[]byte{53, 1, 1, 93, 2, 0, 7, 94, 3, 1, 3, 16, 97, 17, 0}, make([]byte, 16),
		[]byte{60, 9}, []byte("PXEClient"),
		[]byte{77, 5, 4, 'i', 'P', 'X', 'E', 175, 3, 0xb1, 1, 1},
		[]byte{81, 9, 5, 0, 0, 4, 'h', 'o', 's', 't', 0},
		[]byte{124, 10, 0, 0, 0x11, 0x8b, 5, 4, 'a', 'b', 'c', 'd'},
		[]byte{125, 8, 0, 0, 0x0d, 0xe9, 3, 1, 1, 'x'},
		[]byte{255})...))
	reply := padded(pkt(slices.Concat(
		[]byte{53, 1, 5, 54, 4, 10, 0, 0, 1, 51, 4, 0, 0, 14, 16, 1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 0, 1},
		[]byte{121, 10, 0, 10, 0, 0, 1, 8, 10, 10, 0, 0, 1},
		[]byte{119, 12, 7}, []byte("example"), []byte{0, 3, 'l', 'a', 'b', 0xc0, 0},
		[]byte{56, 3, 'n', 'a', 'k', 255})...))
	reply[0] = 2
	bootp := append(header(), bytes.Repeat([]byte{0x5a}, 64)...)
	return map[string][]byte{
		"hand-relayed-request":   relayed,
		"hand-pxe-discover":      pxe,
		"hand-ack":               reply,
		"hand-bootp-no-cookie":   bootp,
		"hand-header-only":       header(),
		"hand-rfc1497":           padded(pkt(1, 4, 255, 255, 255, 0, 12, 2, 'h', 'i', 255)),
		"hand-rfc3397":           padded(pkt(append(bytes.Clone(rfc3397Example), 255)...)),
		"hand-overload-file":     over(1, []byte{12, 2, 'h', 'i', 255}, []byte("server")),
		"hand-overload-sname":    over(2, []byte("boot"), []byte{66, 1, 't', 255}),
		"hand-overload-both":     over(3, []byte{12, 1, 'a', 255}, []byte{12, 1, 'b', 255}, 12, 1, 'c'),
		"hand-split-long":        padded(pkt(slices.Concat([]byte{43, 255}, make([]byte, 255), []byte{43, 10}, make([]byte, 10), []byte{255})...)),
		"bad-no-end":             pkt(53, 1, 1),
		"bad-option-truncated":   pkt(53, 1, 1, 12, 9, 'a'),
		"bad-no-length-byte":     pkt(53, 1, 1, 12),
		"bad-file-truncated":     over(1, []byte{12, 200, 'x'}, nil),
		"bad-sname-truncated":    over(2, nil, []byte{0, 15, 63}),
		"bad-loop-in-file":       over(1, []byte{52, 1, 1, 255}, nil),
		"bad-loop-in-sname":      over(3, []byte{255}, []byte{52, 1, 2}),
		"bad-overload-0":         padded(pkt(53, 1, 1, 52, 1, 0, 255)),
		"bad-overload-4":         padded(pkt(52, 1, 4, 255)),
		"bad-overload-two-bytes": padded(pkt(52, 2, 1, 1, 255)),
		"bad-overload-twice":     padded(pkt(52, 1, 1, 52, 1, 2, 255)),
		"bad-hlen-16-edge":       withField(padded(pkt(255)), 2, 16),
	}
}

// parseSeeds returns every FuzzParse seed: the captures and handSeeds.
func parseSeeds(t testing.TB) map[string][]byte {
	seeds := handSeeds()
	for _, c := range allCaptures(t) {
		seeds["capture-"+c.name] = c.data
	}
	return seeds
}

// corpusFile renders values in the "go test fuzz v1" format.
func corpusFile(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case uint16:
			fmt.Fprintf(&b, "uint16(%d)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		default:
			panic(fmt.Sprintf("corpusFile: %T", v))
		}
	}
	return b.Bytes()
}

// rtArgs are FuzzRoundTrip's arguments.
type rtArgs struct {
	hdr, opts, prl []byte
	sname, file    string
	maxLen         uint16
	flags          uint8
}

func (a rtArgs) corpus() []byte {
	return corpusFile(a.hdr, a.opts, a.prl, a.sname, a.file, a.maxLen, a.flags)
}

// encodeRTOptions encodes options for rtMessage: code, mode (0 Set,
// 1 Append), 16-bit length, value.
func encodeRTOptions(o *Options) []byte {
	var b []byte
	for code, v := range o.All() {
		b = append(b, code, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	return b
}

// roundTripSeeds derives FuzzRoundTrip seeds from the FuzzParse seeds that parse.
func roundTripSeeds(t testing.TB) map[string]rtArgs {
	out := map[string]rtArgs{}
	for name, b := range parseSeeds(t) {
		var m Message
		if m.UnmarshalBinary(b) != nil {
			continue
		}
		prl, _ := m.ParamRequestList()
		var flags uint8
		if m.NoCookie {
			flags |= rtNoCookie
		}
		a := rtArgs{
			hdr: bytes.Clone(b[:offSName]), opts: encodeRTOptions(&m.Options), prl: bytes.Clone(prl),
			sname: string(m.ServerName()), file: string(m.BootFile()), flags: flags,
		}
		if m.NoCookie {
			a.opts = m.Vendor
		}
		out[name] = a
		small := a
		small.maxLen, small.flags = 300, flags|rtAppendHalf
		out[name+"-300"] = small
	}
	long := make([]byte, 700)
	for i := range long {
		long[i] = byte(i)
	}
	var o Options
	o.SetUint8(OptMessageType, 5)
	o.Set(OptVendorSpecific, long)
	o.Set(OptHostName, nil)
	o.Set(200, []byte("unknown"))
	o.Set(OptRelayAgentInfo, []byte{1, 1, 'x'})
	o.Set(OptOverload, []byte{3})
	hdr := header()[:offSName]
	hdr[0] = 2
	out["hand-long-548"] = rtArgs{hdr: hdr, opts: encodeRTOptions(&o), prl: []byte{200, 43}, maxLen: 548}
	out["hand-long-no-overload"] = rtArgs{hdr: hdr, opts: encodeRTOptions(&o), maxLen: 600, flags: rtNoOverload}
	return out
}

// TestFuzzCorpus checks that the seed corpus in testdata/fuzz holds every
// capture and hand-built seed (run with -update-corpus to rewrite it).
func TestFuzzCorpus(t *testing.T) {
	want := map[string][]byte{}
	for name, b := range parseSeeds(t) {
		if len(b) < HeaderLen || (b[0] != 1 && b[0] != 2) || b[2] > 16 {
			t.Errorf("seed %s does not pass the header checks", name)
		}
		want[filepath.Join("testdata/fuzz/FuzzParse", name)] = corpusFile(b)
	}
	for name, a := range roundTripSeeds(t) {
		want[filepath.Join("testdata/fuzz/FuzzRoundTrip", name)] = a.corpus()
	}
	for _, dl := range domainListSeeds() {
		want[filepath.Join("testdata/fuzz/FuzzDomainList", dl.name)] = corpusFile(dl.v)
	}
	for _, r := range routeSeeds() {
		want[filepath.Join("testdata/fuzz/FuzzRoutes", r.name)] = corpusFile(r.v)
	}
	for path, data := range want {
		if *updateCorpus {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s is missing or stale (%v); run go test -run TestFuzzCorpus -update-corpus", path, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, b := range parseSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParseProperty(t, b)
	})
}

// checkParseProperty is FuzzParse's check of one input:
//
//   - UnmarshalBinary does not panic; an error is a *ParseError wrapping one
//     of the sentinels, with an offset inside the message;
//   - on success, Validate, FormatValue of every option and every accessor
//     do not panic;
//   - rebuilding with AppendLayout (MaxLen 65507, no Order) and parsing
//     again gives the same message, except for what parsing and building
//     normalise: Overloaded is 0 (the overloaded fields were already zeroed
//     by the first parse, and nothing needs overloading at this size),
//     option 53 comes first and 82 last, and a vendor area shorter than 64
//     bytes comes back padded with zeros to 64;
//   - rebuilding that message gives the same bytes again.
//
// The only exception is an input so close to 65507 bytes that its options,
// gathered from file and sname into the options field, no longer fit: the
// rebuild then overloads or leaves options out, and every option not left
// out must still come back with its value.
func checkParseProperty(t *testing.T, b []byte) {
	var m Message
	err := m.UnmarshalBinary(b)
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v is not a *ParseError", err)
		}
		if !slices.ContainsFunc(parseSentinels, func(s error) bool { return errors.Is(err, s) }) {
			t.Fatalf("error %v wraps no sentinel", err)
		}
		if pe.Offset < 0 || pe.Offset > len(b) {
			t.Fatalf("error %v: offset outside the %d-byte input", err, len(b))
		}
		switch pe.Area {
		case "header", AreaOptions, AreaFile, AreaSName:
		default:
			t.Fatalf("error %v: area %q", err, pe.Area)
		}
		return
	}
	_ = m.Validate()
	for code, v := range m.Options.All() {
		_ = FormatValue(code, v)
	}
	exerciseAccessors(&m)

	var l Layout
	l.MaxLen = MaxLen
	out, err := m.AppendLayout(nil, &l)
	if err != nil {
		if len(b) < MaxLen-lenFile-lenSName {
			t.Fatalf("AppendLayout of a parsed %d-byte message: %v", len(b), err)
		}
		return
	}
	var m2 Message
	if err := m2.UnmarshalBinary(out); err != nil {
		t.Fatalf("re-parse of the rebuilt message: %v\nrebuilt %x", err, out)
	}
	if m2.Overloaded != 0 || l.Omitted != 0 {
		if len(b) < MaxLen-lenFile-lenSName {
			t.Fatalf("rebuild of a %d-byte message overloaded (%d) or omitted %d", len(b), m2.Overloaded, l.Omitted)
		}
		checkSubset(t, &m, &m2, l.Omitted)
		return
	}
	want := expectedWire(&m, nil)
	if m.NoCookie && len(want.Vendor) < MinLen-HeaderLen {
		want.Vendor = append(want.Vendor, make([]byte, MinLen-HeaderLen-len(want.Vendor))...)
	}
	if !m2.Equal(want) {
		t.Fatalf("parse → build → parse differs:\n got %s\nwant %s", dump(&m2), dump(want))
	}
	out2, err := m2.AppendLayout(nil, &l)
	if err != nil || !bytes.Equal(out2, out) {
		t.Fatalf("second rebuild differs (%v):\n got %x\nwant %x", err, out2, out)
	}
}

// exerciseAccessors calls every typed accessor; they must not panic.
func exerciseAccessors(m *Message) {
	m.MessageType()
	m.IsBOOTP()
	m.RequestedIP()
	m.ServerID()
	m.LeaseTime()
	m.ClientID()
	m.ParamRequestList()
	m.MaxMessageSize()
	m.HostName()
	m.VendorClass()
	m.SubnetSelection()
	if uc, ok := m.UserClass(); ok {
		uc.Contains("iPXE")
	}
	m.ClientArch()
	for range m.ClientArchs() {
	}
	m.ClientNDI()
	m.ClientUUID()
	m.ClientFQDN()
	if ri, ok := m.RelayAgentInfo(); ok {
		ri.CircuitID()
		ri.RemoteID()
		ri.LinkSelection()
		ri.ServerIDOverride()
	}
	m.DomainSearch()
	m.ClasslessRoutes()
	m.HardwareAddr()
	for _, code := range []uint8{OptVIVendorClass, OptVIVendorSpecific} {
		v, _ := m.Options.Get(code)
		for e := range VendorEntries(v) {
			for range SubOptions(e.Data, true) {
			}
		}
	}
	for _, code := range []uint8{OptVendorSpecific, OptIPXE} {
		v, _ := m.Options.Get(code)
		for range SubOptions(v, true) {
		}
	}
}

// FuzzRoundTrip flags.
const (
	rtNoCookie   = 1 << 0 // a BOOTP message: opts is the vendor area
	rtNoOverload = 1 << 1
	rtAppendHalf = 1 << 2 // options with mode 1 are appended to
)

// rtMessage builds the message FuzzRoundTrip's arguments describe. hdr gives
// op through chaddr (op and hlen are brought into range), opts a list of
// code, mode, 16-bit length, value.
func rtMessage(m *Message, a rtArgs) {
	m.Reset()
	var h [offSName]byte
	copy(h[:], a.hdr)
	m.Op = OpCode(h[0]%2 + 1)
	m.HType = h[1]
	m.HLen = h[2] % 17
	m.Hops = h[3]
	m.XID = XID(binary.BigEndian.Uint32(h[4:]))
	m.Secs = binary.BigEndian.Uint16(h[8:])
	m.Flags = Flags(binary.BigEndian.Uint16(h[10:]))
	m.CIAddr = addrAt(h[:], 12)
	m.YIAddr = addrAt(h[:], 16)
	m.SIAddr = addrAt(h[:], 20)
	m.GIAddr = addrAt(h[:], 24)
	copy(m.CHAddr[:], h[28:])
	copy(m.SName[:], a.sname)
	copy(m.File[:], a.file)
	if a.flags&rtNoCookie != 0 {
		m.NoCookie = true
		m.Vendor = append(m.Vendor, a.opts...)
		return
	}
	for o := a.opts; len(o) >= 4; {
		code, mode := o[0], o[1]
		n := min(int(binary.BigEndian.Uint16(o[2:])), len(o)-4)
		v := o[4 : 4+n]
		if mode&1 != 0 && a.flags&rtAppendHalf != 0 {
			m.Options.Append(code, v)
		} else {
			m.Options.Set(code, v)
		}
		o = o[4+n:]
	}
}

func FuzzRoundTrip(f *testing.F) {
	for _, a := range roundTripSeeds(f) {
		f.Add(a.hdr, a.opts, a.prl, a.sname, a.file, a.maxLen, a.flags)
	}
	f.Fuzz(func(t *testing.T, hdr, opts, prl []byte, sname, file string, maxLen uint16, flags uint8) {
		checkRoundTripProperty(t, rtArgs{hdr, opts, prl, sname, file, maxLen, flags})
	})
}

// checkRoundTripProperty is FuzzRoundTrip's check: a message built from the
// arguments, laid out in maxLen (0: 548, raised to at least 300) and parsed
// back, is the same message when its options fit the options field (with
// the options in write order: 53, the PRL, the rest, 82; option 52 never
// copied). When they do not, the message overloads into the empty file and
// sname fields or leaves options out, and every option not left out comes
// back with its value. ErrTooBig happens exactly when 53, 54 and 82 alone do
// not fit.
func checkRoundTripProperty(t *testing.T, a rtArgs) {
	var m Message
	rtMessage(&m, a)
	if m.NoCookie && bytes.HasPrefix(m.Vendor, magicCookie[:]) {
		return // a vendor area starting with the cookie is not plain BOOTP
	}
	l := Layout{MaxLen: int(a.maxLen), Order: a.prl, NoOverload: a.flags&rtNoOverload != 0}
	limit := l.MaxLen
	if limit == 0 {
		limit = DefaultMaxLen
	}
	limit = max(limit, MinLen)

	room := limit - offOptions - lenEnd
	total, mandatory := 0, 0
	for code, v := range m.Options.All() {
		if code == OptOverload {
			continue
		}
		total += wireLen(len(v))
		if code == OptMessageType || code == OptServerID || code == OptRelayAgentInfo {
			mandatory += wireLen(len(v))
		}
	}
	fileFree := !l.NoOverload && isZero(m.File[:])
	snameFree := !l.NoOverload && isZero(m.SName[:])
	overloadRoom := room
	if fileFree || snameFree {
		overloadRoom -= lenOverloadOpt
	}

	out, err := m.AppendLayout(nil, &l)
	if m.NoCookie {
		// A BOOTP vendor area is written as it is, if it fits.
		if tooBig := HeaderLen+len(m.Vendor) > limit; tooBig != errors.Is(err, ErrTooBig) || !tooBig && err != nil {
			t.Fatalf("AppendLayout of a %d-byte vendor area in %d: %v", len(m.Vendor), limit, err)
		}
		if err != nil {
			return
		}
	} else if err != nil {
		if !errors.Is(err, ErrTooBig) || total <= room || mandatory <= overloadRoom {
			t.Fatalf("AppendLayout: %v (options %d, mandatory %d, room %d)", err, total, mandatory, room)
		}
		return
	}
	if len(out) > limit || len(out) < MinLen {
		t.Fatalf("built %d bytes for a limit of %d", len(out), limit)
	}
	var got Message
	if err := got.UnmarshalBinary(out); err != nil {
		t.Fatalf("parse of a built message: %v\nmessage %s", err, dump(&m))
	}
	want := expectedWire(&m, a.prl)
	if m.NoCookie {
		if n := MinLen - HeaderLen - len(want.Vendor); n > 0 {
			want.Vendor = append(want.Vendor, make([]byte, n)...)
		}
		want.Options.Reset()
	}
	if m.NoCookie || total <= room {
		if !got.Equal(want) || l.Omitted != 0 {
			t.Fatalf("round trip differs (omitted %d):\n got %s\nwant %s", l.Omitted, dump(&got), dump(want))
		}
		return
	}
	checkSubset(t, want, &got, l.Omitted)
	if got.Overloaded == 0 && l.Omitted == 0 {
		t.Fatalf("%d bytes of options in %d: no overload, nothing omitted", total, room)
	}
	if got.Overloaded&1 != 0 && !fileFree || got.Overloaded&2 != 0 && !snameFree {
		t.Fatalf("Overloaded %d, but file free %v, sname free %v", got.Overloaded, fileFree, snameFree)
	}
	// Apart from the overloaded fields and the options, the header is kept.
	got.Options.CopyFrom(&want.Options)
	if got.Overloaded&1 != 0 {
		got.File = want.File
	}
	if got.Overloaded&2 != 0 {
		got.SName = want.SName
	}
	got.Overloaded = 0
	if !got.Equal(want) {
		t.Fatalf("header changed:\n got %s\nwant %s", dump(&got), dump(want))
	}
}

type namedBytes struct {
	name string
	v    []byte
}

func domainListSeeds() []namedBytes {
	v, _ := AppendDomainList(nil, []string{"a.example.com", "b.example.com", "example.com", "example.org", ""})
	return []namedBytes{
		{"rfc3397", []byte("\x03eng\x05apple\x03com\x00\x09marketing\xc0\x04")},
		{"compressed", v},
		{"dnsmasq", []byte("\x07example\x04test\x00\x03lab\xc0\x00")},
		{"root", []byte{0}},
		{"label-with-dot", []byte("\x03a.b\x00\x02c.\x01d\x00")},
		{"bad-loop", []byte{1, 'a', 0xc0, 4, 1, 'b', 0xc0, 0}},
		{"bad-forward", []byte{0xc0, 2, 1, 'a', 0}},
		{"bad-label", []byte{0x40, 'a', 0}},
		{"bad-truncated", []byte{3, 'a', 'b'}},
	}
}

func FuzzDomainList(f *testing.F) {
	for _, s := range domainListSeeds() {
		f.Add(s.v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		checkDomainListProperty(t, v)
	})
}

// checkDomainListProperty: a list that decodes is re-encoded by
// AppendDomainList unless one of its names has an empty label (a label
// holding a dot decodes to a name with ".." or a leading dot); the
// re-encoded list decodes to the same names, a trailing dot aside (a last
// label ending in a dot), and encoding those names again gives the same bytes.
func checkDomainListProperty(t *testing.T, v []byte) {
	names, err := DecodeDomainList(v)
	if err != nil {
		return
	}
	var norm []string
	for _, n := range names {
		norm = append(norm, strings.TrimSuffix(n, "."))
	}
	b, err := AppendDomainList(nil, names)
	if err != nil {
		for _, n := range norm {
			if n != "" && (strings.Contains(n, "..") || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".")) {
				return
			}
		}
		t.Fatalf("AppendDomainList(%q): %v", names, err)
	}
	got, err := DecodeDomainList(b)
	if err != nil || !slices.Equal(got, norm) {
		t.Fatalf("DecodeDomainList(AppendDomainList(%q)) = %q, %v", names, got, err)
	}
	b2, err := AppendDomainList(nil, got)
	if err != nil || !bytes.Equal(b2, b) {
		t.Fatalf("second AppendDomainList differs: %x, %v; want %x", b2, err, b)
	}
}

func routeSeeds() []namedBytes {
	return []namedBytes{
		{"rfc3442", []byte{0, 192, 0, 2, 1, 8, 10, 192, 0, 2, 1, 24, 10, 0, 0, 192, 0, 2, 1, 25, 10, 229, 0, 128, 192, 0, 2, 1, 32, 10, 198, 122, 47, 192, 0, 2, 1}},
		{"dnsmasq", []byte{24, 198, 18, 2, 198, 18, 0, 1}},
		{"bad-width", []byte{33, 10, 0, 0, 0, 0, 1, 2, 3, 4}},
		{"bad-bits", []byte{25, 10, 229, 0, 129, 192, 0, 2, 1}},
		{"bad-truncated", []byte{8, 10, 192, 0}},
	}
}

func FuzzRoutes(f *testing.F) {
	for _, s := range routeSeeds() {
		f.Add(s.v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		routes, err := DecodeRoutes(v)
		if err != nil {
			if routes != nil {
				t.Fatalf("DecodeRoutes returned routes with error %v", err)
			}
			return
		}
		// The encoding is canonical: significant octets only, bits beyond
		// the width zero. So re-encoding gives the input back.
		b, err := AppendRoutes(nil, routes...)
		if err != nil || !bytes.Equal(b, v) {
			t.Fatalf("AppendRoutes(DecodeRoutes(%x)) = %x, %v", v, b, err)
		}
		if s := FormatValue(OptClasslessRoutes, v); strings.HasPrefix(s, "malformed") {
			t.Fatalf("FormatValue of a decodable value: %s", s)
		}
	})
}

// TestGoldenMutations truncates every capture at every length and flips
// every bit of it: parsing never panics, truncation gives the expected
// error, and every input keeps the FuzzParse property.
func TestGoldenMutations(t *testing.T) {
	for _, c := range allCaptures(t) {
		t.Run(c.name, func(t *testing.T) {
			b := c.data
			end := optionsEnd(b)
			for n := range len(b) {
				var m Message
				err := m.UnmarshalBinary(b[:n])
				switch {
				case n < HeaderLen:
					if !errors.Is(err, ErrShort) {
						t.Fatalf("truncated to %d: err = %v, want ErrShort", n, err)
					}
				case n < offOptions:
					if err != nil || !m.NoCookie {
						t.Fatalf("truncated to %d: err = %v, NoCookie %v; want plain BOOTP", n, err, m.NoCookie)
					}
				case n <= end:
					if !errors.Is(err, ErrNoEnd) && !errors.Is(err, ErrOptionTruncated) {
						t.Fatalf("truncated to %d (end at %d): err = %v, want ErrNoEnd or ErrOptionTruncated", n, end, err)
					}
				default:
					full := mustParse(t, b)
					if err != nil || !m.Equal(full) {
						t.Fatalf("truncated to %d after the end option (%d): err = %v or message differs", n, end, err)
					}
				}
				checkParseProperty(t, b[:n])
			}
			mut := bytes.Clone(b)
			for i := range mut {
				for bit := range 8 {
					mut[i] ^= 1 << bit
					checkParseProperty(t, mut)
					mut[i] ^= 1 << bit
				}
			}
		})
	}
}

// optionsEnd returns the offset of the end option of a well-formed message.
func optionsEnd(b []byte) int {
	for i := offOptions; i < len(b); {
		switch b[i] {
		case OptEnd:
			return i
		case OptPad:
			i++
		default:
			i += 2 + int(b[i+1])
		}
	}
	return len(b)
}

// TestFuzzRegressions replays inputs the fuzzers found (also in
// testdata/fuzz) by name.
func TestFuzzRegressions(t *testing.T) {
	roundTrip := []struct {
		name string
		args rtArgs
	}{
		// A BOOTP (no cookie) vendor area of 65 bytes with MaxLen 300: the
		// builder ignored MaxLen for BOOTP and wrote 301 bytes; now ErrTooBig.
		{"nocookie-vendor-over-maxlen", rtArgs{
			hdr: []byte("0"), opts: bytes.Repeat([]byte("0"), 65), prl: []byte("0"),
			maxLen: 300, flags: '!',
		}},
	}
	for _, tt := range roundTrip {
		t.Run("roundtrip/"+tt.name, func(t *testing.T) { checkRoundTripProperty(t, tt.args) })
	}
	domainList := []namedBytes{
		// Labels "0" and ".": the name "0..". AppendDomainList validated it
		// with one more trailing dot trimmed than it encoded, and wrote
		// "0" plus a stray root name; now it is an empty-label error.
		{"double-trailing-dot", []byte("\x010\x01.\x00")},
	}
	for _, tt := range domainList {
		t.Run("domainlist/"+tt.name, func(t *testing.T) { checkDomainListProperty(t, tt.v) })
	}
}

// TestFuzzSeeds runs the fuzz properties over the seeds directly, so a plain
// go test (without the corpus files) checks them too.
func TestFuzzSeeds(t *testing.T) {
	for name, b := range parseSeeds(t) {
		t.Run("parse/"+name, func(t *testing.T) { checkParseProperty(t, b) })
	}
	for name, a := range roundTripSeeds(t) {
		t.Run("roundtrip/"+name, func(t *testing.T) { checkRoundTripProperty(t, a) })
	}
	for _, s := range domainListSeeds() {
		t.Run("domainlist/"+s.name, func(t *testing.T) { checkDomainListProperty(t, s.v) })
	}
}
