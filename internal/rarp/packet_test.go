package rarp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// hexPacket decodes space-separated hex, for readable test vectors.
func hexPacket(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A request as rarpd's clients send it: the requester asks for its own MAC,
// with SHA = THA and both protocol addresses zero.
const requestHex = "0001 0800 06 04 0003 020000000c01 00000000 020000000c01 00000000"

func TestParseRequest(t *testing.T) {
	b := hexPacket(t, requestHex)
	p, err := parse(b)
	if err != nil {
		t.Fatal(err)
	}
	mac := [6]byte{2, 0, 0, 0, 0x0c, 1}
	want := packet{op: opRequestReverse, sha: mac, tha: mac}
	if p != want {
		t.Errorf("parse = %+v, want %+v", p, want)
	}
	if got := p.append(nil); !bytes.Equal(got, b) {
		t.Errorf("append = % x, want % x", got, b)
	}
}

func TestAppendParseRoundTrip(t *testing.T) {
	p := packet{
		op:  opReplyReverse,
		sha: [6]byte{2, 0, 0, 0, 0, 0x51},
		spa: [4]byte{198, 18, 0, 1},
		tha: [6]byte{2, 0, 0, 0, 0x0c, 1},
		tpa: [4]byte{198, 18, 1, 7},
	}
	prefix := []byte{0xaa, 0xbb}
	b := p.append(prefix)
	if !bytes.Equal(b[:2], prefix) || len(b) != 2+packetLen {
		t.Fatalf("append to a 2-byte prefix gave %d bytes: % x", len(b), b)
	}
	want := hexPacket(t, "0001 0800 06 04 0004 020000000051 c6120001 020000000c01 c6120107")
	if !bytes.Equal(b[2:], want) {
		t.Errorf("append = % x, want % x", b[2:], want)
	}
	got, err := parse(b[2:])
	if err != nil {
		t.Fatal(err)
	}
	if got != p {
		t.Errorf("parse(append(p)) = %+v, want %+v", got, p)
	}
}

func TestParseAcceptsPadding(t *testing.T) {
	// An Ethernet frame's payload is padded to 46 bytes; the padding reaches
	// the socket and must be ignored.
	b := append(hexPacket(t, requestHex), make([]byte, 46-packetLen)...)
	if _, err := parse(b); err != nil {
		t.Errorf("parse of a padded request: %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	good := hexPacket(t, requestHex)
	with := func(off int, v ...byte) []byte {
		b := bytes.Clone(good)
		copy(b[off:], v)
		return b
	}
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, errShort},
		{"27 bytes", good[:27], errShort},
		{"8-byte header only", good[:8], errShort},
		{"htype 6 (IEEE 802)", with(0, 0, 6), errFormat},
		{"ptype 0x86dd (IPv6)", with(2, 0x86, 0xdd), errFormat},
		{"hlen 8", with(4, 8), errFormat},
		{"plen 16", with(5, 16), errFormat},
		{"opcode 0", with(6, 0, 0), errOpcode},
		{"opcode 1 (ARP request)", with(6, 0, 1), errOpcode},
		{"opcode 2 (ARP reply)", with(6, 0, 2), errOpcode},
		{"opcode 5", with(6, 0, 5), errOpcode},
		{"opcode 0x0103", with(6, 1, 3), errOpcode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := parse(tc.b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("parse = %+v, %v; want error %v", p, err, tc.want)
			}
			if p != (packet{}) {
				t.Errorf("parse returned %+v with its error, want the zero packet", p)
			}
		})
	}
}

// FuzzParse checks that parse never panics, accepts exactly the packets
// with a valid fixed header and opcode, and that append gives back the
// first 28 bytes of what parse accepted. The seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(hexPacket(f, requestHex))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parse(b)
		valid := len(b) >= packetLen &&
			bytes.Equal(b[:6], []byte{0, 1, 8, 0, 6, 4}) &&
			b[6] == 0 && (b[7] == 3 || b[7] == 4)
		if valid != (err == nil) {
			t.Fatalf("parse(% x): err = %v, but the header is valid: %v", b, err, valid)
		}
		if err != nil {
			return
		}
		if got := p.append(nil); !bytes.Equal(got, b[:packetLen]) {
			t.Fatalf("append(parse(b)) = % x, want % x", got, b[:packetLen])
		}
		q, err := parse(p.append(nil))
		if err != nil || q != p {
			t.Fatalf("parse(append(p)) = %+v, %v; want %+v", q, err, p)
		}
	})
}
