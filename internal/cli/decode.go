package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/gopacket/gopacket/layers"

	"bootd/internal/dhcpv4"
)

func decodeCommand() *command {
	return &command{
		name:     "decode",
		synopsis: "[--json] [FILE]",
		summary:  "print the BOOTP/DHCP messages of a packet capture or a hex dump",
		doc: `Decode prints every BOOTP/DHCP message (UDP port 67 or 68 on either side)
in FILE, like a protocol analyser: a line with the frame number, capture
time (UTC) and addresses, the header fields, the message type, then every
option in wire order, with the sub-options of relay agent information (82)
on lines of their own, and malformed option values as warnings.

FILE is a pcap or pcapng capture (also gzip-compressed), or a hex dump.
Captures are read from the link types Ethernet (with VLAN tags), Linux
cooked v1 and v2 (tcpdump -i any), raw IP and BSD loopback. IPv4
fragments are reported as not decodable; they are not reassembled. Other
packets are skipped.

Hex dumps are plain hex, one message per block of lines separated by
blank lines (or per line, when each line holds a whole message), with '#'
comments; or the output of tcpdump -x, -xx or -X. A dump may start at the
BOOTP message, the IPv4 header or the Ethernet header.

Without FILE, or with FILE "-", decode reads standard input, a capture or
a hex dump.

A malformed message is reported on one line, and decoding goes on. A
summary goes to standard error:
	N messages, M malformed, K other packets
with ", F not decodable" added when some were. The exit status is 0 when
the input could be read, even if messages in it were malformed, and 1
when it could not.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			asJSON := fs.Bool("json", false, "print one JSON object per message (JSON lines), with the same content as the text")
			return func(ctx context.Context, e *env, args []string) error {
				return runDecode(ctx, e, args, *asJSON)
			}
		},
	}
}

// decodeStats counts the frames of the input; every frame is in one count.
type decodeStats struct {
	messages, malformed, other, undecodable int
	unsupportedLinks                        map[layers.LinkType]int // pcapng interfaces decode cannot read
}

func runDecode(ctx context.Context, e *env, args []string, asJSON bool) error {
	if len(args) > 1 {
		return usagef("too many arguments")
	}
	in, name := e.stdin, "standard input"
	if len(args) == 1 && args[0] != "-" {
		f, err := os.Open(args[0])
		if err != nil {
			return err // *PathError names the file
		}
		defer f.Close()
		in, name = f, args[0]
	}
	src, err := openCapture(in)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}

	out := bufio.NewWriter(e.stdout)
	st := decodeStats{unsupportedLinks: map[layers.LinkType]int{}}
	var m dhcpv4.Message
	var readErr error
	for {
		if err := ctx.Err(); err != nil {
			readErr = fmt.Errorf("%s: %w", name, err)
			break
		}
		fr, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			readErr = fmt.Errorf("%s: %w", name, err)
			break
		}
		r := decodeOne(&fr, &m, &st)
		if r == nil {
			continue
		}
		if asJSON {
			writeJSON(out, r)
		} else {
			if st.messages+st.malformed+st.undecodable > 1 {
				out.WriteByte('\n')
			}
			writeText(out, r)
		}
		// A bufio.Writer keeps its first write error and returns it from
		// every later Write: stop at once rather than decode for nothing.
		if _, err := out.Write(nil); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	summary := fmt.Sprintf("%d messages, %d malformed, %d other packets", st.messages, st.malformed, st.other)
	if st.undecodable > 0 {
		summary += fmt.Sprintf(", %d not decodable", st.undecodable)
	}
	fmt.Fprintln(e.stderr, summary)
	if len(st.unsupportedLinks) > 0 {
		var parts []string
		for t, n := range st.unsupportedLinks {
			parts = append(parts, fmt.Sprintf("%d with link type %d (%v)", n, uint32(t), t))
		}
		sort.Strings(parts)
		fmt.Fprintf(e.stderr, "note: skipped frames of unsupported link types: %s\n", strings.Join(parts, ", "))
	}
	return readErr
}

// decodeOne decodes a frame, counts it and returns what to print, or nil
// for a frame that is not BOOTP/DHCP.
func decodeOne(fr *frame, m *dhcpv4.Message, st *decodeStats) *record {
	var d datagram
	switch {
	case fr.payload:
		d = datagram{kind: kindMessage, payload: fr.data}
	case !linkSupported(fr.link):
		st.unsupportedLinks[fr.link]++
	default:
		d = decodeFrame(fr.link, fr.data, fr.truncated)
	}
	r := &record{Frame: fr.n, Line: fr.line, VLAN: d.vlans, Length: len(d.payload)}
	if !fr.time.IsZero() {
		r.Time = fr.time.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
	}
	if d.src.IsValid() {
		r.Src, r.Dst = d.src.String(), d.dst.String()
	}
	switch d.kind {
	case kindOther:
		st.other++
		return nil
	case kindUndecodable:
		st.undecodable++
		r.NotDecodable = d.reason
		return r
	case kindMalformed:
		st.malformed++
		r.Error = d.reason
		return r
	}
	if err := m.UnmarshalBinary(d.payload); err != nil {
		st.malformed++
		r.Error = err.Error()
		return r
	}
	st.messages++
	r.Fields = newFields(m)
	return r
}
