package dhcpv4

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// optModel is the obvious implementation of Options: a list of code/value
// pairs. The real one must behave the same.
type optModel struct {
	codes  []uint8
	values [][]byte
}

func (m *optModel) find(code uint8) int { return slices.Index(m.codes, code) }

func (m *optModel) set(code uint8, v []byte) {
	if code == OptPad || code == OptEnd {
		return
	}
	v = bytes.Clone(v)
	if i := m.find(code); i >= 0 {
		m.values[i] = v
		return
	}
	m.codes = append(m.codes, code)
	m.values = append(m.values, v)
}

func (m *optModel) del(code uint8) {
	if i := m.find(code); i >= 0 {
		m.codes = slices.Delete(m.codes, i, i+1)
		m.values = slices.Delete(m.values, i, i+1)
	}
}

func checkModel(t *testing.T, step int, o *Options, m *optModel) {
	t.Helper()
	if o.Len() != len(m.codes) {
		t.Fatalf("step %d: Len = %d, want %d", step, o.Len(), len(m.codes))
	}
	if got := o.Codes(nil); !slices.Equal(got, m.codes) {
		t.Fatalf("step %d: Codes = %v, want %v", step, got, m.codes)
	}
	for i := range m.codes {
		code, v := o.At(i)
		if code != m.codes[i] || !bytes.Equal(v, m.values[i]) {
			t.Fatalf("step %d: At(%d) = %d %x, want %d %x", step, i, code, v, m.codes[i], m.values[i])
		}
	}
	for c := range 256 {
		code := uint8(c)
		v, ok := o.Get(code)
		i := m.find(code)
		if ok != (i >= 0) || o.Has(code) != ok {
			t.Fatalf("step %d: Get(%d) ok = %v, Has = %v, model has it: %v", step, code, ok, o.Has(code), i >= 0)
		}
		if ok && !bytes.Equal(v, m.values[i]) {
			t.Fatalf("step %d: Get(%d) = %x, want %x", step, code, v, m.values[i])
		}
	}
}

// TestOptionsModel runs random Set, Append, Del, Reset and CopyFrom against
// the model and checks every code's value and the order after each step.
func TestOptionsModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var o Options
	var m optModel
	for step := range 20000 {
		code := uint8(r.UintN(256))
		if r.IntN(2) == 0 { // a small set of codes, so they collide
			code = uint8(r.UintN(8))*31 + 1
		}
		v := genBytes(r, r.IntN(8))
		switch k := r.IntN(100); {
		case k < 45:
			o.Set(code, v)
			m.set(code, v)
		case k < 65:
			o.Append(code, v)
			if i := m.find(code); i >= 0 {
				m.set(code, append(bytes.Clone(m.values[i]), v...))
			} else {
				m.set(code, v)
			}
		case k < 97:
			o.Del(code)
			m.del(code)
		case k < 98:
			var c Options
			c.CopyFrom(&o)
			o = Options{} // drop the original: the copy must stand alone
			o.CopyFrom(&c)
		default:
			o.Reset()
			m = optModel{}
		}
		checkModel(t, step, &o, &m)
	}
}

func TestOptionsSet(t *testing.T) {
	var o Options // the zero value is ready to use
	if _, ok := o.Get(1); ok || o.Len() != 0 || o.Has(1) {
		t.Fatal("zero Options is not empty")
	}
	v := []byte("abc")
	o.Set(12, v)
	v[0] = 'X'
	if got, _ := o.Get(12); string(got) != "abc" {
		t.Errorf("Set does not copy: got %q", got)
	}
	o.Set(15, []byte("dom"))
	o.Set(12, []byte("new"))
	if got := o.Codes(nil); !slices.Equal(got, []uint8{12, 15}) {
		t.Errorf("after re-Set, codes = %v, want [12 15] (position kept)", got)
	}
	if got, _ := o.Get(12); string(got) != "new" {
		t.Errorf("re-Set value = %q", got)
	}
	o.Set(OptPad, []byte{1})
	o.Set(OptEnd, []byte{1})
	o.SetUint8(OptPad, 1)
	o.SetString(OptEnd, "x")
	if o.Has(OptPad) || o.Has(OptEnd) || o.Len() != 2 {
		t.Errorf("pad or end could be set: codes %v", o.Codes(nil))
	}
	if got, _ := o.Get(15); string(got) != "dom" {
		t.Errorf("refused pad/end damaged another value: %q", got)
	}

	// Set from a slice aliasing the storage.
	cur, _ := o.Get(15)
	o.Set(16, cur)
	o.Set(15, cur[1:])
	if a, _ := o.Get(16); string(a) != "dom" {
		t.Errorf("Set from an aliased slice: 16 = %q", a)
	}
	if b, _ := o.Get(15); string(b) != "om" {
		t.Errorf("Set from an aliased slice: 15 = %q", b)
	}

	// A value from Get cannot grow into the next value.
	got, _ := o.Get(12)
	_ = append(got, "zzzz"...)
	if v, _ := o.Get(16); string(v) != "dom" {
		t.Errorf("append to a Get result overwrote the next value: %q", v)
	}

	// Empty values are present.
	o.Set(80, nil)
	if v, ok := o.Get(80); !ok || len(v) != 0 {
		t.Errorf("empty value: %v, %v", v, ok)
	}
}

func TestOptionsAppend(t *testing.T) {
	var o Options
	o.Append(60, []byte("ab"))
	o.Set(61, []byte{1, 2})
	o.Append(60, []byte("cd"))
	o.Append(60, nil)
	if v, _ := o.Get(60); string(v) != "abcd" {
		t.Errorf("Append = %q, want abcd", v)
	}
	if got := o.Codes(nil); !slices.Equal(got, []uint8{60, 61}) {
		t.Errorf("codes = %v, want [60 61]", got)
	}
	cur, _ := o.Get(60)
	o.Append(60, cur) // doubling from an aliased slice
	if v, _ := o.Get(60); string(v) != "abcdabcd" {
		t.Errorf("Append of itself = %q", v)
	}
	o.Append(OptEnd, []byte{1})
	if o.Has(OptEnd) {
		t.Error("Append created option 255")
	}
}

func TestOptionsDel(t *testing.T) {
	var o Options
	for _, c := range []uint8{1, 3, 6, 12, 15} {
		o.SetUint8(c, c)
	}
	o.Del(99) // absent: nothing happens
	o.Del(3)
	o.Del(15)
	if got := o.Codes(nil); !slices.Equal(got, []uint8{1, 6, 12}) {
		t.Fatalf("codes = %v, want [1 6 12]", got)
	}
	for i, c := range []uint8{1, 6, 12} {
		if code, v := o.At(i); code != c || v[0] != c {
			t.Errorf("At(%d) = %d %v, want %d", i, code, v, c)
		}
		if v, ok := o.Uint8(c); !ok || v != c {
			t.Errorf("Uint8(%d) = %d, %v after Del", c, v, ok)
		}
	}
	if o.Has(3) || o.Has(15) {
		t.Error("deleted options still there")
	}
	o.SetUint8(3, 33)
	if got := o.Codes(nil); !slices.Equal(got, []uint8{1, 6, 12, 3}) {
		t.Errorf("re-added after Del: codes = %v, want 3 at the end", got)
	}
	for _, c := range []uint8{1, 6, 12, 3} {
		o.Del(c)
	}
	if o.Len() != 0 || o.Has(1) {
		t.Errorf("after deleting everything: %v", o.Codes(nil))
	}
}

