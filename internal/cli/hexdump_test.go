package cli

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestParseHex(t *testing.T) {
	t.Parallel()
	long1 := strings.Repeat("01", minMessageLine)
	long2 := strings.Repeat("02", minMessageLine+10)
	type blk struct {
		line int
		hex  string
	}
	tests := []struct {
		name  string
		input string
		want  []blk
	}{
		{"empty", "", nil},
		{"blank lines split", "0102\n0304\n\n\n0506\n", []blk{{1, "01020304"}, {5, "0506"}}},
		{"comment lines do not split", "# head\n01 # tail\n# middle\n02\n", []blk{{2, "0102"}}},
		{"separators", "0x01 0X02 aa:bb\tCC\r\n", []blk{{1, "0102aabbcc"}}},
		{"line per message", long1 + "\n" + long2 + "\n", []blk{{1, long1}, {2, long2}}},
		{"short line joins", long1 + "\n" + "ff\n", []blk{{1, long1 + "ff"}}},
		{"tcpdump -xx", "12:00:00 IP 1.2.3.4 > 5.6.7.8: UDP\n\t0x0000:  4500 0148 0000\n\t0x0006:  01\n" +
			"12:00:01 IP ...\n\t0x0000:  ffff\n", []blk{{2, "45000148000001"}, {5, "ffff"}}},
		{"tcpdump -X ascii column", "\t0x0000:  4500 0148 beef  E..H..\n\t0x0006:  0a  .\n", []blk{{1, "45000148beef0a"}}},
		{"tcpdump ignores hex-looking text", "  Client-ID beef\n\t0x0000:  0102\nbeef\n", []blk{{2, "0102"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseHex([]byte(tt.input))
			if err != nil {
				t.Fatalf("parseHex: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d blocks %v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].line != w.line || hex.EncodeToString(got[i].data) != w.hex {
					t.Errorf("block %d: got line %d %x, want line %d %s", i, got[i].line, got[i].data, w.line, w.hex)
				}
			}
		})
	}
}

func TestParseHexErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ input, want string }{
		{"0102\nzz\n", `line 2: not hex: "zz"`},
		{"# c\n012\n", "line 2: odd number of hex digits (3)"},
		{"\t0x0000:  0102\n\t0x0010:  0304\n", "line 2: offset 0x0010 does not follow the 2 bytes before it"},
		{"\t0x0000:  45z0\n", `line 1: "45z0" is not hex`},
		{"\t0x0000:  450\n", `line 1: "450" is not a group of 2 or 4 hex digits`},
		{"\t0x0000:\n", "line 1: no hex after the offset"},
		{"0X\n", `line 1: no hex digits in "0X"`}, // found by FuzzParseHex: was an empty block
	}
	for _, tt := range tests {
		_, err := parseHex([]byte(tt.input))
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseHex(%q) = %v, want %q", tt.input, err, tt.want)
		}
	}
}

// FuzzParseHex checks that parseHex never panics, and that plain hex it
// accepts keeps every byte: re-encoding the blocks one per paragraph gives
// the same blocks.
func FuzzParseHex(f *testing.F) {
	f.Add([]byte("# c\n0102\n\n0304 # x\n"))
	f.Add([]byte("\t0x0000:  4500 0148  E..H\n\t0x0004:  01\n"))
	f.Add([]byte(strings.Repeat("ab", 240) + "\n" + strings.Repeat("cd", 240)))
	f.Fuzz(func(t *testing.T, in []byte) {
		blocks, err := parseHex(in)
		if err != nil {
			return
		}
		var sb strings.Builder
		for _, b := range blocks {
			if len(b.data) == 0 {
				t.Fatalf("empty block at line %d", b.line)
			}
			sb.WriteString(hex.EncodeToString(b.data) + "\n\n")
		}
		again, err := parseHex([]byte(sb.String()))
		if err != nil || len(again) != len(blocks) {
			t.Fatalf("re-parse: %d blocks, %v; want %d", len(again), err, len(blocks))
		}
		for i := range blocks {
			if !bytes.Equal(again[i].data, blocks[i].data) {
				t.Fatalf("block %d changed: %x -> %x", i, blocks[i].data, again[i].data)
			}
		}
	})
}
