package dhcpv4_test

// Differential test against github.com/insomniacslk/dhcp/dhcpv4 (test-only
// dependency). Every input is parsed by both codecs; where both accept, they
// must agree on every header field and every option; where only one accepts,
// the reason must be one of the documented design differences below.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"bootd/internal/dhcpv4"

	ins "github.com/insomniacslk/dhcp/dhcpv4"
)

// Where the two codecs legitimately differ, by design. insomniacslk's
// FromBytes (dhcpv4/dhcpv4packet.go at the version pinned in go.mod):
//
//   - reads the 236-byte header, then requires the magic cookie (it has no
//     notion of plain RFC 951 BOOTP);
//   - does not check op, and clamps hlen > 16 to 16;
//   - reads the options field with fromBytesCheckEnd(data, true): pad (0) is
//     skipped, repeated instances of a code are concatenated (RFC 3396), an
//     option running past the buffer is an error, a missing end option is an
//     error except when nothing at all follows the cookie (len(data) == 0
//     returns early), and bytes after the end option are ignored;
//   - does not interpret option overload (52): it keeps 52 as an ordinary
//     option and returns sname and file as NUL-terminated strings.
//
// bootd's UnmarshalBinary (message.go) rejects on the header first, accepts a
// vendor area without cookie as plain BOOTP, requires the end option in the
// options field, ignores bytes after it, and interprets option 52: it reads
// options from file and then sname, concatenating all instances of a code in
// the order options field, file, sname (RFC 3396: the "aggregate option
// buffer" is those three fields in that order), removes option 52 from
// Options, records it in Overloaded and zeroes the overloaded fields.

// cmpBootdOnlyReject lists why bootd may reject a message that insomniacslk
// accepts. A message only bootd rejects for any other reason fails the test.
var cmpBootdOnlyReject = []struct {
	err   error
	areas []string          // ParseError.Area values this reason covers
	when  func([]byte) bool // further condition on the message, or nil
	why   string
}{
	{dhcpv4.ErrBadOp, []string{"header"}, nil,
		"op must be BOOTREQUEST (1) or BOOTREPLY (2) (RFC 951); insomniacslk does not check op"},
	{dhcpv4.ErrBadHLen, []string{"header"}, nil,
		"hlen > 16 cannot describe the 16-byte chaddr (RFC 2131 section 2); insomniacslk clamps it to 16"},
	{dhcpv4.ErrTooLong, []string{"header"}, nil,
		"longer than the largest UDP payload over IPv4; insomniacslk has no upper bound"},
	{dhcpv4.ErrTooManyOptions, []string{dhcpv4.AreaOptions, dhcpv4.AreaFile, dhcpv4.AreaSName}, nil,
		"more than MaxOptionInstances option instances (only empty options get there): a bound on the " +
			"scratch space a hostile packet can make a worker grow; insomniacslk has no bound"},
	{dhcpv4.ErrNoEnd, []string{dhcpv4.AreaOptions}, func(b []byte) bool { return len(b) == 240 },
		"the options field must end with option 255 (RFC 2132 section 3.2); " +
			"insomniacslk accepts a message that ends right after the magic cookie"},
	{dhcpv4.ErrBadOverload, []string{dhcpv4.AreaOptions}, nil,
		"option 52 must be one byte of value 1, 2 or 3 (RFC 2132 section 9.3); insomniacslk does not interpret option 52"},
	{dhcpv4.ErrOverloadLoop, []string{dhcpv4.AreaFile, dhcpv4.AreaSName}, nil,
		"option 52 in the options field describes file/sname (RFC 2132 section 9.3); one inside them would " +
			"overload recursively; insomniacslk does not read file/sname as options"},
	{dhcpv4.ErrOptionTruncated, []string{dhcpv4.AreaFile, dhcpv4.AreaSName}, nil,
		"an overloaded file/sname field must hold well-formed options (RFC 2132 section 9.3); " +
			"insomniacslk does not read file/sname as options"},
}