func TestOptionsIterate(t *testing.T) {
	var o Options
	o.SetString(12, "h")
	o.SetUint8(53, 1)
	o.SetUint16(57, 1500)
	var codes []uint8
	for code, v := range o.All() {
		codes = append(codes, code)
		if len(v) == 0 {
			t.Errorf("empty value for %d", code)
		}
	}
	if !slices.Equal(codes, []uint8{12, 53, 57}) {
		t.Errorf("All order = %v", codes)
	}
	n := 0
	for range o.All() {
		n++
		break
	}
	if n != 1 {
		t.Errorf("break in All ran %d times", n)
	}
	dst := []uint8{7}
	if got := o.Codes(dst); !slices.Equal(got, []uint8{7, 12, 53, 57}) {
		t.Errorf("Codes appends: %v", got)
	}
}

func TestOptionsCopyEqual(t *testing.T) {
	var a, b Options
	a.SetString(12, "host")
	a.SetUint8(53, 3)
	b.SetString(99, "junk")
	b.CopyFrom(&a)
	if !b.Equal(&a) || !a.Equal(&b) {
		t.Fatal("copy not Equal")
	}
	a.SetString(12, "other")
	if v, _ := b.Get(12); string(v) != "host" {
		t.Errorf("copy changed with its source: %q", v)
	}
	var c Options
	c.SetUint8(53, 3)
	c.SetString(12, "host")
	if c.Equal(&b) {
		t.Error("Equal ignores order")
	}
	c.Del(53)
	if c.Equal(&b) || b.Equal(&c) {
		t.Error("Equal ignores a missing option")
	}
	var e1, e2 Options
	e1.Set(1, []byte{})
	e2.Set(1, nil)
	if !e1.Equal(&e2) {
		t.Error("two empty values differ")
	}
	var empty Options
	if !empty.Equal(new(Options)) {
		t.Error("two empty sets differ")
	}
}

func TestTypedOptions(t *testing.T) {
	var o Options
	o.SetUint8(23, 64)
	o.SetUint16(57, 1500)
	o.SetUint32(51, 0xdeadbeef)
	o.SetBool(19, true)
	o.SetBool(20, false)
	o.SetAddr(1, netip.MustParseAddr("255.255.255.0"))
	o.SetAddr(16, netip.Addr{})                       // invalid: 0.0.0.0
	o.SetAddr(28, netip.MustParseAddr("2001:db8::1")) // not IPv4: 0.0.0.0
	o.SetAddrs(6, netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"))
	o.SetAddrs(68)
	o.SetString(12, "host")
	wire := map[uint8][]byte{
		23: {64}, 57: {0x05, 0xdc}, 51: {0xde, 0xad, 0xbe, 0xef}, 19: {1}, 20: {0},
		1: {255, 255, 255, 0}, 16: {0, 0, 0, 0}, 28: {0, 0, 0, 0},
		6: {192, 0, 2, 1, 192, 0, 2, 2}, 68: {}, 12: []byte("host"),
	}
	for code, want := range wire {
		if got, ok := o.Get(code); !ok || !bytes.Equal(got, want) {
			t.Errorf("option %d = %v, want %v", code, got, want)
		}
	}
	if v, ok := o.Uint8(23); !ok || v != 64 {
		t.Errorf("Uint8 = %d, %v", v, ok)
	}
	if v, ok := o.Uint16(57); !ok || v != 1500 {
		t.Errorf("Uint16 = %d, %v", v, ok)
	}
	if v, ok := o.Uint32(51); !ok || v != 0xdeadbeef {
		t.Errorf("Uint32 = %#x, %v", v, ok)
	}
	if v, ok := o.Bool(19); !ok || !v {
		t.Errorf("Bool(19) = %v, %v", v, ok)
	}
	if v, ok := o.Bool(20); !ok || v {
		t.Errorf("Bool(20) = %v, %v", v, ok)
	}
	if v, ok := o.Addr(1); !ok || v != netip.MustParseAddr("255.255.255.0") {
		t.Errorf("Addr = %v, %v", v, ok)
	}
	as, ok := o.Addrs(6)
	if !ok || len(as) != 2 || as[1] != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("Addrs = %v, %v", as, ok)
	}
	if as, ok := o.Addrs(68); !ok || len(as) != 0 {
		t.Errorf("Addrs of an empty list = %v, %v; want none, true", as, ok)
	}
	dst := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	if got, ok := o.AppendAddrs(dst, 6); !ok || len(got) != 3 || got[0] != dst[0] {
		t.Errorf("AppendAddrs = %v, %v", got, ok)
	}
	if v, ok := o.String(12); !ok || v != "host" {
		t.Errorf("String = %q, %v", v, ok)
	}
}

// TestGetterContract: every typed getter gives false for an absent option
// and for a value of the wrong size or content.
func TestGetterContract(t *testing.T) {
	var o Options
	o.Set(1, []byte{1})       // 1 byte: not a uint16/uint32/addr
	o.Set(2, []byte{1, 2, 3}) // 3 bytes: nothing but bytes
	o.Set(3, []byte{1, 2, 3, 4, 5})
	o.Set(4, []byte{2})    // bool out of range
	o.Set(5, nil)          // empty
	o.Set(6, []byte{1, 2}) // 2 bytes
	for _, code := range []uint8{2, 3, 5, 6, 200} {
		if _, ok := o.Uint8(code); ok {
			t.Errorf("Uint8(%d) ok", code)
		}
	}
	for _, code := range []uint8{1, 2, 3, 5, 200} {
		if _, ok := o.Uint16(code); ok {
			t.Errorf("Uint16(%d) ok", code)
		}
	}
	for _, code := range []uint8{1, 2, 3, 5, 6, 200} {
		if _, ok := o.Uint32(code); ok {
			t.Errorf("Uint32(%d) ok", code)
		}
		if _, ok := o.Duration(code); ok {
			t.Errorf("Duration(%d) ok", code)
		}
		if _, ok := o.Addr(code); ok {
			t.Errorf("Addr(%d) ok", code)
		}
	}
	for _, code := range []uint8{2, 4, 5, 200} {
		if _, ok := o.Bool(code); ok {
			t.Errorf("Bool(%d) ok", code)
		}
	}
	for _, code := range []uint8{1, 2, 3, 6, 200} {
		dst := []netip.Addr{{}}
		if got, ok := o.AppendAddrs(dst, code); ok || len(got) != 1 {
			t.Errorf("AppendAddrs(%d) = %v, %v; want dst unchanged and false", code, got, ok)
		}
	}
	if _, ok := o.String(200); ok {
		t.Error("String(absent) ok")
	}
}

func TestDurations(t *testing.T) {
	tests := []struct {
		d    time.Duration
		wire uint32
		back time.Duration
	}{
		{0, 0, 0},
		{-time.Second, 0, 0},
		{time.Hour, 3600, time.Hour},
		{1500 * time.Millisecond, 1, time.Second}, // whole seconds
		{Infinite, 0xffffffff, Infinite},
		{0xffffffff * time.Second, 0xffffffff, Infinite},
		{0xfffffffe * time.Second, 0xfffffffe, 0xfffffffe * time.Second},
		{200 * 365 * 24 * time.Hour, 0xffffffff, Infinite},
	}
	for _, tt := range tests {
		var o Options
		o.SetDuration(OptLeaseTime, tt.d)
		if v, _ := o.Uint32(OptLeaseTime); v != tt.wire {
			t.Errorf("SetDuration(%v) wrote %#x, want %#x", tt.d, v, tt.wire)
		}
		if d, ok := o.Duration(OptLeaseTime); !ok || d != tt.back {
			t.Errorf("Duration after SetDuration(%v) = %v, %v; want %v", tt.d, d, ok, tt.back)
		}
	}
}

