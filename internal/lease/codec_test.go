package lease

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

func sampleLeases() []Lease {
	start := time.Date(2026, 11, 23, 4, 0, 0, 123456789, time.UTC)
	return []Lease{
		{Addr: netip.MustParseAddr("10.0.0.1"), State: Bound, HWType: 1},
		{
			Addr:      netip.MustParseAddr("192.168.1.200"),
			State:     Bound,
			ClientID:  []byte{1, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
			HWType:    1,
			HWAddr:    []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff},
			Hostname:  "pxe-node-17",
			Start:     start,
			Expires:   start.Add(12 * time.Hour),
			Subnet:    netip.MustParsePrefix("192.168.1.0/24"),
			UUID:      [16]byte{0: 1, 15: 0xff},
			CircuitID: []byte("eth0:7"),
			RemoteID:  []byte{0, 1, 2},
		},
		{ // BOOTP: no expiry, unmasked subnet kept as given.
			Addr: netip.MustParseAddr("255.255.255.254"), State: Declined, HWType: 6,
			HWAddr: []byte{1, 2, 3, 4, 5, 6}, Start: time.Unix(-1, 5), Subnet: netip.MustParsePrefix("10.1.2.3/32"),
		},
		{Addr: netip.MustParseAddr("0.0.0.0"), State: Released, Hostname: string(make([]byte, 300))},
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	for _, want := range sampleLeases() {
		t.Run(want.Addr.String(), func(t *testing.T) {
			b, err := AppendBinary([]byte("prefix"), &want)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b, []byte("prefix")) {
				t.Fatalf("AppendBinary clobbered its buffer: %q", b)
			}
			b = b[len("prefix"):]
			if b[0] != EncodingVersion {
				t.Errorf("version byte = %d, want %d", b[0], EncodingVersion)
			}
			var got Lease
			if err := UnmarshalBinary(b, &got); err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&want) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
			}
			if got.Subnet != want.Subnet {
				t.Errorf("subnet = %v, want %v", got.Subnet, want.Subnet)
			}
			if addr, err := EncodedAddr(b); err != nil || addr != want.Addr {
				t.Errorf("EncodedAddr = %v, %v; want %v", addr, err, want.Addr)
			}
			// Every strict prefix is malformed, never a panic or a silent success.
			for i := range len(b) {
				if err := UnmarshalBinary(b[:i], &got); !errors.Is(err, ErrCorrupt) {
					t.Fatalf("decode of %d/%d bytes: err = %v, want ErrCorrupt", i, len(b), err)
				}
			}
		})
	}
}