// cmpInsOnlyReject lists why insomniacslk may reject a message that bootd
// accepts; check reports whether the reason applies to bootd's result.
var cmpInsOnlyReject = []struct {
	name  string
	check func(m *dhcpv4.Message) bool
	why   string
}{
	{"no magic cookie", func(m *dhcpv4.Message) bool { return m.NoCookie },
		"a vendor area not starting with 99.130.83.99 is plain RFC 951 BOOTP, which bootd keeps in " +
			"Message.Vendor; insomniacslk requires the RFC 1497 magic cookie"},
}

// cmpOutcome is what the two codecs did with one input.
type cmpOutcome int

const (
	cmpBothAccept cmpOutcome = iota
	cmpBothReject
	cmpOnlyBootdRejects
	cmpOnlyInsRejects
)

func (o cmpOutcome) String() string {
	return [...]string{"both accept", "both reject", "only bootd rejects", "only insomniacslk rejects"}[o]
}

type cmpTally struct {
	n         int
	by        [4]int
	reasons   map[string]int // only-one-side reasons
	relay     int            // option 82 values whose sub-options were compared
	relayPE   int            // option 82 values with sub-option code 0/255 (see cmpRelay)
	relayLone int            // option 82 values ending in a lone code byte (see cmpRelay)
	ovl       int            // both accepted with option overload
}

func (t *cmpTally) String() string {
	s := fmt.Sprintf("%d inputs: %d both accept, %d both reject, %d only bootd rejects, %d only insomniacslk rejects; "+
		"bootd accepted %d, insomniacslk accepted %d; %d with overload; option 82 sub-options compared in %d, "+
		"pad/end sub-option codes (by design) in %d, a lone trailing sub-option code in %d",
		t.n, t.by[cmpBothAccept], t.by[cmpBothReject], t.by[cmpOnlyBootdRejects], t.by[cmpOnlyInsRejects],
		t.by[cmpBothAccept]+t.by[cmpOnlyInsRejects], t.by[cmpBothAccept]+t.by[cmpOnlyBootdRejects], t.ovl, t.relay, t.relayPE, t.relayLone)
	keys := make([]string, 0, len(t.reasons))
	for k := range t.reasons {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s += fmt.Sprintf("\n\t%4d  %s", t.reasons[k], k)
	}
	return s
}

func TestCompareInsomniacslk(t *testing.T) {
	// accepted collects what both codecs accepted, to be written again by
	// bootd and compared once more (the last source).
	var accepted []cmpInput
	sources := []struct {
		name   string
		inputs func(t *testing.T) []cmpInput
	}{
		{"captures", cmpCaptureInputs},
		{"fuzz-corpus", cmpCorpusInputs},
		{"tricky", cmpTrickyInputs},
		{"bootd-output", func(t *testing.T) []cmpInput { return cmpBootdOutputs(t, accepted) }},
	}
	var total cmpTally
	total.reasons = map[string]int{}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			tl := cmpTally{reasons: map[string]int{}}
			for _, in := range src.inputs(t) {
				got := cmpOne(t, in, &tl)
				if in.want != nil && got != *in.want {
					t.Errorf("%s: outcome %v, want %v", in.name, got, *in.want)
				}
				if in.bootdMustAccept && (got == cmpBothReject || got == cmpOnlyBootdRejects) {
					t.Errorf("%s: bootd rejects a real client's message", in.name)
				}
				if got == cmpBothAccept {
					accepted = append(accepted, in)
				}
			}
			t.Logf("%s: %v", src.name, &tl)
			total.n += tl.n
			for i := range tl.by {
				total.by[i] += tl.by[i]
			}
			for k, v := range tl.reasons {
				total.reasons[k] += v
			}
			total.relay += tl.relay
			total.relayPE += tl.relayPE
			total.relayLone += tl.relayLone
			total.ovl += tl.ovl
		})
	}
	t.Logf("total: %v", &total)
}

