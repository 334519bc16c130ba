package tftp

import (
	"errors"
	"testing"
)

func req(parts ...string) []byte {
	b := []byte{0, OpRRQ}
	for _, p := range parts {
		b = append(b, p...)
		b = append(b, 0)
	}
	return b
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Request
		err  error
	}{
		{"plain", req("pxelinux.0", "octet"), Request{Op: OpRRQ, Filename: "pxelinux.0", Mode: "octet"}, nil},
		{"mode case", req("f", "NetASCII"), Request{Op: OpRRQ, Filename: "f", Mode: "netascii"}, nil},
		{"wrq", append([]byte{0, OpWRQ}, "f\x00octet\x00"...), Request{Op: OpWRQ, Filename: "f", Mode: "octet"}, nil},
		{"options", req("f", "octet", "BLKSIZE", "1428", "tsize", "0", "timeout", "3", "windowsize", "16"),
			Request{Op: OpRRQ, Filename: "f", Mode: "octet", Options: Options{BlockSize: 1428, HasTsize: true, Timeout: 3, WindowSize: 16}}, nil},
		{"bad values ignored", req("f", "octet", "blksize", "7", "timeout", "0", "windowsize", "65536", "tsize", "x", "blksize", "65465"),
			Request{Op: OpRRQ, Filename: "f", Mode: "octet"}, nil},
		{"limits", req("f", "octet", "blksize", "65464", "timeout", "255", "windowsize", "65535"),
			Request{Op: OpRRQ, Filename: "f", Mode: "octet", Options: Options{BlockSize: 65464, Timeout: 255, WindowSize: 65535}}, nil},
		{"unknown option ignored", req("f", "octet", "multicast", "", "blksize", "8"),
			Request{Op: OpRRQ, Filename: "f", Mode: "octet", Options: Options{BlockSize: 8}}, nil},
		{"huge number", req("f", "octet", "tsize", "99999999999999999999"), Request{Op: OpRRQ, Filename: "f", Mode: "octet"}, nil},
		{"empty", nil, Request{}, ErrShort},
		{"ack", []byte{0, OpACK, 0, 1}, Request{Op: OpACK}, ErrOpcode},
		{"no mode", []byte("\x00\x01file\x00"), Request{Op: OpRRQ}, ErrShort},
		{"unterminated mode", []byte("\x00\x01file\x00octet"), Request{Op: OpRRQ}, ErrShort},
		{"empty name", req("", "octet"), Request{Op: OpRRQ}, ErrFormat},
		{"empty mode", req("f", ""), Request{Op: OpRRQ}, ErrFormat},
		{"option without value", append(req("f", "octet"), "blksize\x00"...), Request{Op: OpRRQ, Filename: "f", Mode: "octet"}, ErrShort},
		{"empty option name", req("f", "octet", "", "1"), Request{Op: OpRRQ, Filename: "f", Mode: "octet"}, ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOACKRoundTrip(t *testing.T) {
	o := Options{BlockSize: 1428, Timeout: 2, WindowSize: 16, Tsize: 1 << 40, HasTsize: true}
	b := AppendOACK(nil, o)
	if want := "\x00\x06blksize\x001428\x00timeout\x002\x00tsize\x001099511627776\x00windowsize\x0016\x00"; string(b) != want {
		t.Errorf("AppendOACK = %q, want %q", b, want)
	}
	got, err := ParseOACK(b)
	if err != nil || got != o {
		t.Errorf("ParseOACK = %+v, %v; want %+v", got, err, o)
	}
}

func TestErrorPacket(t *testing.T) {
	b := AppendError(nil, ErrCodeNotFound, "file not found")
	code, msg, ok := ParseError(b)
	if !ok || code != ErrCodeNotFound || msg != "file not found" {
		t.Errorf("ParseError(%q) = %d %q %v", b, code, msg, ok)
	}
	if _, _, ok := ParseError([]byte{0, OpERROR, 0}); ok {
		t.Error("ParseError accepted a 3-byte packet")
	}
}

func TestCleanName(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"pxelinux.0", "pxelinux.0", true},
		{"/pxelinux.0", "pxelinux.0", true},
		{"//boot/x86/ipxe.efi", "boot/x86/ipxe.efi", true},
		{"a/./b", "a/./b", true},
		{"../etc/passwd", "", false},
		{"/../x", "", false},
		{"a/../../x", "", false},
		{"a/..", "", false},
		{"boot\\x86\\wdsnbp.com", "", false},
		{"a//b", "", false},
		{"dir/", "", false},
		{"/", "", false},
		{"a\x01b", "", false},
		{"a\x7f", "", false},
	}
	for _, tt := range tests {
		got, err := cleanName(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("cleanName(%q) = %q, %v; want %q, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParseRequest checks that parsing never panics and that a parsed
// request, appended again, parses to the same request.
func FuzzParseRequest(f *testing.F) {
	f.Add(req("pxelinux.0", "octet"))
	f.Add(req("/boot/grub/x86_64-efi/core.efi", "octet", "tsize", "0", "blksize", "1468", "windowsize", "4"))
	f.Add(req("f", "netascii", "timeout", "1", "blksize", "65464"))
	f.Add(append([]byte{0, OpWRQ}, "f\x00octet\x00"...))
	f.Add([]byte{0, OpACK, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRequest(b)
		if err != nil {
			return
		}
		b2 := AppendRequest(nil, r)
		r2, err := ParseRequest(b2)
		if err != nil {
			t.Fatalf("reparse of %q: %v", b2, err)
		}
		if r2 != r {
			t.Fatalf("reparse of %q = %+v, want %+v", b2, r2, r)
		}
		if _, err := cleanName(r.Filename); err == nil && r.Filename == "" {
			t.Fatal("cleanName accepted an empty name")
		}
	})
}
