package cli

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"bootd/internal/dhcpv4"
)

// parseError returns the error text dhcpv4 gives for a payload.
func parseError(t *testing.T, payload []byte) string {
	t.Helper()
	var m dhcpv4.Message
	err := m.UnmarshalBinary(payload)
	if err == nil {
		t.Fatal("payload parses; want an error")
	}
	return err.Error()
}

func wantContains(t *testing.T, what, s string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			t.Errorf("%s does not contain %q:\n%s", what, w, s)
		}
	}
}

// TestDecodeMalformed is a capture with a good message, two broken ones
// and a DNS query: the good one is printed, each broken one is one line
// with the codec's reason, the DNS query is only counted.
func TestDecodeMalformed(t *testing.T) {
	t.Parallel()
	good := dhcpMessage(t, dhcpv4.Discover, nil)
	short := good[:100]
	cut := good[:243] // inside the options: no end option
	dns := udpIPv4(addrPort("198.51.100.7:5353"), addrPort("198.51.100.1:53"), []byte("not dhcp"))
	capture := writePCAP(t, layers.LinkTypeEthernet, frames(
		ethernet(udpIPv4(clientPort, bcastPort, good)),
		ethernet(udpIPv4(clientPort, bcastPort, short)),
		ethernet(udpIPv4(clientPort, bcastPort, cut)),
		ethernet(dns),
	)...)

	code, stdout, stderr := runCLI(t, capture, "decode")
	if code != exitOK {
		t.Errorf("exit %d, want 0; stderr:\n%s", code, stderr)
	}
	wantContains(t, "stdout", stdout,
		"frame 1 2026-11-23T03:27:44.767948Z 0.0.0.0:68 > 255.255.255.255:67 length 300\n",
		"  xid:      0x1a2b3c4d\n",
		"  chaddr:   02:00:5e:10:00:01\n",
		"  type:     DHCP DISCOVER\n",
		"  option 53 message-type: DISCOVER\n",
		"\nframe 2: malformed BOOTP/DHCP message: "+parseError(t, short)+"\n",
		"\nframe 3: malformed BOOTP/DHCP message: "+parseError(t, cut)+"\n",
	)
	if strings.Contains(stdout, "frame 4") {
		t.Errorf("the DNS packet is printed:\n%s", stdout)
	}
	if want := "1 messages, 2 malformed, 1 other packets\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}

	code, stdout, _ = runCLI(t, capture, "decode", "--json")
	if code != exitOK {
		t.Errorf("--json: exit %d, want 0", code)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("--json: %d lines, want 3:\n%s", len(lines), stdout)
	}
	var recs []map[string]any
	for _, l := range lines {
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("--json: invalid JSON %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	if recs[0]["message_type"] != "DISCOVER" || recs[0]["src"] != "0.0.0.0:68" || recs[0]["time"] != "2026-11-23T03:27:44.767948Z" {
		t.Errorf("--json: first record %v", recs[0])
	}
	if recs[1]["frame"] != 2.0 || recs[1]["error"] != parseError(t, short) || recs[1]["op"] != nil {
		t.Errorf("--json: second record %v, want frame 2 with the parse error and no fields", recs[1])
	}
}

// TestDecodeLinkTypes reads the same message from each supported link type.
func TestDecodeLinkTypes(t *testing.T) {
	t.Parallel()
	ip := udpIPv4(serverPort, addrPort("198.51.100.20:68"), dhcpMessage(t, dhcpv4.Offer, func(m *dhcpv4.Message) { m.Op = dhcpv4.BootReply }))
	null := func(order binary.AppendByteOrder) []byte { return append(order.AppendUint32(nil, afINET), ip...) }
	tests := []struct {
		name      string
		link      layers.LinkType
		frame     []byte
		wantFirst string // the end of the first line
	}{
		{"ethernet", layers.LinkTypeEthernet, ethernet(ip), "198.51.100.1:67 > 198.51.100.20:68 length 300"},
		{"802.1Q", layers.LinkTypeEthernet, ethernet(ip, 42), "198.51.100.1:67 > 198.51.100.20:68 vlan 42 length 300"},
		{"802.1ad", layers.LinkTypeEthernet, ethernet(ip, 100, 42), "198.51.100.1:67 > 198.51.100.20:68 vlan 100 vlan 42 length 300"},
		{"linux-sll", layers.LinkTypeLinuxSLL, sll(ip), "198.51.100.1:67 > 198.51.100.20:68 length 300"},
		{"linux-sll2", layers.LinkTypeLinuxSLL2, sll2(ip), "198.51.100.1:67 > 198.51.100.20:68 length 300"},
		{"raw", layers.LinkTypeRaw, ip, "198.51.100.1:67 > 198.51.100.20:68 length 300"},
		{"ipv4", layers.LinkTypeIPv4, ip, "198.51.100.1:67 > 198.51.100.20:68 length 300"},
		{"null", layers.LinkTypeNull, null(binary.LittleEndian), "198.51.100.1:67 > 198.51.100.20:68 length 300"},
		{"loop", layers.LinkTypeLoop, null(binary.BigEndian), "198.51.100.1:67 > 198.51.100.20:68 length 300"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, writePCAP(t, tt.link, packet{data: tt.frame}), "decode")
			if code != exitOK || stderr != "1 messages, 0 malformed, 0 other packets\n" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			first, _, _ := strings.Cut(stdout, "\n")
			if !strings.HasSuffix(first, tt.wantFirst) {
				t.Errorf("first line %q, want it to end with %q", first, tt.wantFirst)
			}
			wantContains(t, "stdout", stdout, "  type:     DHCP OFFER\n")
		})
	}
}