// cmpBootdOutputs writes every accepted input again with bootd's builder,
// once with the default layout and once limited to 300 bytes, which makes
// AppendLayout overload file and sname when they are free. The output must
// hold the same header and options as bootd's parse of the input, and is
// then compared between the codecs like any other input.
func cmpBootdOutputs(t *testing.T, accepted []cmpInput) []cmpInput {
	var out []cmpInput
	skipped := 0
	for _, in := range accepted {
		var m dhcpv4.Message
		if err := m.UnmarshalBinary(in.b); err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		for _, maxLen := range []int{0, dhcpv4.MinLen} {
			l := dhcpv4.Layout{MaxLen: maxLen}
			b, err := m.AppendLayout(nil, &l)
			if err != nil || l.Omitted > 0 {
				skipped++ // does not fit: nothing to compare
				continue
			}
			var m2 dhcpv4.Message
			if err := m2.UnmarshalBinary(b); err != nil {
				t.Errorf("%s: bootd cannot read its own output (max %d): %v", in.name, maxLen, err)
				continue
			}
			if !cmpSameBootd(&m, &m2) {
				t.Errorf("%s: bootd's output (max %d) reads back differently:\n%x", in.name, maxLen, b)
			}
			ok := cmpBothAccept
			out = append(out, cmpInput{name: fmt.Sprintf("%s/bootd-max-%d", in.name, maxLen), b: b, want: &ok})
		}
	}
	t.Logf("%d inputs written again, %d layouts skipped (options do not fit)", len(accepted), skipped)
	return out
}