// msgWith returns a message holding one option.
func msgWith(code uint8, v []byte) *Message {
	m := new(Message)
	m.Options.Set(code, v)
	return m
}

// TestAccessors checks every typed accessor of Message on well-formed,
// malformed and absent values.
func TestAccessors(t *testing.T) {
	type result struct {
		ok  bool
		val string
	}
	accessors := map[string]struct {
		code uint8
		get  func(m *Message) result
	}{
		"MessageType": {53, func(m *Message) result { v, ok := m.MessageType(); return result{ok, v.String()} }},
		"RequestedIP": {50, func(m *Message) result { v, ok := m.RequestedIP(); return result{ok, v.String()} }},
		"ServerID":    {54, func(m *Message) result { v, ok := m.ServerID(); return result{ok, v.String()} }},
		"SubnetSel":   {118, func(m *Message) result { v, ok := m.SubnetSelection(); return result{ok, v.String()} }},
		"LeaseTime":   {51, func(m *Message) result { v, ok := m.LeaseTime(); return result{ok, v.String()} }},
		"ClientID":    {61, func(m *Message) result { v, ok := m.ClientID(); return result{ok, string(v)} }},
		"PRL":         {55, func(m *Message) result { v, ok := m.ParamRequestList(); return result{ok, string(v)} }},
		"MaxSize": {57, func(m *Message) result {
			v, ok := m.MaxMessageSize()
			return result{ok, itoa(int(v))}
		}},
		"HostName":    {12, func(m *Message) result { v, ok := m.HostName(); return result{ok, string(v)} }},
		"VendorClass": {60, func(m *Message) result { v, ok := m.VendorClass(); return result{ok, string(v)} }},
		"UserClass": {77, func(m *Message) result {
			v, ok := m.UserClass()
			var s []string
			for c := range v.All() {
				s = append(s, string(c))
			}
			return result{ok, strings.Join(s, "|")}
		}},
		"ClientArch": {93, func(m *Message) result { v, ok := m.ClientArch(); return result{ok, v.String()} }},
		"ClientNDI": {94, func(m *Message) result {
			v, ok := m.ClientNDI()
			return result{ok, itoa(int(v.Type)) + "/" + itoa(int(v.Major)) + "." + itoa(int(v.Minor))}
		}},
		"ClientUUID": {97, func(m *Message) result { v, ok := m.ClientUUID(); return result{ok, FormatUUID(v)} }},
		"ClientFQDN": {81, func(m *Message) result { v, ok := m.ClientFQDN(); return result{ok, v.Name} }},
		"RelayAgentInfo": {82, func(m *Message) result {
			v, ok := m.RelayAgentInfo()
			return result{ok, string(v)}
		}},
		"DomainSearch": {119, func(m *Message) result {
			v, ok := m.DomainSearch()
			return result{ok, strings.Join(v, ",")}
		}},
		"ClasslessRoutes": {121, func(m *Message) result {
			v, ok := m.ClasslessRoutes()
			var s []string
			for _, r := range v {
				s = append(s, r.Dest.String()+">"+r.Router.String())
			}
			return result{ok, strings.Join(s, ",")}
		}},
	}
	uuid := append([]byte{0}, []byte("0123456789abcdef")...)
	tests := []struct {
		accessor string
		v        []byte
		want     string // "" with ok false
	}{
		{"MessageType", []byte{1}, "DISCOVER"},
		{"MessageType", []byte{18}, "TLS"},
		{"MessageType", []byte{200}, "type(200)"},
		{"MessageType", []byte{0}, ""},
		{"MessageType", []byte{1, 1}, ""},
		{"MessageType", nil, ""},
		{"RequestedIP", []byte{192, 0, 2, 7}, "192.0.2.7"},
		{"RequestedIP", []byte{192, 0, 2}, ""},
		{"RequestedIP", []byte{192, 0, 2, 7, 8}, ""},
		{"ServerID", []byte{192, 0, 2, 1}, "192.0.2.1"},
		{"ServerID", []byte{1, 2, 3, 4, 5, 6, 7, 8}, ""},
		{"SubnetSel", []byte{10, 1, 0, 0}, "10.1.0.0"},
		{"SubnetSel", nil, ""},
		{"LeaseTime", []byte{0, 0, 0x0e, 0x10}, "1h0m0s"},
		{"LeaseTime", []byte{0xff, 0xff, 0xff, 0xff}, Infinite.String()},
		{"LeaseTime", []byte{0, 0x0e, 0x10}, ""},
		{"ClientID", []byte{1, 2}, "\x01\x02"},
		{"ClientID", []byte{1}, ""},
		{"ClientID", nil, ""},
		{"PRL", []byte{1, 3}, "\x01\x03"},
		{"PRL", nil, ""},
		{"MaxSize", []byte{0x05, 0xdc}, "1500"},
		{"MaxSize", []byte{0x05}, ""},
		{"HostName", []byte("host"), "host"},
		{"HostName", []byte("host\x00"), "host"},
		{"HostName", nil, ""},
		{"VendorClass", []byte("PXEClient:Arch:00007"), "PXEClient:Arch:00007"},
		{"VendorClass", nil, ""},
		{"UserClass", []byte{4, 'i', 'P', 'X', 'E'}, "iPXE"},
		{"UserClass", []byte{1, 'a', 2, 'b', 'c'}, "a|bc"},
		{"UserClass", []byte("iPXE"), "iPXE"},               // bare name, as iPXE sends it
		{"UserClass", []byte{1, 'a', 0}, "\x01a\x00"},       // not a list (empty class): one name
		{"UserClass", []byte{1, 'a', 5, 'b'}, "\x01a\x05b"}, // not a list (truncated): one name
		{"UserClass", nil, ""},
		{"ClientArch", []byte{0, 7}, "x64 UEFI"},
		{"ClientArch", []byte{0, 16, 0, 7}, "x64 UEFI HTTP"},
		{"ClientArch", []byte{0, 99}, "arch(99)"},
		{"ClientArch", []byte{0, 7, 0}, ""},
		{"ClientArch", []byte{7}, ""},
		{"ClientArch", nil, ""},
		{"ClientNDI", []byte{1, 3, 16}, "1/3.16"},
		{"ClientNDI", []byte{1, 3}, ""},
		{"ClientUUID", uuid, "30313233-3435-3637-3839-616263646566"},
		{"ClientUUID", append([]byte{1}, uuid[1:]...), ""},
		{"ClientUUID", uuid[1:], ""},
		{"ClientFQDN", []byte{0, 0, 0, 'h'}, "h"},
		{"ClientFQDN", []byte{0, 0}, ""},
		{"RelayAgentInfo", []byte{1, 2, 'r', '1'}, "\x01\x02r1"},
		{"RelayAgentInfo", []byte{1, 5, 'r', '1'}, ""},
		{"RelayAgentInfo", nil, ""},
		{"DomainSearch", []byte{1, 'a', 0}, "a"},
		{"DomainSearch", []byte{1, 'a'}, ""},
		{"ClasslessRoutes", []byte{8, 10, 192, 0, 2, 1}, "10.0.0.0/8>192.0.2.1"},
		{"ClasslessRoutes", []byte{8, 10, 192, 0, 2}, ""},
		{"ClasslessRoutes", nil, ""},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		a := accessors[tt.accessor]
		covered[tt.accessor] = true
		got := a.get(msgWith(a.code, tt.v))
		want := result{tt.want != "", tt.want}
		if got.ok != want.ok || (got.ok && got.val != want.val) {
			t.Errorf("%s(%x) = %q, %v; want %q, %v", tt.accessor, tt.v, got.val, got.ok, want.val, want.ok)
		}
		// Absent is always false.
		if got := a.get(new(Message)); got.ok {
			t.Errorf("%s of an absent option = %q, true", tt.accessor, got.val)
		}
	}
	for name := range accessors {
		if !covered[name] {
			t.Errorf("accessor %s has no test case", name)
		}
	}

	// BOOTP is the absence of a valid message type.
	if !msgWith(53, []byte{0}).IsBOOTP() || !new(Message).IsBOOTP() || msgWith(53, []byte{5}).IsBOOTP() {
		t.Error("IsBOOTP wrong")
	}
	var m Message
	m.SetMessageType(Inform)
	if v, ok := m.Options.Get(53); !ok || !bytes.Equal(v, []byte{8}) {
		t.Errorf("SetMessageType wrote %v", v)
	}
}