func TestBinaryNormalisesEmpty(t *testing.T) {
	l := Lease{Addr: netip.MustParseAddr("10.0.0.9"), ClientID: []byte{}, HWAddr: []byte{}, CircuitID: []byte{}, RemoteID: []byte{}}
	b, err := AppendBinary(nil, &l)
	if err != nil {
		t.Fatal(err)
	}
	var got Lease
	if err := UnmarshalBinary(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.ClientID != nil || got.HWAddr != nil || got.CircuitID != nil || got.RemoteID != nil {
		t.Errorf("empty slices decoded as non-nil: %+v", got)
	}
	if !got.Start.IsZero() || !got.Expires.IsZero() || got.Subnet.IsValid() {
		t.Errorf("zero values not kept: %+v", got)
	}
}

func TestAppendBinaryRejects(t *testing.T) {
	tests := []struct {
		name string
		l    Lease
	}{
		{"zero addr", Lease{}},
		{"ipv6", Lease{Addr: netip.MustParseAddr("2001:db8::1")}},
		{"4in6", Lease{Addr: netip.MustParseAddr("::ffff:10.0.0.1")}},
		{"ipv6 subnet", Lease{Addr: netip.MustParseAddr("10.0.0.1"), Subnet: netip.MustParsePrefix("2001:db8::/64")}},
		{"huge", Lease{Addr: netip.MustParseAddr("10.0.0.1"), Hostname: string(make([]byte, MaxEncodedLen))}},
		{"year 10000", Lease{Addr: netip.MustParseAddr("10.0.0.1"), Expires: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendBinary([]byte{7}, &tt.l)
			if err == nil {
				t.Fatalf("AppendBinary(%+v) succeeded", tt.l)
			}
			if !bytes.Equal(b, []byte{7}) {
				t.Errorf("failed AppendBinary left %d bytes, want the input back", len(b))
			}
		})
	}
}

func TestUnmarshalBinaryRejects(t *testing.T) {
	good, err := AppendBinary(nil, &sampleLeases()[1])
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"version 0", mod(func(b []byte) []byte { b[0] = 0; return b })},
		{"version 2", mod(func(b []byte) []byte { b[0] = 2; return b })},
		{"unknown flag", mod(func(b []byte) []byte { b[7] |= 0x80; return b })},
		{"trailing byte", mod(func(b []byte) []byte { return append(b, 0) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Lease
			if err := UnmarshalBinary(tt.b, &l); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestUnmarshalBinaryAllocs(t *testing.T) {
	b, err := AppendBinary(nil, &Lease{Addr: netip.MustParseAddr("10.0.0.1"), Start: time.Now(), Expires: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var l Lease
	if n := testing.AllocsPerRun(100, func() { _ = UnmarshalBinary(b, &l) }); n != 0 {
		t.Errorf("decode of a lease with no slices: %v allocs, want 0", n)
	}
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf, _ = AppendBinary(buf[:0], &l) }); n != 0 {
		t.Errorf("AppendBinary into a large buffer: %v allocs, want 0", n)
	}
}

func TestUnmarshalBinaryShared(t *testing.T) {
	for _, want := range sampleLeases() {
		b, err := AppendBinary(nil, &want)
		if err != nil {
			t.Fatal(err)
		}
		var got Lease
		if err := UnmarshalBinaryShared(b, &got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(&want) || got.Subnet != want.Subnet {
			t.Errorf("shared decode:\n got %+v\nwant %+v", got, want)
		}
		within := func(p *byte) bool {
			return p != nil && uintptr(unsafe.Pointer(p)) >= uintptr(unsafe.Pointer(&b[0])) &&
				uintptr(unsafe.Pointer(p)) < uintptr(unsafe.Pointer(&b[0]))+uintptr(len(b))
		}
		for _, s := range [][]byte{got.ClientID, got.HWAddr, got.CircuitID, got.RemoteID, []byte(nil)} {
			if len(s) > 0 && (!within(&s[0]) || cap(s) != len(s)) {
				t.Errorf("%v: decoded slice %x is not a full slice of the input", want.Addr, s)
			}
		}
		if got.Hostname != "" && !within(unsafe.StringData(got.Hostname)) {
			t.Errorf("%v: hostname copied", want.Addr)
		}
		if n := testing.AllocsPerRun(100, func() { _ = UnmarshalBinaryShared(b, &got) }); n != 0 {
			t.Errorf("%v: shared decode: %v allocs, want 0", want.Addr, n)
		}
		for i := range len(b) {
			if err := UnmarshalBinaryShared(b[:i], &got); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("shared decode of %d/%d bytes: err = %v, want ErrCorrupt", i, len(b), err)
			}
		}
	}
}

// FuzzUnmarshalBinary checks that the decoder never panics and that whatever
// it accepts encodes back to bytes that decode to the same lease, and that
// re-encoding is stable.
func FuzzUnmarshalBinary(f *testing.F) {
	for _, l := range sampleLeases() {
		b, err := AppendBinary(nil, &l)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var l Lease
		if err := UnmarshalBinary(b, &l); err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		var shared Lease
		if err := UnmarshalBinaryShared(b, &shared); err != nil || !shared.Equal(&l) || shared.Subnet != l.Subnet {
			t.Fatalf("shared decode differs: %v\n got %+v\nwant %+v", err, shared, l)
		}
		b2, err := AppendBinary(nil, &l)
		if err != nil {
			t.Fatalf("decoded lease %+v does not encode: %v", l, err)
		}
		var l2 Lease
		if err := UnmarshalBinary(b2, &l2); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if !l2.Equal(&l) || l2.Subnet != l.Subnet {
			t.Fatalf("re-decode differs:\n got %+v\nwant %+v", l2, l)
		}
		b3, _ := AppendBinary(nil, &l2)
		if !bytes.Equal(b2, b3) {
			t.Fatalf("encoding not stable:\n%x\n%x", b2, b3)
		}
	})
}

func TestJSONRoundTrip(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, l := range []Lease{
		{Addr: netip.MustParseAddr("198.18.0.10"), State: Bound, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 1},
			ClientID: []byte{1, 2, 0, 0, 0, 0, 1}, Hostname: "h1", Start: start, Expires: start.Add(time.Hour),
			Subnet: netip.MustParsePrefix("198.18.0.0/24"), UUID: [16]byte{1, 2, 3}, CircuitID: []byte("r1"), RemoteID: []byte{9}},
		{Addr: netip.MustParseAddr("198.18.0.11"), State: Released, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 2}, Start: start},
	} {
		b, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		var got Lease
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !got.Equal(&l) {
			t.Errorf("round trip of %s gave %+v", b, got)
		}
	}
	var l Lease
	for _, bad := range []string{`{"address":"198.18.0.1","state":"bogus"}`, `{"address":"198.18.0.1","state":"bound","hwaddr":"zz"}`, `{"address":"198.18.0.1","state":"bound","uuid":"01"}`} {
		if err := json.Unmarshal([]byte(bad), &l); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