// cmpSameBootd compares two parsed messages; option order and the overload
// layout may differ.
func cmpSameBootd(a, b *dhcpv4.Message) bool {
	if a.Op != b.Op || a.HType != b.HType || a.HLen != b.HLen || a.Hops != b.Hops || a.XID != b.XID ||
		a.Secs != b.Secs || a.Flags != b.Flags || a.CIAddr != b.CIAddr || a.YIAddr != b.YIAddr ||
		a.SIAddr != b.SIAddr || a.GIAddr != b.GIAddr || a.CHAddr != b.CHAddr ||
		(b.Overloaded&2 == 0 && a.SName != b.SName) || (b.Overloaded&1 == 0 && a.File != b.File) ||
		a.Options.Len() != b.Options.Len() {
		return false
	}
	for c, v := range a.Options.All() {
		if w, ok := b.Options.Get(c); !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

type cmpInput struct {
	name            string
	b               []byte
	want            *cmpOutcome // expected cmpOutcome, for hand-made inputs
	bootdMustAccept bool        // real client traffic
}

func cmpOne(t *testing.T, in cmpInput, tl *cmpTally) cmpOutcome {
	t.Helper()
	tl.n++
	var m dhcpv4.Message
	errB := m.UnmarshalBinary(in.b)
	p, errI := ins.FromBytes(in.b)

	var o cmpOutcome
	switch {
	case errB == nil && errI == nil:
		o = cmpBothAccept
		cmpAccepted(t, in, &m, p, tl)
	case errB != nil && errI != nil:
		o = cmpBothReject
	case errB != nil:
		o = cmpOnlyBootdRejects
		var pe *dhcpv4.ParseError
		if !errors.As(errB, &pe) {
			t.Errorf("%s: bootd error %v is not a *ParseError", in.name, errB)
			break
		}
		found := false
		for _, r := range cmpBootdOnlyReject {
			if errors.Is(errB, r.err) && slices.Contains(r.areas, pe.Area) && (r.when == nil || r.when(in.b)) {
				found = true
				tl.reasons["bootd rejects, "+pe.Area+": "+r.why]++
				break
			}
		}
		if !found {
			t.Errorf("%s: only bootd rejects, for a reason not in bootdOnlyReject: %v\n%s", in.name, errB, hex.Dump(in.b))
		}
	default:
		o = cmpOnlyInsRejects
		found := false
		for _, r := range cmpInsOnlyReject {
			if r.check(&m) {
				found = true
				tl.reasons["insomniacslk rejects, "+r.name+": "+r.why]++
				break
			}
		}
		if !found {
			t.Errorf("%s: only insomniacslk rejects (%v), for a reason not in insOnlyReject\n%s", in.name, errI, hex.Dump(in.b))
		}
	}
	tl.by[o]++
	return o
}

// cmpAccepted checks that both codecs read the same message.
func cmpAccepted(t *testing.T, in cmpInput, m *dhcpv4.Message, p *ins.DHCPv4, tl *cmpTally) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{in.name}, args...)...)
	}
	if m.NoCookie {
		fail("bootd read plain BOOTP, insomniacslk found the cookie")
		return
	}

	// Header.
	if uint8(m.Op) != uint8(p.OpCode) {
		fail("op: bootd %d, insomniacslk %d", m.Op, p.OpCode)
	}
	if m.HType != uint8(p.HWType) {
		fail("htype: bootd %d, insomniacslk %d", m.HType, p.HWType)
	}
	if int(m.HLen) != len(p.ClientHWAddr) {
		fail("hlen: bootd %d, insomniacslk %d", m.HLen, len(p.ClientHWAddr))
	}
	if m.Hops != p.HopCount {
		fail("hops: bootd %d, insomniacslk %d", m.Hops, p.HopCount)
	}
	if uint32(m.XID) != binary.BigEndian.Uint32(p.TransactionID[:]) {
		fail("xid: bootd %v, insomniacslk %v", m.XID, p.TransactionID)
	}
	if m.Secs != p.NumSeconds {
		fail("secs: bootd %d, insomniacslk %d", m.Secs, p.NumSeconds)
	}
	if uint16(m.Flags) != p.Flags {
		fail("flags: bootd %#04x, insomniacslk %#04x", uint16(m.Flags), p.Flags)
	}
	for _, a := range []struct {
		name string
		b    netip.Addr
		i    net.IP
	}{
		{"ciaddr", m.CIAddr, p.ClientIPAddr},
		{"yiaddr", m.YIAddr, p.YourIPAddr},
		{"siaddr", m.SIAddr, p.ServerIPAddr},
		{"giaddr", m.GIAddr, p.GatewayIPAddr},
	} {
		got, ok := netip.AddrFromSlice(a.i)
		if !ok || !a.b.Is4() || got != a.b {
			fail("%s: bootd %v, insomniacslk %v", a.name, a.b, a.i)
		}
	}
	if hw := m.CHAddr[:min(int(m.HLen), 16)]; !bytes.Equal(hw, p.ClientHWAddr) {
		fail("chaddr[:hlen]: bootd %x, insomniacslk %x", hw, []byte(p.ClientHWAddr))
	}
	// sname and file: when option 52 overloads them they carry options, not
	// names (RFC 2132 section 9.3). bootd reads those options and zeroes the
	// field; insomniacslk returns the raw bytes up to the first NUL as a name.
	// The options are compared below; here the field must be bootd's zeroes.
	if m.Overloaded&2 == 0 {
		if got := string(m.ServerName()); got != p.ServerHostName {
			fail("sname: bootd %q, insomniacslk %q", got, p.ServerHostName)
		}
	} else if m.SName != [64]byte{} {
		fail("sname overloaded but not cleared by bootd")
	}
	if m.Overloaded&1 == 0 {
		if got := string(m.BootFile()); got != p.BootFileName {
			fail("file: bootd %q, insomniacslk %q", got, p.BootFileName)
		}
	} else if m.File != [128]byte{} {
		fail("file overloaded but not cleared by bootd")
	}

	// Options: normalise insomniacslk's map to bootd's view of overload.
	want := map[uint8][]byte{}
	for c, v := range p.Options {
		want[c] = slices.Clone(v)
	}
	if v, has := want[dhcpv4.OptOverload]; has != (m.Overloaded != 0) ||
		(has && (len(v) != 1 || v[0] != m.Overloaded)) {
		fail("option 52: bootd Overloaded=%d, insomniacslk %x (present %v)", m.Overloaded, v, has)
	}
	if m.Overloaded != 0 {
		tl.ovl++
		delete(want, dhcpv4.OptOverload)
		// Read the overloaded fields with insomniacslk's own option parser
		// (end option not required, as bootd), file before sname, and
		// append to the options field's values: RFC 3396 concatenation in
		// the order of RFC 2131 section 4.1.
		fields := []struct {
			bit      uint8
			from, to int
		}{{1, 108, 236}, {2, 44, 108}}
		for _, f := range fields {
			if m.Overloaded&f.bit == 0 {
				continue
			}
			extra := ins.Options{}
			if err := extra.FromBytes(in.b[f.from:f.to]); err != nil {
				fail("insomniacslk cannot read options in overloaded bytes %d..%d that bootd accepted: %v", f.from, f.to, err)
				continue
			}
			for c, v := range extra {
				want[c] = append(want[c], v...)
			}
		}
	}
	if got := m.Options.Len(); got != len(want) {
		fail("option count: bootd %d %v, insomniacslk (normalised) %d %v",
			got, m.Options.Codes(nil), len(want), cmpSortedCodes(want))
	}
	for c, w := range want {
		got, ok := m.Options.Get(c)
		if !ok {
			fail("option %d: missing in bootd, insomniacslk has %x", c, w)
			continue
		}
		if !bytes.Equal(got, w) {
			fail("option %d: bootd %x, insomniacslk %x", c, got, w)
		}
	}
	cmpRelay(t, in, m, want[dhcpv4.OptRelayAgentInfo], tl)
}

