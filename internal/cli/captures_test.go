package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Facts about the real captures in testdata/pcap (made by
// ../dhcpv4/testdata/captures/capture.sh), checked directly rather than only
// through the golden files, so that a golden refresh cannot hide a wrong
// decoding of them.

// decodeFrames runs decode on a capture and splits the text output by frame.
func decodeFrames(t *testing.T, path string) map[int]string {
	t.Helper()
	code, stdout, stderr := runCLI(t, nil, "decode", path)
	if code != exitOK {
		t.Fatalf("decode %s: exit %d: %s", path, code, stderr)
	}
	frames := map[int]string{}
	re := regexp.MustCompile(`^frame (\d+)`)
	for block := range strings.SplitSeq(stdout, "\n\n") {
		m := re.FindStringSubmatch(block)
		if m == nil {
			t.Fatalf("decode %s: block without a frame line:\n%s", path, block)
		}
		n, _ := strconv.Atoi(m[1])
		frames[n] = block + "\n"
	}
	return frames
}

// decodeJSON runs decode --json on a capture and returns the records.
func decodeJSON(t *testing.T, path string) []record {
	t.Helper()
	code, stdout, stderr := runCLI(t, nil, "decode", "--json", path)
	if code != exitOK {
		t.Fatalf("decode --json %s: exit %d: %s", path, code, stderr)
	}
	var recs []record
	for l := range strings.Lines(stdout) {
		var r record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("decode --json %s: %v: %s", path, err, l)
		}
		recs = append(recs, r)
	}
	return recs
}

func requireCapture(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join("testdata/pcap", name)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("capture missing: %v (made by ../dhcpv4/testdata/captures/capture.sh)", err)
	}
	return path
}

func TestCaptureFacts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		capture string
		frame   int
		want    []string
		re      []string // for values that change from one capture run to the next
	}{
		{"dhclient.pcap", 1, []string{
			" 0.0.0.0:68 > 255.255.255.255:67 length 300\n",
			"  chaddr:   02:b0:07:00:00:01\n", "  type:     DHCP DISCOVER\n",
			"  option 12 host-name: \"dhclient-test\"\n"}, nil},
		{"dhclient.pcap", 2, []string{
			"198.18.0.1:67 > 198.18.0.111:68 length 354\n", "  yiaddr:   198.18.0.111\n", "  type:     DHCP OFFER\n",
			"  option 121 classless-static-routes: 198.18.2.0/24 via 198.18.0.1\n",
			"  option 119 domain-search: example.test, lab.example.test\n"}, nil},
		{"dhclient.pcapng", 5, []string{"  ciaddr:   198.18.0.111\n", "  type:     DHCP RELEASE\n"}, nil},
		{"dhclient-reboot.pcap", 2, []string{"  type:     DHCP NAK\n"}, nil},
		{"udhcpc.pcap", 1, []string{
			"  option 61 client-id: ethernet 02:b0:07:00:00:02\n", "  option 60 vendor-class: \"bootd-test\"\n"}, nil},
		{"udhcpc.pcap", 2, []string{"  option 43 vendor-specific: 1=\"hello from dnsmasq\"\n"}, nil},
		{"dhcpcd.pcap", 1, []string{"  option 80 rapid-commit\n"}, []string{
			// RFC 4361 client id: IAID, then a DUID-LLT (type 1, hardware type 1, time, MAC)
			`\n  option 61 client-id: iaid 0x[0-9a-f]{8} duid 00:01:00:01:(..:){4}02:b0:07:00:00:03\n`}},
		{"nmap.pcap", 1, []string{
			"  flags:    0x8000 (broadcast)\n", "  chaddr:   de:ad:c0:de:ca:fe\n", "  type:     DHCP DISCOVER\n"}, nil},
		{"dhcrelay.pcap", 1, []string{
			"198.18.0.2:67 > 198.18.0.1:67 length 300\n", "  hops:     1\n", "  giaddr:   198.18.1.1\n",
			"  option 82 relay-agent-info:\n    sub-option 1 circuit-id: \"r1\"\n"}, nil},
		{"dhcrelay.pcap", 2, []string{
			"198.18.0.1:67 > 198.18.1.1:67", "  giaddr:   198.18.1.1\n", "  type:     DHCP OFFER\n",
			"  option 82 relay-agent-info:\n    sub-option 1 circuit-id: \"r1\"\n"}, nil},
		{"ipxe.pcap", 1, []string{
			"  chaddr:   52:54:00:b0:07:06\n", "  type:     DHCP DISCOVER\n",
			"  option 93 client-arch: 0 (x86 BIOS)\n",
			"  option 94 client-ndi: UNDI 2.1\n",
			"  option 60 vendor-class: \"PXEClient:Arch:00000:UNDI:002001\"\n",
			// iPXE sends option 77 as one bare name, not RFC 3004 length-prefixed
			"  option 77 user-class: \"iPXE\"\n",
			"  option 175 ipxe-encapsulated: 177=01:80:86:10:0e 235=01:00:00 ",
		}, nil},
		{"ipxe.pcap", 2, []string{
			"  type:     DHCP OFFER\n", "  option 67 boot-file-name: \"http://198.18.0.1/boot.ipxe\"\n"}, nil},
		{"ipxe-efi.pcap", 1, []string{
			"  option 93 client-arch: 7 (x64 UEFI)\n", "  option 77 user-class: \"iPXE\"\n",
			"  option 60 vendor-class: \"PXEClient:Arch:00007:UNDI:003010\"\n"}, nil},
		{"udhcpc-overload.pcap", 2, []string{
			"  sname:    (holds options)\n", "  file:     (holds options)\n", "  type:     DHCP OFFER\n",
			"  overload: options continue in file and sname\n",
			"  option 42 ntp-servers: 198.18.0.1, 198.18.0.2, ",
			"  option 119 domain-search: dept01.lab.example.test, dept02.lab.example.test, ",
			"  option 15 domain-name: \"example.test\"\n"}, nil},
		{"ovmf.pcap", 1, []string{
			"  flags:    0x8000 (broadcast)\n", "  type:     DHCP DISCOVER\n",
			"  option 93 client-arch: 7 (x64 UEFI)\n", "  option 94 client-ndi: UNDI 3.0\n",
			"  option 60 vendor-class: \"PXEClient:Arch:00007:UNDI:003000\"\n"}, nil},
		{"ovmf.pcap", 2, []string{
			"198.18.0.1:67 > 255.255.255.255:68 ", "  type:     DHCP OFFER\n",
			"  option 67 boot-file-name: \"ipxe.efi\"\n"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.capture+"/"+strconv.Itoa(tt.frame), func(t *testing.T) {
			t.Parallel()
			frames := decodeFrames(t, requireCapture(t, tt.capture))
			got, ok := frames[tt.frame]
			if !ok {
				t.Fatalf("no frame %d", tt.frame)
			}
			wantContains(t, "frame "+strconv.Itoa(tt.frame), got, tt.want...)
			for _, re := range tt.re {
				if !regexp.MustCompile(re).MatchString(got) {
					t.Errorf("frame %d does not match %s:\n%s", tt.frame, re, got)
				}
			}
			wantWarnings := 0
			for _, w := range tt.want {
				wantWarnings += strings.Count(w, "warning:")
			}
			if n := strings.Count(got, "warning:"); n != wantWarnings {
				t.Errorf("%d warnings, want %d:\n%s", n, wantWarnings, got)
			}
		})
	}
}