func TestClientArchs(t *testing.T) {
	m := msgWith(93, []byte{0, 7, 0, 16, 0, 0})
	if got := slices.Collect(m.ClientArchs()); !slices.Equal(got, []Arch{ArchX64UEFI, ArchX64UEFIHTTP, ArchX86BIOS}) {
		t.Errorf("ClientArchs = %v", got)
	}
	for a := range m.ClientArchs() {
		if a != ArchX64UEFI {
			t.Errorf("first arch %v", a)
		}
		break
	}
	if got := slices.Collect(msgWith(93, []byte{0, 7, 0}).ClientArchs()); len(got) != 0 {
		t.Errorf("ClientArchs of an odd-length value = %v, want none", got)
	}
	if got := slices.Collect(new(Message).ClientArchs()); len(got) != 0 {
		t.Errorf("ClientArchs of an absent option = %v", got)
	}
	for _, tt := range []struct {
		a    Arch
		want string
	}{{ArchX86BIOS, "x86 BIOS"}, {ArchARM64UEFI, "ARM 64-bit UEFI"}, {41, "ARM rpiboot"}, {42, "arch(42)"}, {65535, "arch(65535)"}} {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Arch(%d).String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}

func TestUserClass(t *testing.T) {
	b := AppendUserClass(nil, "iPXE", "gpxe")
	if want := []byte("\x04iPXE\x04gpxe"); !bytes.Equal(b, want) {
		t.Errorf("AppendUserClass = %q, want %q", b, want)
	}
	uc := UserClass(b)
	if !uc.Contains("gpxe") || !uc.Contains("iPXE") || uc.Contains("ipxe") || uc.Contains("") {
		t.Error("Contains wrong")
	}
	var got []string
	for c := range uc.All() {
		got = append(got, string(c))
		break
	}
	if !slices.Equal(got, []string{"iPXE"}) {
		t.Errorf("break in All: %q", got)
	}
	// What is not a well-formed list is one bare name (iPXE sends "iPXE").
	for _, v := range []string{"iPXE", "\x01a\x09b", "\x01a\x00", "\x00"} {
		got := slices.Collect(UserClass(v).All())
		if len(got) != 1 || string(got[0]) != v {
			t.Errorf("UserClass(%q).All() = %q, want the whole value", v, got)
		}
	}
	if !UserClass("iPXE").Contains("iPXE") || UserClass("iPXE").Contains("PXE") {
		t.Error("Contains on a bare name wrong")
	}
	if got := slices.Collect(UserClass(nil).All()); len(got) != 0 {
		t.Errorf("empty UserClass yields %q", got)
	}
}

func TestRelayAgentInfo(t *testing.T) {
	v := slices.Concat(
		[]byte{1, 4}, []byte("eth0"), // circuit id
		[]byte{2, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55}, // remote id
		[]byte{5, 4, 10, 1, 2, 0},                     // link selection
		[]byte{11, 4, 192, 0, 2, 9},                   // server id override
		[]byte{0, 1, 'z'},                             // sub-option 0 is a sub-option, not padding
		[]byte{1, 2, 'x', 'x'},                        // a second circuit id: Get returns the first
	)
	m := msgWith(OptRelayAgentInfo, v)
	ri, ok := m.RelayAgentInfo()
	if !ok {
		t.Fatal("RelayAgentInfo() not ok")
	}
	if got, ok := ri.CircuitID(); !ok || string(got) != "eth0" {
		t.Errorf("CircuitID = %q, %v", got, ok)
	}
	if got, ok := ri.RemoteID(); !ok || !bytes.Equal(got, []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}) {
		t.Errorf("RemoteID = %x, %v", got, ok)
	}
	if got, ok := ri.LinkSelection(); !ok || got != netip.MustParseAddr("10.1.2.0") {
		t.Errorf("LinkSelection = %v, %v", got, ok)
	}
	if got, ok := ri.ServerIDOverride(); !ok || got != netip.MustParseAddr("192.0.2.9") {
		t.Errorf("ServerIDOverride = %v, %v", got, ok)
	}
	if got, ok := ri.Get(0); !ok || string(got) != "z" {
		t.Errorf("Get(0) = %q, %v", got, ok)
	}
	if _, ok := ri.Get(RelaySubscriberID); ok {
		t.Error("Get of an absent sub-option ok")
	}
	var codes []uint8
	for c := range ri.All() {
		codes = append(codes, c)
	}
	if !slices.Equal(codes, []uint8{1, 2, 5, 11, 0, 1}) {
		t.Errorf("sub-option codes = %v", codes)
	}

	// Sub-option addresses of the wrong size, and malformed option values.
	bad := RelayInfo{5, 3, 10, 1, 2, 11, 5, 1, 2, 3, 4, 5}
	if _, ok := bad.LinkSelection(); ok {
		t.Error("3-byte link selection ok")
	}
	if _, ok := bad.ServerIDOverride(); ok {
		t.Error("5-byte server id override ok")
	}
	for _, v := range [][]byte{nil, {1}, {1, 3, 'a', 'b'}, {1, 1, 'a', 2}} {
		if _, ok := msgWith(OptRelayAgentInfo, v).RelayAgentInfo(); ok {
			t.Errorf("RelayAgentInfo(%x) ok", v)
		}
	}
	// Built with AppendSubOption.
	var b []byte
	b, _ = AppendSubOption(b, RelayCircuitID, []byte("r1"))
	b, _ = AppendSubOption(b, RelayRemoteID, nil)
	if want := []byte{1, 2, 'r', '1', 2, 0}; !bytes.Equal(b, want) {
		t.Errorf("AppendSubOption = %v, want %v", b, want)
	}
	if b2, ok := AppendSubOption(b, 9, make([]byte, 256)); ok || len(b2) != len(b) {
		t.Error("AppendSubOption accepted 256 bytes")
	}
	for _, tt := range []struct {
		code uint8
		want string
	}{{1, "circuit-id"}, {2, "remote-id"}, {5, "link-selection"}, {11, "server-id-override"}, {152, "virtual-subnet-selection-control"}, {3, "sub-option-3"}, {0, "sub-option-0"}} {
		if got := RelaySubOptionName(tt.code); got != tt.want {
			t.Errorf("RelaySubOptionName(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestSubOptions(t *testing.T) {
	type so struct {
		c uint8
		v string
	}
	collect := func(v []byte, skipPad bool) []so {
		var out []so
		for c, sv := range SubOptions(v, skipPad) {
			out = append(out, so{c, string(sv)})
		}
		return out
	}
	v := []byte{0, 1, 1, 'a', 0, 2, 0, 255, 3, 1, 'c'}
	if got, want := collect(v, true), []so{{1, "a"}, {2, ""}}; !slices.Equal(got, want) {
		t.Errorf("skipPad: %v, want %v", got, want)
	}
	// Without skipPad every byte pair is a header: 0,1 → "\x01"; 'a',0 → "";
	// 2,0 → ""; 255,3 → runs past the end: stop.
	if got, want := collect(v, false), []so{{0, "\x01"}, {'a', ""}, {2, ""}}; !slices.Equal(got, want) {
		t.Errorf("no skipPad: %v, want %v", got, want)
	}
	if got := collect([]byte{1, 5, 'a'}, true); len(got) != 0 {
		t.Errorf("truncated: %v", got)
	}
	for range SubOptions([]byte{1, 0, 2, 0}, true) {
		break // must not panic or continue
	}
	for _, tt := range []struct {
		v       []byte
		skipPad bool
		want    bool
	}{
		{nil, true, true},
		{[]byte{1, 1, 'a'}, false, true},
		{[]byte{1, 1}, false, false},
		{[]byte{1}, false, false},
		{[]byte{0, 0, 255, 9, 9}, true, true}, // end stops the walk
		{[]byte{255, 1}, false, false},
		{[]byte{0}, true, true},
		{[]byte{0}, false, false},
	} {
		if got := subOptionsValid(tt.v, tt.skipPad); got != tt.want {
			t.Errorf("subOptionsValid(%v, %v) = %v, want %v", tt.v, tt.skipPad, got, tt.want)
		}
	}
}

func TestVendorEntries(t *testing.T) {
	var b []byte
	b = AppendVendorEntry(b, VendorEntry{Enterprise: 4491, Data: AppendUserClass(nil, "docsis3.0")})
	b = AppendVendorEntry(b, VendorEntry{Enterprise: 3561, Data: nil})
	want := slices.Concat([]byte{0, 0, 0x11, 0x8b, 10, 9}, []byte("docsis3.0"), []byte{0, 0, 0x0d, 0xe9, 0})
	if !bytes.Equal(b, want) {
		t.Fatalf("AppendVendorEntry = %v\nwant %v", b, want)
	}
	var got []VendorEntry
	for e := range VendorEntries(b) {
		got = append(got, e)
	}
	if len(got) != 2 || got[0].Enterprise != 4491 || !UserClass(got[0].Data).Contains("docsis3.0") ||
		got[1].Enterprise != 3561 || len(got[1].Data) != 0 {
		t.Errorf("VendorEntries = %+v", got)
	}
	// Truncated: the entries before the bad one.
	trunc := append(bytes.Clone(b), 0, 0, 0, 1, 5, 'x')
	if n := len(slices.Collect(VendorEntries(trunc))); n != 2 {
		t.Errorf("truncated list gave %d entries, want 2", n)
	}
	for range VendorEntries(b) {
		break
	}
	if n := len(slices.Collect(VendorEntries([]byte{0, 0, 0}))); n != 0 {
		t.Errorf("short value gave %d entries", n)
	}
}

func TestRoutes(t *testing.T) {
	gw := []byte{192, 0, 2, 1}
	// RFC 3442 section 3: destination descriptors.
	tests := []struct {
		desc []byte
		dest string
	}{
		{[]byte{0}, "0.0.0.0/0"},
		{[]byte{8, 10}, "10.0.0.0/8"},
		{[]byte{24, 10, 0, 0}, "10.0.0.0/24"},
		{[]byte{16, 10, 17}, "10.17.0.0/16"},
		{[]byte{24, 10, 27, 129}, "10.27.129.0/24"},
		{[]byte{25, 10, 229, 0, 128}, "10.229.0.128/25"},
		{[]byte{32, 10, 198, 122, 47}, "10.198.122.47/32"},
	}
	var all []byte
	var allRoutes []Route
	for _, tt := range tests {
		v := slices.Concat(tt.desc, gw)
		rs, err := DecodeRoutes(v)
		want := Route{netip.MustParsePrefix(tt.dest), netip.AddrFrom4([4]byte(gw))}
		if err != nil || len(rs) != 1 || rs[0] != want {
			t.Errorf("DecodeRoutes(%v) = %v, %v; want %v", v, rs, err, want)
		}
		if b, err := AppendRoutes(nil, want); err != nil || !bytes.Equal(b, v) {
			t.Errorf("AppendRoutes(%v) = %v, %v; want %v", want, b, err, v)
		}
		all = append(all, v...)
		allRoutes = append(allRoutes, want)
	}
	rs, err := DecodeRoutes(all)
	if err != nil || !slices.Equal(rs, allRoutes) {
		t.Errorf("all examples in one value: %v, %v", rs, err)
	}
	// AppendRoutes masks the prefix.
	if b, err := AppendRoutes(nil, Route{netip.MustParsePrefix("10.1.2.3/16"), netip.AddrFrom4([4]byte(gw))}); err != nil || !bytes.Equal(b, []byte{16, 10, 1, 192, 0, 2, 1}) {
		t.Errorf("AppendRoutes of an unmasked prefix = %v, %v", b, err)
	}
	for _, r := range []Route{
		{netip.MustParsePrefix("2001:db8::/32"), netip.AddrFrom4([4]byte(gw))},
		{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParseAddr("2001:db8::1")},
		{netip.Prefix{}, netip.AddrFrom4([4]byte(gw))},
	} {
		if b, err := AppendRoutes([]byte{7}, r); err == nil || !bytes.Equal(b, []byte{7}) {
			t.Errorf("AppendRoutes(%v) = %v, %v; want an error", r, b, err)
		}
	}
	for name, v := range map[string][]byte{
		"empty":          nil,
		"width-33":       {33, 10, 0, 0, 0, 0, 192, 0, 2, 1},
		"width-255":      {255, 192, 0, 2, 1},
		"bits-beyond-25": {25, 10, 229, 0, 129, 192, 0, 2, 1},
		"bits-beyond-1":  {1, 0xc0, 192, 0, 2, 1},
		"bits-beyond-20": {20, 10, 0, 0x1f, 192, 0, 2, 1},
		"no-router":      {8, 10, 192, 0, 2},
		"truncated-dest": {24, 10},
		"second-bad":     {0, 192, 0, 2, 1, 8},
	} {
		if rs, err := DecodeRoutes(v); err == nil {
			t.Errorf("DecodeRoutes(%s) = %v, want an error", name, rs)
		}
	}
	m := msgWith(OptClasslessRoutes, all)
	if rs, ok := m.ClasslessRoutes(); !ok || len(rs) != len(tests) {
		t.Errorf("ClasslessRoutes = %v, %v", rs, ok)
	}
}

// TestValidate has a malformed value for every Kind that can be malformed,
// and checks that a well-formed one passes.
func TestValidate(t *testing.T) {
	uuid := append([]byte{0}, make([]byte, 16)...)
	tests := []struct {
		kind   Kind
		code   uint8
		good   []byte
		bad    []byte
		reason string
	}{
		{KindAddr, 1, []byte{255, 0, 0, 0}, []byte{255, 0, 0}, "length 3, want 4"},
		{KindAddrs, 3, []byte{1, 2, 3, 4, 5, 6, 7, 8}, nil, "length 0 is not a positive multiple of 4"},
		{KindAddrs, 6, []byte{1, 2, 3, 4}, []byte{1, 2, 3, 4, 5}, "length 5 is not a positive multiple of 4"},
		{KindAddrsOrNone, 68, nil, []byte{1, 2}, "length 2 is not a multiple of 4"},
		{KindAddrPairs, 21, make([]byte, 8), make([]byte, 12), "length 12 is not a positive multiple of 8"},
		{KindAddrPairs, 33, make([]byte, 16), nil, "length 0 is not a positive multiple of 8"},
		{KindUint8, 23, []byte{64}, []byte{0, 64}, "length 2, want 1"},
		{KindUint16, 57, []byte{5, 220}, []byte{5}, "length 1, want 2"},
		{KindUint16s, 25, []byte{0, 68, 1, 40}, []byte{0, 68, 1}, "length 3 is not a positive multiple of 2"},
		{KindInt32, 2, []byte{0xff, 0xff, 0xf1, 0xf0}, []byte{0}, "length 1, want 4"},
		{KindSeconds, 51, []byte{0, 0, 0, 1}, []byte{0, 0, 1}, "length 3, want 4"},
		{KindBool, 19, []byte{1}, []byte{2}, "boolean value is not 0 or 1"},
		{KindBool, 20, []byte{0}, nil, "length 0, want 1"},
		{KindString, 12, []byte("h"), nil, "empty text"},
		{KindEmpty, 80, nil, []byte{0}, "length 1, want 0"},
		{KindMessageType, 53, []byte{3}, []byte{0}, "message type 0"},
		{KindMessageType, 53, []byte{3}, []byte{3, 3}, "length 2, want 1"},
		{KindCodes, 55, []byte{1}, nil, "empty list"},
		{KindClientID, 61, []byte{1, 2}, []byte{1}, "shorter than 2 bytes"},
		{KindUserClass, 77, []byte{1, 'a'}, nil, "empty user class"},
		{KindUserClass, 77, []byte("iPXE"), nil, "empty user class"},
		{KindFQDN, 81, []byte{0, 0, 0}, []byte{0xf0, 0, 0}, "reserved flag bits set"},
		{KindFQDN, 81, []byte{4, 0, 0, 1, 'a', 0}, []byte{4, 0, 0, 5, 'a'}, "name runs past the end of the value"},
		{KindRelayInfo, 82, []byte{1, 1, 'a'}, []byte{1, 2, 'a'}, "sub-options run past the end"},
		{KindRelayInfo, 82, []byte{1, 0}, nil, "sub-options run past the end"},
		{KindClientArch, 93, []byte{0, 7}, []byte{0}, "length 1 is not a positive multiple of 2"},
		{KindNDI, 94, []byte{1, 3, 16}, []byte{1, 3}, "length 2, want 3"},
		{KindUUID, 97, uuid, uuid[1:], "length 16, want 17"},
		{KindUUID, 97, uuid, append([]byte{2}, uuid[1:]...), "type 2, want 0"},
		{KindDomainList, 119, []byte{1, 'a', 0}, []byte{1, 'a'}, "name runs past the end of the value"},
		{KindDomainList, 119, nil, []byte{0xc0, 0}, "compression pointer does not point backwards"},
		{KindRoutes, 121, []byte{0, 1, 2, 3, 4}, []byte{33, 1, 2, 3, 4}, "bad classless static route"},
		{KindRoutes, 249, []byte{0, 1, 2, 3, 4}, nil, "bad classless static route"},
		{KindVIClass, 124, []byte{0, 0, 0, 1, 0}, []byte{0, 0, 0, 1, 1}, "enterprise entries run past the end"},
		{KindVIClass, 124, []byte{0, 0, 0, 1, 0}, nil, "enterprise entries run past the end"},
		{KindVIVendor, 125, []byte{0, 0, 0, 1, 2, 1, 0}, []byte{0, 0, 0, 1}, "enterprise entries run past the end"},
		{KindEncapsulated, 43, []byte{1, 1, 'a', 0, 255}, []byte{1, 1}, "sub-options run past the end"},
		{KindEncapsulated, 175, []byte{1, 1, 'a'}, []byte{1, 2, 'a'}, "sub-options run past the end"},
	}
	covered := map[Kind]bool{}
	for _, tt := range tests {
		if LookupOption(tt.code).Kind != tt.kind {
			t.Errorf("test table: option %d is kind %d, not %d", tt.code, LookupOption(tt.code).Kind, tt.kind)
		}
		covered[tt.kind] = true
		if err := msgWith(tt.code, tt.good).Validate(); err != nil {
			t.Errorf("option %d = %x: Validate: %v", tt.code, tt.good, err)
		}
		err := msgWith(tt.code, tt.bad).Validate()
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("option %d = %x: Validate = %v, want ErrMalformed", tt.code, tt.bad, err)
			continue
		}
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Code != tt.code || oe.Reason != tt.reason {
			t.Errorf("option %d = %x: error %+v, want code %d reason %q", tt.code, tt.bad, oe, tt.code, tt.reason)
		}
	}
	// Every kind that the table uses and that has a malformed form is covered.
	for code := range 256 {
		k := LookupOption(uint8(code)).Kind
		switch k {
		case KindBytes, KindOverload: // anything goes; 52 never stays in Options
			continue
		}
		if LookupOption(uint8(code)).Name != "" && !covered[k] && code != 0 && code != 255 {
			t.Errorf("kind %d (option %d) has no Validate case", k, code)
		}
	}
	// Kinds not reached through a code.
	if r := checkValue(KindUint32, []byte{1, 2, 3}); r != "length 3, want 4" {
		t.Errorf("checkValue(KindUint32, 3 bytes) = %q", r)
	}
	if r := checkValue(KindOverload, []byte{4}); r != "not 1, 2 or 3" {
		t.Errorf("checkValue(KindOverload, 4) = %q", r)
	}
	if r := checkValue(KindBytes, nil); r != "" {
		t.Errorf("checkValue(KindBytes, nil) = %q", r)
	}

	// Option 57 below 576.
	err := msgWith(57, []byte{0x02, 0x3f}).Validate()
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Code != 57 || oe.Reason != "below the minimum of 576" {
		t.Errorf("option 57 = 575: Validate = %v", err)
	}
	if err := msgWith(57, []byte{0x02, 0x40}).Validate(); err != nil {
		t.Errorf("option 57 = 576: Validate = %v", err)
	}

	// All problems, in option order, joined; unknown options unchecked.
	var m Message
	m.Options.Set(50, []byte{1})
	m.Options.Set(200, []byte{1, 2, 3})
	m.Options.Set(53, nil)
	m.Options.SetUint16(57, 100)
	err = m.Validate()
	var codes []uint8
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if errors.As(e, &oe) {
			codes = append(codes, oe.Code)
		}
	}
	if !slices.Equal(codes, []uint8{50, 53, 57}) {
		t.Errorf("Validate reported options %v, want [50 53 57]: %v", codes, err)
	}
	if err := new(Message).Validate(); err != nil {
		t.Errorf("empty message: %v", err)
	}
}

func TestFormatValue(t *testing.T) {
	uuid := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		code uint8
		v    []byte
		want string
	}{
		{1, []byte{255, 255, 255, 0}, "255.255.255.0"},
		{3, []byte{192, 0, 2, 1, 192, 0, 2, 2}, "192.0.2.1, 192.0.2.2"},
		{68, nil, ""},
		{21, []byte{10, 0, 0, 0, 255, 0, 0, 0, 10, 1, 0, 0, 255, 255, 0, 0}, "10.0.0.0 255.0.0.0, 10.1.0.0 255.255.0.0"},
		{23, []byte{64}, "64"},
		{57, []byte{0x05, 0xdc}, "1500"},
		{25, []byte{0, 68, 1, 40}, "68, 296"},
		{2, []byte{0xff, 0xff, 0xf1, 0xf0}, "-3600"},
		{51, []byte{0, 0, 0x0e, 0x10}, "3600s (1h0m0s)"},
		{51, []byte{0xff, 0xff, 0xff, 0xff}, "infinite"},
		{58, []byte{0, 0, 0, 0}, "0s (0s)"},
		{19, []byte{1}, "true"},
		{20, []byte{0}, "false"},
		{12, []byte("host"), `"host"`},
		{12, []byte("host\x00"), `"host"`},
		{56, []byte("tab\there"), `"tab\there"`},
		{80, nil, ""},
		{52, []byte{3}, "3 (file and sname)"},
		{52, []byte{1}, "1 (file)"},
		{53, []byte{1}, "DISCOVER"},
		{53, []byte{99}, "type(99)"},
		{55, []byte{1, 3, 200}, "1 subnet-mask, 3 router, 200 option-200"},
		{61, []byte{1, 2, 0, 0, 0, 0, 1}, "ethernet 02:00:00:00:00:01"},
		{61, []byte{255, 0, 0, 0, 1, 0, 1, 0xab}, "iaid 0x00000001 duid 00:01:ab"},
		{61, []byte{0, 'n', 'a', 'm', 'e'}, `type 0 "name"`},
		{61, []byte{0, 1, 2}, "type 0 01:02"},
		{61, []byte{6, 1, 2}, "type 6 01:02"},
		{77, []byte{4, 'i', 'P', 'X', 'E', 2, 'a', 'b'}, `"iPXE", "ab"`},
		{77, []byte("iPXE"), `"iPXE"`},
		{77, nil, "malformed (empty user class): "},
		{81, slices.Concat([]byte{5, 0, 0, 4}, []byte("host"), []byte{7}, []byte("example"), []byte{0}), `flags=SE rcode1=0 rcode2=0 name="host.example"`},
		{81, slices.Concat([]byte{4, 255, 255, 4}, []byte("host")), `flags=E rcode1=255 rcode2=255 name="host" (partial)`},
		{81, []byte{0x0b, 0, 0, 'h'}, `flags=SON rcode1=0 rcode2=0 name="h"`},
		{82, slices.Concat([]byte{1, 4}, []byte("eth0"), []byte{2, 2, 1, 2, 5, 4, 10, 1, 0, 0, 11, 3, 1, 2, 3, 200, 0}), `circuit-id="eth0" remote-id=01:02 link-selection=10.1.0.0 server-id-override=01:02:03 sub-option-200=`},
		{93, []byte{0, 7, 0, 0}, "7 (x64 UEFI), 0 (x86 BIOS)"},
		{94, []byte{1, 3, 16}, "UNDI 3.16"},
		{94, []byte{2, 1, 0}, "type 2 1.0"},
		{97, uuid, "01020304-0506-0708-090a-0b0c0d0e0f10"},
		{119, slices.Concat([]byte{7}, []byte("example"), []byte{4}, []byte("test"), []byte{0, 3}, []byte("lab"), []byte{0xc0, 0}), "example.test, lab.example.test"},
		{121, []byte{8, 10, 192, 0, 2, 1, 0, 192, 0, 2, 2}, "10.0.0.0/8 via 192.0.2.1, 0.0.0.0/0 via 192.0.2.2"},
		{124, slices.Concat([]byte{0, 0, 0x11, 0x8b, 10, 9}, []byte("docsis3.0")), `enterprise 4491: "docsis3.0"`},
		{125, []byte{0, 0, 0x0d, 0xe9, 7, 1, 3, 'a', 'b', 'c', 2, 0, 0, 0, 0, 1, 0}, `enterprise 3561: 1="abc" 2=; enterprise 1: `},
		{43, []byte{1, 1, 'x', 0, 2, 2, 0, 0xff, 255}, `1="x" 2=00:ff`},
		{175, []byte{0xb1, 1, 1}, "177=01"},
		{200, []byte{1, 2, 3}, "01:02:03"},
		{200, nil, ""},
		{50, []byte{1, 2, 3}, "malformed (length 3, want 4): 01:02:03"},
		{12, nil, "malformed (empty text): "},
		{82, []byte{1, 9}, "malformed (sub-options run past the end): 01:09"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.code, tt.v); got != tt.want {
			t.Errorf("FormatValue(%d, %x) =\n %q, want\n %q", tt.code, tt.v, got, tt.want)
		}
	}
}