// cmpRelay compares the sub-options of option 82. RFC 3046 section 2.0
// defines the value as a sequence of code/length/value sub-options, with no
// pad or end: bootd reads code 0 and 255 as sub-options like any other,
// insomniacslk parses the value with its option parser (0 skipped as pad, 255
// ends). When the value has a sub-option with code 0 or 255 the two views
// cannot agree; the option's bytes have been compared above, and the
// sub-options are not. insomniacslk also concatenates repeated sub-options
// (its option parser applied to the sub-option space), where bootd's Get returns the
// first: bootd's instances are concatenated here to compare.
//
// w is insomniacslk's value of option 82 after the overload normalisation of
// cmpAccepted; it is read as DHCPv4.RelayAgentInfo reads the options field's
// value (nil for an empty value or a parse error).
func cmpRelay(t *testing.T, in cmpInput, m *dhcpv4.Message, w []byte, tl *cmpTally) {
	t.Helper()
	v, _ := m.Options.Get(dhcpv4.OptRelayAgentInfo)
	lone := false
	for i := 0; i < len(v); {
		if v[i] == 0 || v[i] == 255 {
			tl.relayPE++
			return
		}
		if i+1 == len(v) {
			lone = true
			break
		}
		i += 2 + int(v[i+1])
	}
	ri, okB := m.RelayAgentInfo()
	var ro *ins.RelayOptions
	if len(w) > 0 {
		ro = new(ins.RelayOptions)
		if ro.FromBytes(w) != nil {
			ro = nil
		}
	}
	got := map[uint8][]byte{}
	for c, sv := range dhcpv4.SubOptions(v, false) {
		got[c] = append(got[c], sv...)
	}
	if lone {
		// The value ends with a lone sub-option code and no length byte.
		// bootd rejects the value (RFC 3046 section 2.0: every sub-option has
		// a length). insomniacslk reads it as an empty sub-option: its
		// Lexer's Read8 for the missing length gives 0, Consume(0) succeeds,
		// and Options.FromBytes (no end check) never looks at the lexer's
		// error. An insomniacslk quirk, normalised here.
		if okB || ro == nil {
			t.Errorf("%s: option 82 %x ending in a lone code: bootd ok=%v, insomniacslk %v", in.name, v, okB, ro)
			return
		}
		if c := v[len(v)-1]; got[c] == nil {
			got[c] = []byte{}
		}
		tl.relayLone++
	} else {
		if okB != (ro != nil) {
			t.Errorf("%s: option 82 well formed: bootd %v, insomniacslk %v (%x)", in.name, okB, ro != nil, v)
			return
		}
		if !okB {
			return
		}
		tl.relay++
	}
	if len(got) != len(ro.Options) {
		t.Errorf("%s: option 82 sub-options: bootd %v, insomniacslk %v", in.name, cmpSortedCodes(got), cmpSortedCodes(ro.Options))
	}
	for c, w := range ro.Options {
		if g, ok := got[c]; !ok || !bytes.Equal(g, w) {
			t.Errorf("%s: option 82 sub-option %d: bootd %x (present %v), insomniacslk %x", in.name, c, g, ok, w)
		}
	}
	if lone {
		return
	}
	if cid, ok := ri.CircuitID(); ok != ro.Options.Has(ins.GenericOptionCode(dhcpv4.RelayCircuitID)) ||
		(ok && !bytes.HasPrefix(ro.Options.Get(ins.GenericOptionCode(dhcpv4.RelayCircuitID)), cid)) {
		t.Errorf("%s: circuit-id: bootd %x (%v), insomniacslk %x", in.name, cid, ok, ro.Options.Get(ins.GenericOptionCode(dhcpv4.RelayCircuitID)))
	}
}

