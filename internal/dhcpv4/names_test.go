package dhcpv4

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// label returns n bytes of a label (for long-name tests).
func label(c byte, n int) string { return strings.Repeat(string(c), n) }

// wireName writes a name's labels uncompressed, with the root label.
func wireName(labels ...string) []byte {
	var b []byte
	for _, l := range labels {
		b = append(append(b, byte(len(l))), l...)
	}
	return append(b, 0)
}

// rfc3397Example is the domain search option of RFC 3397 section 2: the list
// "eng.apple.com", "marketing.apple.com", the second ending with a pointer to
// "apple.com" in the first, and the value split over three 9-byte instances
// of option 119.
var rfc3397Example = []byte{
	119, 9, 3, 'e', 'n', 'g', 5, 'a', 'p', 'p', 'l',
	119, 9, 'e', 3, 'c', 'o', 'm', 0, 9, 'm', 'a',
	119, 9, 'r', 'k', 'e', 't', 'i', 'n', 'g', 0xc0, 0x04,
}

func TestDomainSearchRFC3397(t *testing.T) {
	m := mustParse(t, padded(pkt(append(bytes.Clone(rfc3397Example), 255)...)))
	names, ok := m.DomainSearch()
	if want := []string{"eng.apple.com", "marketing.apple.com"}; !ok || !slices.Equal(names, want) {
		t.Errorf("DomainSearch() = %q, %v; want %q", names, ok, want)
	}
	v, _ := m.Options.Get(OptDomainSearch)
	if len(v) != 27 {
		t.Errorf("concatenated value has %d bytes, want 27", len(v))
	}
	// The compressing writer produces the RFC's bytes.
	b, err := AppendDomainList(nil, names)
	if err != nil || !bytes.Equal(b, v) {
		t.Errorf("AppendDomainList = %v, %v\nwant %v", b, err, v)
	}
	// And a built message splits it back into instances.
	var out Message
	out.Options.Set(OptDomainSearch, b)
	if err := out.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestAppendDomainList(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []byte
	}{
		{"empty", nil, nil},
		{"root", []string{""}, []byte{0}},
		{"root-dot", []string{"."}, []byte{0}},
		{"one", []string{"example.com."}, wireName("example", "com")},
		{
			"suffixes",
			[]string{"a.example.com", "b.example.com", "example.com", "example.org"},
			slices.Concat(
				wireName("a", "example", "com"),               // 0: a.example.com, 2: example.com, 10: com
				[]byte{1, 'b', 0xc0, 2},                       // 15: b + pointer to example.com
				[]byte{0xc0, 2},                               // 19: example.com
				[]byte{7}, []byte("example"), wireName("org"), // 21: example.org
			),
		},
		{
			"repeat",
			[]string{"x.y", "x.y"},
			slices.Concat(wireName("x", "y"), []byte{0xc0, 0}),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendDomainList([]byte("pre"), tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b[:3], []byte("pre")) || !bytes.Equal(b[3:], tt.want) {
				t.Errorf("AppendDomainList = %v\nwant %v", b[3:], tt.want)
			}
			got, err := DecodeDomainList(b[3:])
			var want []string
			for _, n := range tt.names {
				want = append(want, strings.TrimSuffix(n, "."))
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("DecodeDomainList = %q, %v; want %q", got, err, want)
			}
		})
	}
	for name, names := range map[string][]string{
		"empty-label":     {"ok.example", "a..b"},
		"leading-dot":     {".a"},
		"label-64":        {label('a', 64) + ".com"},
		"name-256":        {strings.Join([]string{label('a', 63), label('b', 63), label('c', 63), label('d', 62)}, ".")},
		"good-then-empty": {"x", "y..z"},
		"two-dots":        {"0.."}, // was written as "0" followed by a root name
		"only-dots":       {".."},
	} {
		if b, err := AppendDomainList([]byte{7}, names); err == nil || !bytes.Equal(b, []byte{7}) {
			t.Errorf("AppendDomainList(%s) = %v, %v; want an error and b unchanged", name, b, err)
		}
	}
	// 255 bytes on the wire is the longest name.
	longest := strings.Join([]string{label('a', 63), label('b', 63), label('c', 63), label('d', 61)}, ".")
	b, err := AppendDomainList(nil, []string{longest})
	if err != nil || len(b) != 255 {
		t.Fatalf("255-byte name: %d bytes, %v", len(b), err)
	}
	if got, err := DecodeDomainList(b); err != nil || len(got) != 1 || got[0] != longest {
		t.Errorf("255-byte name decoded as %q, %v", got, err)
	}
}