// TestDecodeNotDecodable covers datagrams of port 67/68 that cannot be read:
// IPv4 fragments and frames cut by the snap length; and a broken UDP length.
func TestDecodeNotDecodable(t *testing.T) {
	t.Parallel()
	msg := dhcpMessage(t, dhcpv4.Request, nil)
	first := udpIPv4Frag(clientPort, bcastPort, msg[:200], 0x1234, 0x2000) // MF, offset 0
	rest := udpIPv4Frag(clientPort, bcastPort, msg[200:], 0x1234, 26)      // offset 208 bytes
	full := ethernet(udpIPv4(clientPort, bcastPort, msg))
	badLen := ethernet(udpIPv4(clientPort, bcastPort, msg))
	binary.BigEndian.PutUint16(badLen[14+20+4:], uint16(8+len(msg)+50))
	capture := writePCAP(t, layers.LinkTypeEthernet,
		packet{data: ethernet(first)},
		packet{data: ethernet(rest)},
		packet{data: full[:100], origLen: len(full)},
		packet{data: badLen},
		packet{data: full},
	)
	code, stdout, stderr := runCLI(t, capture, "decode")
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
	wantContains(t, "stdout", stdout,
		"frame 1: BOOTP/DHCP message not decodable: IPv4 fragment (id 0x1234, offset 0, more fragments follow)",
		"frame 3: BOOTP/DHCP message not decodable: frame cut short by the capture's snap length: 66 of the 308 bytes",
		"frame 4: malformed BOOTP/DHCP message: UDP length 358 runs past the end of the IPv4 packet (308 bytes of UDP)",
		"frame 5 2026-11-23T03:27:48.767948Z 0.0.0.0:68 > 255.255.255.255:67 length 300",
	)
	if strings.Contains(stdout, "frame 2") {
		t.Errorf("the second fragment is printed:\n%s", stdout)
	}
	if want := "1 messages, 1 malformed, 1 other packets, 2 not decodable\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

// TestDecodeMessageDetails checks how message features are shown: relay
// agent information, broadcast flag, overload, BOOTP with and without the
// magic cookie, Validate warnings.
func TestDecodeMessageDetails(t *testing.T) {
	t.Parallel()
	relayed := dhcpMessage(t, dhcpv4.Discover, func(m *dhcpv4.Message) {
		m.Hops = 1
		m.Flags = dhcpv4.FlagBroadcast
		m.GIAddr = relayPort.Addr()
		ri, _ := dhcpv4.AppendSubOption(nil, dhcpv4.RelayCircuitID, []byte("eth0"))
		ri, _ = dhcpv4.AppendSubOption(ri, dhcpv4.RelayRemoteID, []byte{0, 6, 2, 0, 0x5e, 0, 0, 9})
		ri, _ = dhcpv4.AppendSubOption(ri, dhcpv4.RelayLinkSelection, []byte{198, 51, 100, 0})
		m.Options.Set(dhcpv4.OptRelayAgentInfo, ri)
		m.Options.SetUint16(dhcpv4.OptMaxMessageSize, 500) // below 576: a warning
		m.Options.Set(dhcpv4.OptRapidCommit, nil)
	})
	overloaded := make([]byte, 300)
	overloaded[0], overloaded[1], overloaded[2] = 2, 1, 6
	copy(overloaded[108:], "\x0c\x04boot\xff") // host name in the file field
	copy(overloaded[236:], "\x63\x82\x53\x63\x35\x01\x05\x34\x01\x01\xff")
	noCookie := make([]byte, 300)
	noCookie[0], noCookie[1], noCookie[2] = 1, 1, 6
	copy(noCookie[28:], testMAC)
	copy(noCookie[108:], "pxelinux.0")
	copy(noCookie[236:], "\x01\x02\x03")
	bootp := make([]byte, 300)
	bootp[0], bootp[1], bootp[2] = 2, 1, 6
	copy(bootp[236:], "\x63\x82\x53\x63\x01\x04\xff\xff\xff\x00\xff")

	tests := []struct {
		name    string
		payload []byte
		want    []string
	}{
		{"relay", relayed, []string{
			"  hops:     1\n",
			"  flags:    0x8000 (broadcast)\n",
			"  giaddr:   198.51.100.9\n",
			"  option 82 relay-agent-info:\n" +
				"    sub-option 1 circuit-id: \"eth0\"\n" +
				"    sub-option 2 remote-id: 00:06:02:00:5e:00:00:09\n" +
				"    sub-option 5 link-selection: 198.51.100.0\n",
			"  option 80 rapid-commit\n",
			"  option 57 max-message-size: 500\n",
			"  warning: dhcpv4: option 57 (max-message-size): below the minimum of 576\n",
		}},
		{"overload", overloaded, []string{
			"  file:     (holds options)\n",
			"  sname:    \"\"\n",
			"  type:     DHCP ACK\n",
			"  overload: options continue in file\n",
			"  option 12 host-name: \"boot\"\n",
		}},
		{"no cookie", noCookie, []string{
			"  file:     \"pxelinux.0\"\n",
			"  type:     BOOTP (RFC 951, no magic cookie)\n",
			"  vendor:   64 bytes: 01:02:03:00:",
		}},
		{"bootp", bootp, []string{
			"  type:     BOOTP (no DHCP message type)\n",
			"  option 1 subnet-mask: 255.255.255.0\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, []byte(hex.EncodeToString(tt.payload)+"\n"), "decode")
			if code != exitOK || stderr != "1 messages, 0 malformed, 0 other packets\n" {
				t.Fatalf("exit %d, stderr %q", code, stderr)
			}
			wantContains(t, "stdout", stdout, tt.want...)
			if !strings.HasPrefix(stdout, "frame 1 line 1 length 300\n") {
				t.Errorf("first line of %q: want \"frame 1 line 1 length 300\"", stdout)
			}
		})
	}

	// The JSON form carries the same facts.
	_, stdout, _ := runCLI(t, []byte(hex.EncodeToString(relayed)), "decode", "--json")
	var r struct {
		GIAddr    string `json:"giaddr"`
		Broadcast bool   `json:"broadcast"`
		Options   []struct {
			Code       int    `json:"code"`
			Hex        string `json:"hex"`
			SubOptions []struct {
				Code  int    `json:"code"`
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"sub_options"`
		} `json:"options"`
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("--json: %v\n%s", err, stdout)
	}
	if r.GIAddr != "198.51.100.9" || !r.Broadcast || len(r.Warnings) != 1 {
		t.Errorf("--json: giaddr %q, broadcast %v, warnings %q", r.GIAddr, r.Broadcast, r.Warnings)
	}
	found := false
	for _, o := range r.Options {
		if o.Code == 82 && len(o.SubOptions) == 3 && o.SubOptions[0].Name == "circuit-id" && o.SubOptions[0].Value == `"eth0"` {
			found = true
		}
	}
	if !found {
		t.Errorf("--json: no option 82 with circuit-id \"eth0\" in %s", stdout)
	}
}

// tcpdumpXX formats a frame as tcpdump -xx does, after a summary line.
func tcpdumpXX(frame []byte) string {
	var sb strings.Builder
	sb.WriteString("03:27:44.767948 IP 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request, length 300\n")
	for off := 0; off < len(frame); off += 16 {
		fmt.Fprintf(&sb, "\t0x%04x: ", off)
		for i := off; i < min(off+16, len(frame)); i += 2 {
			if i+1 < len(frame) {
				fmt.Fprintf(&sb, " %02x%02x", frame[i], frame[i+1])
			} else {
				fmt.Fprintf(&sb, " %02x", frame[i])
			}
		}
		sb.WriteString("\n")
	}
	return sb.String()
}

func wrapHex(b []byte, width int) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for len(h) > width {
		sb.WriteString(h[:width] + "\n")
		h = h[width:]
	}
	return sb.String() + h + "\n"
}

func TestDecodeHexStdin(t *testing.T) {
	t.Parallel()
	discover := dhcpMessage(t, dhcpv4.Discover, nil)
	request := dhcpMessage(t, dhcpv4.Request, nil)
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{"blocks", "# two messages\n" + wrapHex(discover, 64) + "\n\n# the second\n" + wrapHex(request, 32), []string{
			"frame 1 line 2 length 300\n", "DHCP DISCOVER", "frame 2 line 15 length 300\n", "DHCP REQUEST"}},
		{"line per message", hex.EncodeToString(discover) + "\n" + hex.EncodeToString(request) + "  # request\n", []string{
			"frame 1 line 1 length 300\n", "DHCP DISCOVER", "frame 2 line 2 length 300\n", "DHCP REQUEST"}},
		{"separators", strings.ToUpper(strings.Join(strings.SplitAfter(hex.EncodeToString(discover), "00"), " ")), []string{
			"frame 1 line 1 length 300\n", "DHCP DISCOVER"}},
		{"ipv4", wrapHex(udpIPv4(clientPort, bcastPort, discover), 32), []string{
			"frame 1 line 1 0.0.0.0:68 > 255.255.255.255:67 length 300\n", "DHCP DISCOVER"}},
		{"tcpdump -xx", tcpdumpXX(ethernet(udpIPv4(clientPort, bcastPort, discover), 7)) + tcpdumpXX(sll(udpIPv4(serverPort, bcastPort, request))), []string{
			"frame 1 line 2 0.0.0.0:68 > 255.255.255.255:67 vlan 7 length 300\n", "DHCP DISCOVER",
			"frame 2 line 25 198.51.100.1:67 > 255.255.255.255:67 length 300\n", "DHCP REQUEST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, args := range [][]string{{"decode"}, {"decode", "-"}} {
				code, stdout, stderr := runCLI(t, []byte(tt.input), args...)
				if code != exitOK {
					t.Fatalf("%v: exit %d, stderr %q", args, code, stderr)
				}
				wantContains(t, "stdout", stdout, tt.want...)
				if want := fmt.Sprintf("%d messages, 0 malformed, 0 other packets\n", len(tt.want)/2); stderr != want {
					t.Errorf("%v: stderr = %q, want %q", args, stderr, want)
				}
			}
		})
	}
}

// TestDecodeCaptureFormats reads pcapng (with two link types), gzip'd pcap
// and nanosecond pcap, from stdin and from a file.
func TestDecodeCaptureFormats(t *testing.T) {
	t.Parallel()
	ip := udpIPv4(clientPort, bcastPort, dhcpMessage(t, dhcpv4.Discover, nil))

	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	sllID, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL2, SnapLength: 65536})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []struct {
		iface int
		data  []byte
	}{{0, ethernet(ip)}, {sllID, sll2(ip)}} {
		ci := gopacket.CaptureInfo{Timestamp: testTime, CaptureLength: len(p.data), Length: len(p.data), InterfaceIndex: p.iface}
		if err := w.WritePacket(ci, p.data); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(writePCAP(t, layers.LinkTypeEthernet, packet{data: ethernet(ip)}, packet{data: ethernet(ip)}))
	zw.Close()

	var nano bytes.Buffer
	nw := pcapgo.NewWriterNanos(&nano)
	nw.WriteFileHeader(65536, layers.LinkTypeEthernet)
	for range 2 {
		nw.WritePacket(gopacket.CaptureInfo{Timestamp: testTime, CaptureLength: len(ip) + 14, Length: len(ip) + 14}, ethernet(ip))
	}

	dir := t.TempDir()
	for name, data := range map[string][]byte{"pcapng": ng.Bytes(), "gzip": gz.Bytes(), "nanoseconds": nano.Bytes()} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"decode", path}, {"decode"}} {
			code, stdout, stderr := runCLI(t, data, args...)
			if code != exitOK || stderr != "2 messages, 0 malformed, 0 other packets\n" {
				t.Errorf("%s %v: exit %d, stderr %q", name, args, code, stderr)
			}
			wantContains(t, name+" stdout", stdout,
				"frame 1 2026-11-23T03:27:44.767948Z 0.0.0.0:68 > 255.255.255.255:67 length 300\n",
				"frame 2 2026-11-23T03:27:")
		}
	}
}

func TestDecodeUnreadable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := writePCAP(t, layers.LinkTypeEthernet, frames(
		ethernet(udpIPv4(clientPort, bcastPort, dhcpMessage(t, dhcpv4.Discover, nil))),
		ethernet(udpIPv4(clientPort, bcastPort, dhcpMessage(t, dhcpv4.Request, nil))),
	)...)
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := make([]byte, 256)
	for i := range garbage {
		garbage[i] = byte(i)
	}
	tests := []struct {
		name       string
		args       []string
		stdin      []byte
		wantStderr []string
		wantStdout string
	}{
		{"missing file", []string{"decode", filepath.Join(dir, "nosuch.pcap")}, nil,
			[]string{"bootd decode: open " + filepath.Join(dir, "nosuch.pcap") + ": no such file or directory"}, ""},
		{"directory", []string{"decode", dir}, nil, []string{"bootd decode: " + dir + ": "}, ""},
		{"binary file", []string{"decode", write("garbage.bin", garbage)}, nil,
			[]string{"garbage.bin: not a pcap or pcapng capture, nor a hex dump: line 1: not hex"}, ""},
		{"bad hex on stdin", []string{"decode"}, []byte("# comment\n0102 030\n"),
			[]string{"bootd decode: standard input: not a pcap or pcapng capture, nor a hex dump: line 2: odd number of hex digits (7)"}, ""},
		{"unsupported link type", []string{"decode", write("wifi.pcap", writePCAP(t, layers.LinkTypeIEEE802_11))}, nil,
			[]string{"wifi.pcap: pcap link type 105 (802.11) is not supported"}, ""},
		{"truncated pcap header", []string{"decode", write("short.pcap", good[:10])}, nil,
			[]string{"short.pcap: reading pcap header: "}, ""},
		{"truncated capture", []string{"decode", write("cut.pcap", good[:len(good)-20])}, nil,
			[]string{"1 messages, 0 malformed, 0 other packets\n", "bootd decode: " + filepath.Join(dir, "cut.pcap") + ": after frame 1: unexpected EOF\n"},
			"frame 1 2026-11-23T03:27:44.767948Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, tt.stdin, tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			wantContains(t, "stderr", stderr, tt.wantStderr...)
			if !strings.HasPrefix(stdout, tt.wantStdout) || tt.wantStdout == "" && stdout != "" {
				t.Errorf("stdout = %q, want it to start with %q", stdout, tt.wantStdout)
			}
		})
	}
}

func TestDecodeEmptyInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "\n# nothing here\n\n"} {
		code, stdout, stderr := runCLI(t, []byte(in), "decode")
		if code != exitOK || stdout != "" || stderr != "0 messages, 0 malformed, 0 other packets\n" {
			t.Errorf("input %q: exit %d, stdout %q, stderr %q", in, code, stdout, stderr)
		}
	}
}

// TestDecodeCanceled stops at the first frame once the context is done.
func TestDecodeCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	capture := writePCAP(t, layers.LinkTypeEthernet, packet{data: ethernet(udpIPv4(clientPort, bcastPort, dhcpMessage(t, dhcpv4.Discover, nil)))})
	var stdout, stderr strings.Builder
	code := Run(ctx, []string{"decode"}, bytes.NewReader(capture), &stdout, &stderr)
	if code != exitError || stdout.String() != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", code, stdout.String())
	}
	wantContains(t, "stderr", stderr.String(), "0 messages, 0 malformed, 0 other packets\n", "bootd decode: standard input: context canceled\n")
}

// TestDecodePcapngUnsupportedInterface skips, counts and notes the frames of
// an interface whose link type decode cannot read.
func TestDecodePcapngUnsupportedInterface(t *testing.T) {
	t.Parallel()
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	wifi, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeIEEE802_11, SnapLength: 65536})
	if err != nil {
		t.Fatal(err)
	}
	frame := ethernet(udpIPv4(clientPort, bcastPort, dhcpMessage(t, dhcpv4.Discover, nil)))
	for _, iface := range []int{0, wifi, wifi} {
		ci := gopacket.CaptureInfo{Timestamp: testTime, CaptureLength: len(frame), Length: len(frame), InterfaceIndex: iface}
		if err := w.WritePacket(ci, frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, ng.Bytes(), "decode")
	if code != exitOK {
		t.Errorf("exit %d, want 0", code)
	}
	wantContains(t, "stdout", stdout, "frame 1 ", "DHCP DISCOVER")
	if want := "1 messages, 0 malformed, 2 other packets\nnote: skipped frames of unsupported link types: 2 with link type 105 (802.11)\n"; stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestDecodeWriteError stops with exit 1 when the output cannot be written.
func TestDecodeWriteError(t *testing.T) {
	t.Parallel()
	msg := dhcpMessage(t, dhcpv4.Discover, nil)
	var pkts []packet
	for range 100 { // more than bufio's buffer holds
		pkts = append(pkts, packet{data: ethernet(udpIPv4(clientPort, bcastPort, msg))})
	}
	capture := writePCAP(t, layers.LinkTypeEthernet, pkts...)
	for _, args := range [][]string{{"decode"}, {"decode", "--json"}} {
		var stderr strings.Builder
		code := Run(context.Background(), args, bytes.NewReader(capture), failWriter{}, &stderr)
		if code != exitError || stderr.String() != "bootd decode: writing output: disk full\n" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}