func cmpSortedCodes[V any](m map[uint8]V) []uint8 {
	var cs []uint8
	for c := range m {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

// captureInputs reads every golden capture: '#' comment lines, then hex.
func cmpCaptureInputs(t *testing.T) []cmpInput {
	files, err := filepath.Glob(filepath.Join("testdata", "captures", "*.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Log("no captures in testdata/captures")
	}
	var list []cmpInput
	for _, f := range files {
		b, err := cmpReadHex(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		// Captures from clients and relays must be accepted; replies from
		// other servers too.
		list = append(list, cmpInput{name: filepath.Base(f), b: b, bootdMustAccept: true})
	}
	return list
}

func cmpReadHex(name string) ([]byte, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	for line := range strings.Lines(string(data)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	if sb.Len() == 0 {
		return nil, errors.New("no hex data")
	}
	return hex.DecodeString(sb.String())
}

// corpusInputs reads the seed corpus of FuzzParse ("go test fuzz v1" files
// holding one []byte value); an absent or empty directory gives no inputs.
func cmpCorpusInputs(t *testing.T) []cmpInput {
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("no fuzz corpus in %s", dir)
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var list []cmpInput
	for _, e := range ents {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		b, err := cmpParseCorpusFile(data)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		list = append(list, cmpInput{name: "corpus/" + e.Name(), b: b})
	}
	return list
}

func cmpParseCorpusFile(data []byte) ([]byte, error) {
	cmpHeader, rest, _ := strings.Cut(string(data), "\n")
	if strings.TrimSpace(cmpHeader) != "go test fuzz v1" {
		return nil, fmt.Errorf("header %q, want %q", cmpHeader, "go test fuzz v1")
	}
	line := strings.TrimSpace(rest)
	inner, ok := strings.CutPrefix(line, "[]byte(")
	if ok {
		inner, ok = strings.CutSuffix(inner, ")")
	}
	if !ok || strings.Contains(inner, "\n") {
		return nil, fmt.Errorf("want one []byte(...) value, got %q", line)
	}
	s, err := strconv.Unquote(inner)
	if err != nil {
		return nil, fmt.Errorf("value %.40q: %w", inner, err)
	}
	return []byte(s), nil
}

// Hand-made messages.

func cmpOpt(code byte, v ...byte) []byte { return append([]byte{code, byte(len(v))}, v...) }

func cmpOptS(code byte, s string) []byte { return cmpOpt(code, []byte(s)...) }

func cmpCat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// header returns a 236-byte BOOTREQUEST header from 02:00:5e:10:20:30.
func cmpHeader() []byte {
	h := make([]byte, 236)
	h[0], h[1], h[2] = 1, 1, 6
	binary.BigEndian.PutUint32(h[4:], 0x1badcafe)
	binary.BigEndian.PutUint16(h[8:], 3)
	copy(h[28:], []byte{0x02, 0x00, 0x5e, 0x10, 0x20, 0x30})
	return h
}

// dhcp returns header + cookie + options; each edit may change the message.
func cmpDHCP(opts []byte, edits ...func(b []byte)) []byte {
	b := cmpCat(cmpHeader(), []byte{99, 130, 83, 99}, opts)
	for _, e := range edits {
		e(b)
	}
	return b
}

func cmpInFile(v []byte) func([]byte) { return func(b []byte) { copy(b[108:236], v) } }

func cmpInSName(v []byte) func([]byte) { return func(b []byte) { copy(b[44:108], v) } }

var cmpEnd = []byte{255}

func cmpPadTo(n int, b []byte) []byte { return append(b, make([]byte, max(0, n-len(b)))...) }

func cmpTrickyInputs(*testing.T) []cmpInput {
	out := func(o cmpOutcome) *cmpOutcome { return &o }
	relay := cmpCat(
		cmpOpt(dhcpv4.RelayCircuitID, []byte("eth0/1/2:vlan100")...),
		cmpOpt(dhcpv4.RelayRemoteID, 0x00, 0x06, 0x02, 0x00, 0x5e, 0xaa, 0xbb, 0xcc),
		cmpOpt(dhcpv4.RelayLinkSelection, 198, 18, 1, 0),
	)
	long := bytes.Repeat([]byte("abcdefghij"), 40) // 400 bytes: two instances
	return []cmpInput{
		{name: "split-options", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3),
			cmpOptS(12, "host"), cmpOpt(55, 1, 3, 6), cmpOptS(12, "name-"), cmpOpt(61, 1, 2, 0, 0x5e, 0x10, 0x20, 0x30),
			cmpOpt(55, 15, 119, 121), cmpOptS(12, "split"), cmpEnd))},
		{name: "long-option-400-bytes", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 1), cmpOpt(224, long[:255]...), cmpOpt(224, long[255:]...), cmpEnd))},
		{name: "zero-length-options", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 1), cmpOpt(80), cmpOpt(224), cmpOpt(12), cmpOptS(12, "x"), cmpEnd))},
		{name: "unknown-options", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 1), cmpOpt(224, 1, 2, 3), cmpOpt(250, 0xff, 0x00), cmpOpt(163, 9), cmpOpt(254), cmpEnd))},
		{name: "pad-between-options", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			[]byte{0, 0}, cmpOpt(53, 1), []byte{0}, cmpOpt(50, 198, 18, 0, 9), []byte{0, 0, 0}, cmpOpt(57, 5, 220),
			[]byte{0}, cmpEnd, make([]byte, 40)))},
		{name: "trailing-garbage-after-end", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 1), cmpEnd, []byte{1, 200, 0xde, 0xad}))},
		{name: "option-82-relay", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3), cmpOpt(54, 198, 18, 0, 1), cmpOpt(82, relay...), cmpEnd), func(b []byte) {
			b[3] = 1
			copy(b[24:28], []byte{198, 18, 1, 1})
		})},
		{name: "option-82-split", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3), cmpOpt(82, relay[:7]...), cmpOpt(82, relay[7:]...), cmpEnd))},
		{name: "option-82-repeated-suboption", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3), cmpOpt(82, cmpCat(cmpOpt(1, 'a', 'b'), cmpOpt(2, 9), cmpOpt(1, 'c'))...), cmpEnd))},
		{name: "option-82-suboption-0", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3), cmpOpt(82, cmpCat(cmpOpt(0, 7, 7), cmpOpt(1, 'a'))...), cmpEnd))},
		{name: "option-82-truncated-suboption", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3), cmpOpt(82, 1, 9, 'a'), cmpEnd))},
		{name: "option-82-lone-trailing-code", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 3), cmpOpt(82, 1, 1, 'a', 2), cmpEnd))},
		{name: "overload-file", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 5), cmpOpt(52, 1), cmpOptS(15, "exam"), cmpEnd),
			cmpInFile(cmpCat(cmpOptS(15, "ple.net"), cmpOpt(6, 198, 18, 0, 53), cmpEnd)))},
		{name: "overload-sname", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 5), cmpOpt(52, 2), cmpEnd), func(b []byte) {
			copy(b[108:], "pxelinux.0")
		}, cmpInSName(cmpCat(cmpOpt(66, '1', '9', '8'), cmpEnd)))},
		{name: "overload-both-concatenated", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 2), cmpOptS(12, "a"), cmpOpt(52, 3), cmpEnd),
			cmpInFile(cmpCat(cmpOptS(12, "b"), cmpOpt(3, 198, 18, 0, 1), cmpEnd)),
			cmpInSName(cmpCat(cmpOptS(12, "c"), cmpOpt(3, 198, 18, 0, 2), cmpEnd)))},
		{name: "overload-field-without-end", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 2), cmpOpt(52, 2), cmpEnd),
			cmpInSName(cmpCat(cmpOpt(224, bytes.Repeat([]byte{'s'}, 60)...), []byte{0, 0})))},
		{name: "overload-split-option-52", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 2), cmpOpt(52), cmpOpt(52, 1), cmpEnd),
			cmpInFile(cmpCat(cmpOptS(12, "f"), cmpEnd)))},
		{name: "bootp-no-cookie", want: out(cmpOnlyInsRejects), b: cmpCat(cmpHeader(), bytes.Repeat([]byte{0x42}, 64))},
		{name: "bootp-short-vendor-area", want: out(cmpOnlyInsRejects), b: cmpCat(cmpHeader(), []byte{99, 130})},
		{name: "bootp-rfc1497-cookie", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(1, 255, 255, 255, 0), cmpOptS(12, "bootp"), cmpEnd, make([]byte, 50)))},
		{name: "header-only", want: out(cmpOnlyInsRejects), b: cmpHeader()},
		{name: "too-short", want: out(cmpBothReject), b: cmpHeader()[:235]},
		{name: "nothing-after-cookie", want: out(cmpOnlyBootdRejects), b: cmpDHCP(nil)},
		{name: "missing-end", want: out(cmpBothReject), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpOpt(12, 'h')))},
		{name: "only-pad-no-end", want: out(cmpBothReject), b: cmpDHCP(make([]byte, 60))},
		{name: "option-truncated", want: out(cmpBothReject), b: cmpDHCP(cmpCat(cmpOpt(53, 1), []byte{12, 10, 'a'}))},
		{name: "length-byte-missing", want: out(cmpBothReject), b: cmpDHCP(cmpCat(cmpOpt(53, 1), []byte{12}))},
		{name: "bad-op", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpEnd), func(b []byte) { b[0] = 3 })},
		{name: "hlen-20", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpEnd), func(b []byte) { b[2] = 20 })},
		{name: "hlen-0", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpEnd), func(b []byte) { b[2] = 0 })},
		{name: "hlen-16", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpEnd), func(b []byte) {
			b[1], b[2] = 32, 16 // InfiniBand-style: chaddr all used
			copy(b[28:44], bytes.Repeat([]byte{0xab}, 16))
		})},
		{name: "overload-bad-value", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpOpt(52, 4), cmpEnd))},
		{name: "overload-two-bytes", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpOpt(52, 1, 1), cmpEnd))},
		{name: "overload-loop", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpOpt(52, 1), cmpEnd),
			cmpInFile(cmpCat(cmpOpt(52, 1), cmpEnd)))},
		{name: "overload-truncated-in-file", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 1), cmpOpt(52, 1), cmpEnd),
			func(b []byte) { copy(b[230:236], []byte{0, 0, 0, 12, 9, 'x'}) })},
		{name: "sname-file-names-no-nul", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(cmpOpt(53, 2), cmpEnd), func(b []byte) {
			copy(b[44:108], bytes.Repeat([]byte{'s'}, 64))
			copy(b[108:236], bytes.Repeat([]byte{'f'}, 128))
		})},
		{name: "large-1500", want: out(cmpBothAccept), b: cmpPadTo(1500, cmpDHCP(cmpCat(
			cmpOpt(53, 5), cmpOpt(224, long[:255]...), cmpOpt(225, long[:255]...), cmpOpt(226, long[:255]...),
			cmpOpt(227, long[:255]...), cmpEnd)))},
		{name: "too-many-instances", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(
			cmpOpt(53, 1), bytes.Repeat(cmpOpt(224), dhcpv4.MaxOptionInstances), cmpEnd))},
		{name: "max-instances", want: out(cmpBothAccept), b: cmpDHCP(cmpCat(
			cmpOpt(53, 1), bytes.Repeat(cmpOpt(224), dhcpv4.MaxOptionInstances-1), cmpEnd))},
		{name: "too-long", want: out(cmpOnlyBootdRejects), b: cmpDHCP(cmpCat(cmpOpt(53, 5), cmpEnd, make([]byte, dhcpv4.MaxLen)))},
	}
}
