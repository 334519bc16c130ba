package cli

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/lease/leasetest"
	"bootd/internal/server"
)

// variedStore returns a stopped store whose leases use every field in
// every form the text forms must carry.
func variedStore(t *testing.T) (string, map[netip.Addr]lease.Lease) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "leases")
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 7, 30, 0, 123456789, time.UTC)
	ls := []lease.Lease{
		{Addr: netip.MustParseAddr("198.18.0.1"), State: lease.Bound, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 1},
			ClientID: []byte{1, 2, 0, 0, 0, 0, 1}, Hostname: `comma, "quoted" host`, Start: start, Expires: start.Add(12 * time.Hour),
			Subnet: netip.MustParsePrefix("198.18.0.0/24")},
		{Addr: netip.MustParseAddr("198.18.0.2"), State: lease.Bound, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 2},
			Hostname: "bootp\nline two", Start: start}, // never expires, no subnet
		{Addr: netip.MustParseAddr("198.18.1.3"), State: lease.Offered, HWType: 32, HWAddr: make([]byte, 16),
			ClientID: []byte("\xff\x00\x01text id,\"x\""), Start: start, Expires: start.Add(time.Minute),
			UUID: [16]byte{0x55, 1, 2, 3, 15: 0xee}, CircuitID: []byte("eth0/1/7"), RemoteID: []byte{0, 0xff, ':', ','},
			Subnet: netip.MustParsePrefix("198.18.1.0/24")},
		{Addr: netip.MustParseAddr("198.18.0.4"), State: lease.Declined, Start: start, Expires: start.Add(24 * time.Hour)},
		{Addr: netip.MustParseAddr("198.18.0.5"), State: lease.Released, HWType: 1, HWAddr: []byte{2, 0, 0, 0, 0, 5},
			Hostname: "' ; DROP", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Expires: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	for i := range uint32(40) {
		ls = append(ls, leasetest.MakeLease(i))
	}
	want := map[netip.Addr]lease.Lease{}
	for i := range ls {
		if err := s.Put(t.Context(), &ls[i]); err != nil {
			t.Fatal(err)
		}
		want[ls[i].Addr] = ls[i]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, want
}

func TestExportImportRoundTrip(t *testing.T) {
	src, want := variedStore(t)
	for _, format := range []string{"json", "csv"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "leases."+format)
			code, _, errOut := runCLI(t, nil, "export", "--format", format, "--store", src, file)
			if code != exitOK {
				t.Fatalf("export: exit %d: %s", code, errOut)
			}
			// To standard output, the same bytes.
			code, stdout, errOut := runCLI(t, nil, "export", "--format", format, "--store", src)
			if b, _ := os.ReadFile(file); code != exitOK || stdout != string(b) {
				t.Errorf("export to stdout: exit %d, %s; differs from the file:\n%s", code, errOut, stdout)
			}
			if format == "csv" && !strings.HasPrefix(stdout, "address,state,mac,client_id,hostname,start,expires,subnet,uuid,circuit_id,remote_id,htype\n") {
				t.Errorf("csv header: %q", strings.SplitN(stdout, "\n", 2)[0])
			}
			if format == "json" && strings.Count(stdout, "\n") != len(want) {
				t.Errorf("json: %d lines for %d leases", strings.Count(stdout, "\n"), len(want))
			}

			dst := filepath.Join(t.TempDir(), "empty")
			code, stdout, errOut = runCLI(t, nil, "import", "--format", format, "--store", dst, file)
			if code != exitOK || !strings.Contains(stdout, "45 leases imported") {
				t.Fatalf("import: exit %d: %s%s", code, stdout, errOut)
			}
			s, err := journal.Open(t.Context(), dst, journal.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			leasetest.CheckContents(t, s, want)
		})
	}
}