func TestFormatHelpers(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{FormatSeconds(0xffffffff), "infinite"},
		{FormatSeconds(90), "90s (1m30s)"},
		{FormatUUID([16]byte{0xde, 0xad, 0xbe, 0xef}), "deadbeef-0000-0000-0000-000000000000"},
		{FormatText([]byte("a\"b\x00")), `"a\"b"`},
		{FormatBytes([]byte("ok")), `"ok"`},
		{FormatBytes([]byte("n\x01")), "6e:01"},
		{FormatBytes(nil), ""},
		{HexString([]byte{0, 0xff, 0x10}), "00:ff:10"},
		{HexString(nil), ""},
		{FormatClientID([]byte{1}), "01"},
		{FormatRelaySubOption(RelayLinkSelection, []byte{10, 0, 0, 0}), "10.0.0.0"},
		{FormatRelaySubOption(RelayLinkSelection, []byte{10, 0}), "0a:00"},
		{FormatRelaySubOption(RelayCircuitID, []byte("ge-0/0/1")), `"ge-0/0/1"`},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

// TestFormatValueAllCodes: FormatValue of any code with short values of any
// content does not panic and reports a malformed value as such.
func TestFormatValueAllCodes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for code := range 256 {
		for n := range 40 {
			for range 5 {
				v := genBytes(r, n)
				s := FormatValue(uint8(code), v)
				malformed := checkValue(LookupOption(uint8(code)).Kind, v) != ""
				if malformed != strings.HasPrefix(s, "malformed (") {
					t.Errorf("FormatValue(%d, %x) = %q; malformed: %v", code, v, s, malformed)
				}
			}
		}
	}
}