// TestCaptureJSON checks the message types of each capture's --json output
// and the relay agent information of the relayed one.
func TestCaptureJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		capture string
		types   []string
	}{
		{"dhclient.pcap", []string{"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"}},
		{"dhclient.pcapng", []string{"DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"}},
		{"nmap.pcap", []string{"DISCOVER", "OFFER"}},
		{"dhcrelay.pcap", nil},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			t.Parallel()
			recs := decodeJSON(t, requireCapture(t, tt.capture))
			if tt.types != nil {
				var got []string
				for _, r := range recs {
					if r.Fields == nil {
						t.Fatalf("frame %d did not parse: %s%s", r.Frame, r.Error, r.NotDecodable)
					}
					got = append(got, r.MessageType)
				}
				if strings.Join(got, " ") != strings.Join(tt.types, " ") {
					t.Errorf("message types %q, want %q", got, tt.types)
				}
			}
			if tt.capture != "dhcrelay.pcap" {
				return
			}
			relayed := 0
			for _, r := range recs {
				if r.Fields == nil || r.Hops == 0 {
					continue // the client's own unicast release
				}
				relayed++
				if r.GIAddr != "198.18.1.1" {
					t.Errorf("frame %d: giaddr %s, want 198.18.1.1", r.Frame, r.GIAddr)
				}
				found := false
				for _, o := range r.Options {
					if o.Code == 82 && len(o.SubOptions) > 0 && o.SubOptions[0].Name == "circuit-id" && o.SubOptions[0].Value == `"r1"` && o.SubOptions[0].Hex == "7231" {
						found = true
					}
				}
				if !found {
					t.Errorf("frame %d: no option 82 with circuit-id \"r1\": %+v", r.Frame, r.Options)
				}
			}
			if relayed < 4 {
				t.Errorf("%d relayed messages, want the 4 of DISCOVER, OFFER, REQUEST, ACK", relayed)
			}
		})
	}
}

// TestCaptureJSONiPXE checks the PXE options of iPXE's requests in --json.
func TestCaptureJSONiPXE(t *testing.T) {
	t.Parallel()
	recs := decodeJSON(t, requireCapture(t, "ipxe.pcap"))
	requests := 0
	for _, r := range recs {
		if r.Fields == nil {
			t.Fatalf("frame %d did not parse: %s%s", r.Frame, r.Error, r.NotDecodable)
		}
		if r.Op != "BOOTREQUEST" {
			continue
		}
		requests++
		values := map[uint8]string{}
		for _, o := range r.Options {
			values[o.Code] = o.Value
		}
		if values[93] != "0 (x86 BIOS)" || values[77] != `"iPXE"` || values[60] != `"PXEClient:Arch:00000:UNDI:002001"` {
			t.Errorf("frame %d (%s): client arch %q, user class %q, vendor class %q", r.Frame, r.MessageType, values[93], values[77], values[60])
		}
	}
	if requests == 0 {
		t.Error("no request from iPXE")
	}
}