func TestImportBadRows(t *testing.T) {
	header := strings.Join(csvHeader, ",") + "\n"
	good := "198.18.0.9,bound,02:00:00:00:00:09,,h9,2026-11-23T07:00:00Z,,198.18.0.0/24,,,,1\n"
	for _, tc := range []struct {
		name, format, text string
		want               []string
	}{
		{"csv", "csv", header + good +
			"198.18.0.10,happy,02:00:00:00:00:0a,,h,2026-11-23T07:00:00Z,,,,,,1\n" +
			"\"198.18.0.11\",bound,0200,,\"multi\nline\",yesterday,,,,,,1\n" +
			"198.18.0.9,bound,,,,2026-11-23T07:00:00Z,,,,,,1\n" +
			"::1,bound,,,,2026-11-23T07:00:00Z,,,01:02,,,300\n" +
			"198.18.0.12,bound\n",
			[]string{
				`f:3: state: unknown lease state "happy"`,
				`f:4: mac: "0200": want bytes as two hex digits separated by colons (byte 1); start: parsing time "yesterday"`,
				"f:6: address 198.18.0.9 is already on line 2",
				`f:7: uuid: "01:02": want 16 bytes; htype: "300": want a number from 0 to 255`,
				"f:8: 2 columns, want 12",
			}},
		{"csv header", "csv", "address,state\n" + good, []string{`f:1: header "address,state", want "address,state,mac,`}},
		{"csv syntax", "csv", header + "198.18.0.9,\"bound\n", []string{"f:2:"}},
		{"json", "json", `{"address":"198.18.0.9","state":"bound","htype":1,"start":"2026-11-23T07:00:00Z"}` + "\n\n" +
			`{"address":"198.18.0.10","state":"bound","htype":1,"hwaddr":"zz","start":"2026-11-23T07:00:00Z"}` + "\n" +
			`{"address":"198.18.0.11",` + "\n" +
			`{"state":"bound","start":"2026-11-23T07:00:00Z"}` + "\n" +
			`{"address":"198.18.0.12","state":"bound","htype":1,"hostname":"` + strings.Repeat("x", 17000) + `","start":"2026-11-23T07:00:00Z"}` + "\n",
			[]string{
				"f:3: hwaddr: \"zz\": encoding/hex: invalid byte",
				"f:4: unexpected end of JSON input",
				"f:5: no address",
				"f:6: lease 198.18.0.12: encoding is ",
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, ls := stoppedStore(t)
			file := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(file, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			code, _, errOut := runCLI(t, nil, "import", "--format", tc.format, "--store", dir, file)
			if code != exitError {
				t.Errorf("exit %d, want %d: %s", code, exitError, errOut)
			}
			errOut = strings.ReplaceAll(errOut, file, "f")
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if !strings.Contains(errOut, "nothing imported") {
				t.Errorf("stderr does not say nothing was imported:\n%s", errOut)
			}
			got := storeLeases(t, dir)
			want := map[netip.Addr]lease.Lease{}
			for _, l := range ls {
				want[l.Addr] = l
			}
			leasetestEqual(t, "store after a refused import", got, want)
		})
	}
}

func TestImportRefused(t *testing.T) {
	src, _ := variedStore(t)
	file := filepath.Join(t.TempDir(), "leases.json")
	if code, _, errOut := runCLI(t, nil, "export", "--store", src, file); code != exitOK {
		t.Fatalf("export: %s", errOut)
	}
	dir, ls := stoppedStore(t)
	s, err := journal.Open(t.Context(), dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI(t, nil, "import", "--store", dir, file)
	if code != exitError || !strings.Contains(errOut, "held by another process") {
		t.Errorf("import into a locked store: exit %d, stderr %q", code, errOut)
	}
	if n := len(leasetest.LoadAll(t, s)); n != len(ls) {
		t.Errorf("locked store holds %d leases, want %d", n, len(ls))
	}
	s.Close()
	ln, err := net.Listen("unix", filepath.Join(dir, server.ControlSocket))
	if err != nil {
		t.Fatal(err)
	}
	code, _, errOut = runCLI(t, nil, "import", "--store", dir, file)
	ln.Close()
	if code != exitError || !strings.Contains(errOut, "a server is running on lease store") {
		t.Errorf("import under a running server: exit %d, stderr %q", code, errOut)
	}
	if n := len(storeLeases(t, dir)); n != len(ls) {
		t.Errorf("store holds %d leases after refused imports, want %d", n, len(ls))
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--store", dir}, "want one input file"},
		{[]string{"import", "--format", "xml", "--store", dir, file}, `--format "xml": json or csv`},
		{[]string{"export", "--format", "xml", "--store", dir}, `--format "xml": json or csv`},
		{[]string{"export", "--store", dir, "a", "b"}, "want at most one output file"},
	} {
		if code, _, errOut := runCLI(t, nil, tc.args...); code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}
}