func TestDecodeDomainListErrors(t *testing.T) {
	tests := []struct {
		name string
		v    []byte
		want error
	}{
		{"self-pointer", []byte{0xc0, 0}, errBadPointer},
		{"pointer-into-own-name", []byte{1, 'a', 0xc0, 0}, errBadPointer},
		{"forward-pointer", []byte{0xc0, 2, 1, 'a', 0}, errBadPointer},
		{"pointer-past-end", slices.Concat(wireName("a"), []byte{0xc0, 200}), errBadPointer},
		// The second name points to the first, which points forward to the second: a loop.
		{"loop", []byte{1, 'a', 0xc0, 4, 1, 'b', 0xc0, 0}, errBadPointer},
		{"pointer-to-pointer-forward", slices.Concat(wireName("x"), []byte{0xc0, 5, 0xc0, 3}), errBadPointer},
		{"label-64", slices.Concat([]byte{64}, make([]byte, 64), []byte{0}), errLabelTooLong},
		{"label-0x80", []byte{0x80, 0}, errLabelTooLong},
		{"name-256", wireName(label('a', 63), label('b', 63), label('c', 63), label('d', 62)), errNameTooLong},
		{"no-root", []byte{1, 'a'}, errNameTruncated},
		{"label-past-end", []byte{5, 'a', 'b'}, errNameTruncated},
		{"half-pointer", slices.Concat(wireName("a"), []byte{0xc0}), errNameTruncated},
		// A name made too long by a pointer to a long suffix.
		{"long-by-pointer", slices.Concat(
			wireName(label('a', 63), label('b', 63), label('c', 63)),
			[]byte{62}, []byte(label('d', 62)), []byte{0xc0, 0}), errNameTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := DecodeDomainList(tt.v)
			if !errors.Is(err, tt.want) {
				t.Errorf("DecodeDomainList(%v) = %q, %v; want %v", tt.v, names, err, tt.want)
			}
			if err := msgWith(OptDomainSearch, tt.v).Validate(); !errors.Is(err, ErrMalformed) {
				t.Errorf("Validate = %v, want ErrMalformed", err)
			}
			if _, ok := msgWith(OptDomainSearch, tt.v).DomainSearch(); ok {
				t.Error("DomainSearch() ok")
			}
		})
	}
	// Pointer chains are followed up to maxPointerHops.
	chain := func(hops int) []byte {
		b := []byte{1, 'z', 0}
		prev := 0
		for range hops {
			at := len(b)
			b = append(b, 0xc0|byte(prev>>8), byte(prev))
			prev = at
		}
		return b
	}
	if names, err := DecodeDomainList(chain(maxPointerHops)); err != nil || len(names) != maxPointerHops+1 || names[maxPointerHops] != "z" {
		t.Errorf("%d-hop chain: %d names, %v", maxPointerHops, len(names), err)
	}
	if _, err := DecodeDomainList(chain(maxPointerHops + 1)); !errors.Is(err, errBadPointer) {
		t.Errorf("%d-hop chain: err = %v, want errBadPointer", maxPointerHops+1, err)
	}
	// A pointer after labels continues the name.
	v := slices.Concat(wireName("example", "com"), []byte{3, 'w', 'w', 'w', 0xc0, 0}, wireName("next"))
	if names, err := DecodeDomainList(v); err != nil || !slices.Equal(names, []string{"example.com", "www.example.com", "next"}) {
		t.Errorf("DecodeDomainList = %q, %v", names, err)
	}
	if names, err := DecodeDomainList(nil); err != nil || names != nil {
		t.Errorf("DecodeDomainList(nil) = %q, %v", names, err)
	}
}

// TestDomainListRoundTrip: random lists with shared suffixes come back from
// AppendDomainList and DecodeDomainList unchanged, and compression never
// makes the value longer.
func TestDomainListRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	labels := []string{"a", "b", "example", "com", "org", "lab", "x1", label('q', 63), "net"}
	for i := range 3000 {
		var names []string
		plain := 0
		for range r.IntN(8) {
			var ls []string
			for range r.IntN(5) {
				ls = append(ls, labels[r.IntN(len(labels))])
			}
			if len(wireName(ls...)) > maxName {
				continue
			}
			names = append(names, strings.Join(ls, "."))
			plain += len(wireName(ls...))
		}
		b, err := AppendDomainList(nil, names)
		if err != nil {
			t.Fatalf("#%d: AppendDomainList(%q): %v", i, names, err)
		}
		if len(b) > plain {
			t.Errorf("#%d: compressed to %d bytes, uncompressed %d", i, len(b), plain)
		}
		got, err := DecodeDomainList(b)
		if err != nil || !slices.Equal(got, names) {
			t.Fatalf("#%d: DecodeDomainList(AppendDomainList(%q)) = %q, %v", i, names, got, err)
		}
	}
}

