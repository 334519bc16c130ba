package cli

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// hexBlock is one frame of a hex dump: the bytes and the line they start on.
type hexBlock struct {
	line int
	data []byte
}

// minMessageLine is the shortest line read as a whole message when a block
// has several lines: the 236-byte BOOTP header. Shorter lines are pieces of
// one message, as in a dump wrapped at 16 or 32 bytes a line.
const minMessageLine = 236

// parseHex reads hex dumps, in one of two forms.
//
// Plain hex: '#' starts a comment, blank lines separate messages, and
// within a block whitespace, ':' and "0x" prefixes are ignored; the lines
// of a block are joined, unless every line holds at least 236 bytes (a
// whole BOOTP message), in which case each line is a message.
//
// tcpdump -x, -xx or -X output, recognised by lines starting with an offset
// such as "0x0000:": only those lines are read, a line at offset 0 starts a
// new message, the ASCII column of -X is dropped, and the other lines
// (tcpdump's summary and decoding) are ignored.
func parseHex(text []byte) ([]hexBlock, error) {
	lines := strings.Split(string(text), "\n")
	tcpdump := false
	for _, l := range lines {
		if _, _, ok := cutOffset(stripComment(l)); ok {
			tcpdump = true
			break
		}
	}

	var blocks []hexBlock
	var cur []hexBlock // the lines of the current block
	flush := func() {
		if len(cur) == 0 {
			return
		}
		perLine := len(cur) > 1
		for _, l := range cur {
			if len(l.data) < minMessageLine {
				perLine = false
			}
		}
		if perLine {
			blocks = append(blocks, cur...)
		} else {
			b := hexBlock{line: cur[0].line}
			for _, l := range cur {
				b.data = append(b.data, l.data...)
			}
			blocks = append(blocks, b)
		}
		cur = nil
	}
	size := func() int {
		n := 0
		for _, l := range cur {
			n += len(l.data)
		}
		return n
	}

	for i, raw := range lines {
		lineNo := i + 1
		s := stripComment(raw)
		if s == "" {
			if strings.TrimSpace(raw) == "" {
				flush() // a blank line; a comment-only line is ignored
			}
			continue
		}
		if tcpdump {
			off, rest, ok := cutOffset(s)
			if !ok {
				continue // tcpdump's summary or decoding lines
			}
			b, err := tcpdumpBytes(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			if off == 0 {
				flush()
			}
			if want := size(); off != want {
				return nil, fmt.Errorf("line %d: offset 0x%04x does not follow the %d bytes before it", lineNo, off, want)
			}
			cur = append(cur, hexBlock{line: lineNo, data: b})
			continue
		}
		b, err := plainHex(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", lineNo, err)
		}
		cur = append(cur, hexBlock{line: lineNo, data: b})
	}
	flush()
	return blocks, nil
}

func stripComment(s string) string {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

// cutOffset splits a tcpdump hex line "0x0010:  4500 ..." into its offset
// and the rest.
func cutOffset(s string) (off int, rest string, ok bool) {
	if !strings.HasPrefix(s, "0x") {
		return 0, "", false
	}
	num, rest, found := strings.Cut(s[2:], ":")
	if !found || num == "" {
		return 0, "", false
	}
	v, err := strconv.ParseUint(num, 16, 31)
	if err != nil {
		return 0, "", false
	}
	return int(v), rest, true
}

// tcpdumpBytes reads the groups of 2 or 4 hex digits after a tcpdump offset.
// The groups are separated by one space; two spaces start the ASCII column
// of tcpdump -X.
func tcpdumpBytes(rest string) ([]byte, error) {
	rest = strings.TrimLeft(rest, " \t")
	if i := strings.Index(rest, "  "); i >= 0 {
		rest = rest[:i]
	}
	var out []byte
	for g := range strings.FieldsSeq(rest) {
		if len(g) != 2 && len(g) != 4 {
			return nil, fmt.Errorf("%q is not a group of 2 or 4 hex digits", g)
		}
		b, err := hex.DecodeString(g)
		if err != nil {
			return nil, fmt.Errorf("%q is not hex", g)
		}
		out = append(out, b...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no hex after the offset")
	}
	return out, nil
}

// plainHex reads a line of hex digits, ignoring whitespace, ':' and "0x".
func plainHex(s string) ([]byte, error) {
	var digits []byte
	for f := range strings.FieldsSeq(s) {
		f = strings.TrimPrefix(strings.TrimPrefix(f, "0x"), "0X")
		digits = append(digits, strings.ReplaceAll(f, ":", "")...)
	}
	if i := bytes.IndexFunc(digits, func(r rune) bool { return !isHexDigit(r) }); i >= 0 {
		return nil, fmt.Errorf("not hex: %q", clip(s, 40))
	}
	if len(digits) == 0 {
		return nil, fmt.Errorf("no hex digits in %q", clip(s, 40))
	}
	if len(digits)%2 != 0 {
		return nil, fmt.Errorf("odd number of hex digits (%d)", len(digits))
	}
	out := make([]byte, len(digits)/2)
	_, err := hex.Decode(out, digits)
	return out, err
}

func isHexDigit(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