func TestOptionTable(t *testing.T) {
	seen := map[string]uint8{}
	for c := range 256 {
		code := uint8(c)
		info := LookupOption(code)
		if info.Code != code {
			t.Errorf("LookupOption(%d).Code = %d", code, info.Code)
		}
		if optionTable[code].Name != "" && optionTable[code].Code != code {
			t.Errorf("optionTable[%d] says code %d", code, optionTable[code].Code)
		}
		name := OptionName(code)
		if info.Name == "" {
			if name != "option-"+itoa(c) || info.Kind != KindBytes {
				t.Errorf("unknown option %d: name %q kind %d", code, name, info.Kind)
			}
			if _, ok := OptionByName(name); ok {
				t.Errorf("OptionByName(%q) found an unknown option", name)
			}
			continue
		}
		if name != info.Name {
			t.Errorf("OptionName(%d) = %q, table says %q", code, name, info.Name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("name %q used by %d and %d", name, prev, code)
		}
		seen[name] = code
		if name != strings.ToLower(name) || strings.ContainsAny(name, " _") {
			t.Errorf("name %q is not lower-case and dash-separated", name)
		}
		if got, ok := OptionByName(name); !ok || got != info {
			t.Errorf("OptionByName(%q) = %+v, %v; want %+v", name, got, ok, info)
		}
	}
	if _, ok := OptionByName(""); ok {
		t.Error(`OptionByName("") found something`)
	}
	if _, ok := OptionByName("no-such-option"); ok {
		t.Error("OptionByName found no-such-option")
	}
	// The named constants agree with the table.
	for _, tt := range []struct {
		code uint8
		name string
	}{
		{OptSubnetMask, "subnet-mask"}, {OptRouter, "router"}, {OptDNSServers, "dns-servers"},
		{OptHostName, "host-name"}, {OptRequestedIP, "requested-address"}, {OptLeaseTime, "lease-time"},
		{OptOverload, "overload"}, {OptMessageType, "message-type"}, {OptServerID, "server-id"},
		{OptParamRequestList, "parameter-request-list"}, {OptMaxMessageSize, "max-message-size"},
		{OptVendorClass, "vendor-class"}, {OptClientID, "client-id"}, {OptUserClass, "user-class"},
		{OptClientFQDN, "client-fqdn"}, {OptRelayAgentInfo, "relay-agent-info"}, {OptClientArch, "client-arch"},
		{OptClientNDI, "client-ndi"}, {OptClientUUID, "client-uuid"}, {OptSubnetSelection, "subnet-selection"},
		{OptDomainSearch, "domain-search"}, {OptClasslessRoutes, "classless-static-routes"},
		{OptVIVendorClass, "vi-vendor-class"}, {OptVIVendorSpecific, "vi-vendor-specific"}, {OptIPXE, "ipxe-encapsulated"},
		{OptTFTPServerName, "tftp-server-name"}, {OptBootFileName, "boot-file-name"}, {OptEnd, "end"}, {OptPad, "pad"},
	} {
		if got := OptionName(tt.code); got != tt.name {
			t.Errorf("OptionName(%d) = %q, want %q", tt.code, got, tt.name)
		}
	}
	for _, tt := range []struct {
		t    MessageType
		want string
	}{{Discover, "DISCOVER"}, {Ack, "ACK"}, {Inform, "INFORM"}, {DHCPTLS, "TLS"}, {0, "type(0)"}, {19, "type(19)"}, {255, "type(255)"}} {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("MessageType(%d).String() = %q, want %q", tt.t, got, tt.want)
		}
	}
	for _, n := range []int{0, 1, 9, 10, 255, 65535, 1234567} {
		if got := itoa(n); got != strconv.Itoa(n) {
			t.Errorf("itoa(%d) = %q", n, got)
		}
	}
}