func TestClientFQDN(t *testing.T) {
	tests := []struct {
		name string
		v    []byte
		want FQDN
		wire []byte // what AppendFQDN writes for want; nil: v
	}{
		{"ascii", slices.Concat([]byte{FQDNServerUpdate, 0, 0}, []byte("host.example.com")), FQDN{Flags: 1, Name: "host.example.com"}, nil},
		{"ascii-nul", slices.Concat([]byte{0, 0, 0}, []byte("host\x00")), FQDN{Name: "host"}, []byte{0, 0, 0, 'h', 'o', 's', 't'}},
		{"ascii-empty", []byte{0, 0, 0}, FQDN{}, nil},
		{"encoded", slices.Concat([]byte{FQDNEncoded | FQDNServerUpdate, 255, 255}, wireName("host", "example", "com")),
			FQDN{Flags: 5, RCode1: 255, RCode2: 255, Name: "host.example.com"}, nil},
		{"encoded-partial", slices.Concat([]byte{FQDNEncoded, 0, 0}, wireName("host")[:5]), FQDN{Flags: 4, Name: "host", Partial: true}, nil},
		// The root alone is an empty name, written as no name at all.
		{"encoded-root", []byte{FQDNEncoded, 0, 0, 0}, FQDN{Flags: 4}, []byte{FQDNEncoded, 0, 0}},
		{"encoded-empty", []byte{FQDNEncoded, 0, 0}, FQDN{Flags: 4}, nil},
		{"no-update", []byte{FQDNNoUpdate | FQDNOverride, 0, 0, 'h'}, FQDN{Flags: 10, Name: "h"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := msgWith(OptClientFQDN, tt.v).ClientFQDN()
			if !ok || got != tt.want {
				t.Errorf("ClientFQDN() = %+v, %v; want %+v", got, ok, tt.want)
			}
			b, err := AppendFQDN(nil, got)
			want := tt.wire
			if want == nil {
				want = tt.v
			}
			if err != nil || !bytes.Equal(b, want) {
				t.Errorf("AppendFQDN(%+v) = %v, %v; want %v", got, b, err, want)
			}
		})
	}
	for name, v := range map[string][]byte{
		"short":          {0, 0},
		"reserved-flags": {0x10, 0, 0, 'h'},
		"pointer":        {FQDNEncoded, 0, 0, 1, 'h', 0xc0, 0},
		"label-0x40":     {FQDNEncoded, 0, 0, 0x40, 'h'},
		"root-in-middle": slices.Concat([]byte{FQDNEncoded, 0, 0}, []byte{1, 'a', 0, 1, 'b', 0}),
		"label-past-end": {FQDNEncoded, 0, 0, 5, 'h'},
		"partial-too-long": slices.Concat([]byte{FQDNEncoded, 0, 0},
			wireName(label('a', 63), label('b', 63), label('c', 63), label('d', 63))[:256]),
		"complete-too-long": slices.Concat([]byte{FQDNEncoded, 0, 0},
			wireName(label('a', 63), label('b', 63), label('c', 63), label('d', 63))),
	} {
		if f, ok := msgWith(OptClientFQDN, v).ClientFQDN(); ok {
			t.Errorf("ClientFQDN(%s) = %+v, true; want false", name, f)
		}
		if err := msgWith(OptClientFQDN, v).Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("Validate(%s) = %v, want ErrMalformed", name, err)
		}
	}
	if _, ok := new(Message).ClientFQDN(); ok {
		t.Error("ClientFQDN() of an absent option ok")
	}

	// AppendFQDN refuses names it cannot encode, leaving b as it was.
	for _, f := range []FQDN{
		{Flags: FQDNEncoded, Name: "a..b"},
		{Flags: FQDNEncoded, Name: label('x', 64)},
		{Flags: FQDNEncoded, Name: strings.Join([]string{label('a', 63), label('b', 63), label('c', 63), label('d', 63)}, ".")},
	} {
		b, err := AppendFQDN([]byte{9}, f)
		if err == nil || !bytes.Equal(b, []byte{9}) {
			t.Errorf("AppendFQDN(%q) = %v, %v; want an error and b unchanged", f.Name, b, err)
		}
	}
	// A trailing dot is the root, not an empty label.
	b, err := AppendFQDN(nil, FQDN{Flags: FQDNEncoded, Name: "host.example."})
	if err != nil || !bytes.Equal(b[3:], wireName("host", "example")) {
		t.Errorf("AppendFQDN with a trailing dot = %v, %v", b, err)
	}
}
