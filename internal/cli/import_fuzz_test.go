package cli

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"bootd/internal/lease"
)

// FuzzImport checks that no input makes the importer panic, and that what
// it accepts is exported and read back as the same leases, in both formats.
func FuzzImport(f *testing.F) {
	header := strings.Join(csvHeader, ",") + "\n"
	f.Add(true, []byte(header+"198.18.0.9,bound,02:00:00:00:00:09,01:02,\"a, \"\"b\"\"\",2026-11-23T07:00:00Z,,198.18.0.0/24,,65:30,ff,1\n"))
	f.Add(true, []byte(header+"198.18.0.9,offered,,,\"x\ny\",2026-11-23T07:00:00.5+02:00,2026-11-23T08:00:00Z,,55:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01,,,0\n"))
	f.Add(false, []byte(`{"address":"198.18.0.9","state":"bound","htype":1,"hwaddr":"02:00:00:00:00:09","hostname":"a, \"b\"","start":"2026-11-23T07:00:00Z","subnet":"198.18.0.0/24"}`+"\n"))
	f.Add(false, []byte(`{"address":"198.18.0.10","state":"declined","htype":1,"client_id":"01:02","start":"2026-11-23T07:00:00Z","expires":"2026-11-24T07:00:00Z","uuid":"55:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01","circuit_id":"00","remote_id":"ff:ff"}`+"\n"))
	f.Add(true, []byte(header+"198.18.0.9,bound,,,\xff\xfe,2026-11-23T07:00:00Z,,,,,,1\n"))
	f.Fuzz(func(t *testing.T, csvFormat bool, data []byte) {
		format := "json"
		if csvFormat {
			format = "csv"
		}
		list, err := readLeases(bytes.NewReader(data), "f", format)
		if err != nil {
			return
		}
		for _, out := range []string{"json", "csv"} {
			if out == "json" && slices.ContainsFunc(list, func(l lease.Lease) bool { return !utf8.ValidString(l.Hostname) }) {
				continue // JSON text is UTF-8: such names come out with U+FFFD (documented)
			}
			var buf bytes.Buffer
			if err := writeLeases(&buf, out, list); err != nil {
				t.Fatalf("export %s: %v", out, err)
			}
			again, err := readLeases(&buf, "f", out)
			if err != nil {
				t.Fatalf("export %s does not read back: %v\n%s", out, err, buf.String())
			}
			if len(again) != len(list) {
				t.Fatalf("export %s: %d leases read back, want %d", out, len(again), len(list))
			}
			for i := range list {
				if !again[i].Equal(&list[i]) || again[i].Subnet != list[i].Subnet {
					t.Fatalf("export %s: lease %d read back as\n%+v\nwant\n%+v", out, i, again[i], list[i])
				}
			}
		}
	})
}