func TestListAccessors(t *testing.T) {
	var o Options
	o.SetInt32(OptTimeOffset, -3600)
	if v, ok := o.Int32(OptTimeOffset); !ok || v != -3600 {
		t.Errorf("Int32 = %d, %v; want -3600, true", v, ok)
	}
	if got, _ := o.Get(OptTimeOffset); string(got) != "\xff\xff\xf1\xf0" {
		t.Errorf("time offset wire = %x", got)
	}
	o.SetUint16s(25, 68, 296, 1500)
	if v, ok := o.AppendUint16s(nil, 25); !ok || len(v) != 3 || v[0] != 68 || v[1] != 296 || v[2] != 1500 {
		t.Errorf("Uint16s = %v, %v", v, ok)
	}
	a, b := netip.MustParseAddr("198.18.0.0"), netip.MustParseAddr("255.254.0.0")
	o.SetAddrPairs(OptPolicyFilter, AddrPair{a, b})
	if v, ok := o.AppendAddrPairs(nil, OptPolicyFilter); !ok || len(v) != 1 || v[0] != (AddrPair{a, b}) {
		t.Errorf("AddrPairs = %v, %v", v, ok)
	}
	if got := FormatValue(OptPolicyFilter, mustGet(t, &o, OptPolicyFilter)); got != "198.18.0.0 255.254.0.0" {
		t.Errorf("FormatValue(21) = %q", got)
	}
	// Malformed lengths give false.
	o.Set(25, []byte{1, 2, 3})
	o.Set(OptPolicyFilter, make([]byte, 12))
	o.Set(OptTimeOffset, []byte{1})
	if _, ok := o.AppendUint16s(nil, 25); ok {
		t.Error("odd-length option 25 accepted")
	}
	if _, ok := o.AppendAddrPairs(nil, OptPolicyFilter); ok {
		t.Error("12-byte option 21 accepted")
	}
	if _, ok := o.Int32(OptTimeOffset); ok {
		t.Error("1-byte option 2 accepted")
	}
}

func TestClientSideAccessors(t *testing.T) {
	var m Message
	m.Reset()
	r1, r2 := netip.MustParseAddr("198.18.0.1"), netip.MustParseAddr("198.18.0.2")
	m.Options.SetAddr(OptSubnetMask, netip.MustParseAddr("255.255.255.0"))
	m.Options.SetAddrs(OptRouter, r1, r2)
	m.Options.SetAddrs(OptDNSServers, r2)
	m.Options.SetString(OptDomainName, "example.test\x00")
	m.Options.SetDuration(OptRenewalTime, 30*time.Minute)
	m.Options.SetDuration(OptRebindingTime, 52*time.Minute+30*time.Second)
	if v, ok := m.SubnetMask(); !ok || v.String() != "255.255.255.0" {
		t.Errorf("SubnetMask = %v, %v", v, ok)
	}
	if v, ok := m.Routers(); !ok || len(v) != 2 || v[0] != r1 || v[1] != r2 {
		t.Errorf("Routers = %v, %v", v, ok)
	}
	if v, ok := m.DNSServers(); !ok || len(v) != 1 || v[0] != r2 {
		t.Errorf("DNSServers = %v, %v", v, ok)
	}
	if v, ok := m.DomainName(); !ok || string(v) != "example.test" {
		t.Errorf("DomainName = %q, %v", v, ok)
	}
	if v, ok := m.RenewalTime(); !ok || v != 30*time.Minute {
		t.Errorf("RenewalTime = %v, %v", v, ok)
	}
	if v, ok := m.RebindingTime(); !ok || v != 3150*time.Second {
		t.Errorf("RebindingTime = %v, %v", v, ok)
	}
}

func mustGet(t *testing.T, o *Options, code uint8) []byte {
	t.Helper()
	v, ok := o.Get(code)
	if !ok {
		t.Fatalf("option %d absent", code)
	}
	return v
}

func TestCheckValue(t *testing.T) {
	if err := CheckValue(KindAddrs, []byte{198, 18, 0, 1}); err != nil {
		t.Errorf("CheckValue(addrs, 4 bytes) = %v", err)
	}
	err := CheckValue(KindAddrs, []byte{198, 18, 0})
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "not a positive multiple of 4") {
		t.Errorf("CheckValue(addrs, 3 bytes) = %v", err)
	}
}
