package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Golden outputs of decode for the real captures: for each input file F
// (testdata/pcap/* and ../dhcpv4/testdata/captures/*.hex),
// testdata/decode/F.txt holds the text output and testdata/decode/F.jsonl
// the --json output. Refresh them with
//
//	go test ./internal/cli -run Golden -update
//
// and review the diff against tcpdump -r F -vvv -n before committing.

var update = flag.Bool("update", false, "rewrite the golden files in testdata/decode")

const goldenDir = "testdata/decode"

func goldenInputs(t *testing.T) []string {
	t.Helper()
	var inputs []string
	for _, pattern := range []string{"testdata/pcap/*", "../dhcpv4/testdata/captures/*.hex"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, m...)
	}
	slices.Sort(inputs)
	return inputs
}

var summaryRE = regexp.MustCompile(`^(\d+) messages, (\d+) malformed, (\d+) other packets(?:, (\d+) not decodable)?\n$`)

func TestGolden(t *testing.T) {
	t.Parallel()
	inputs := goldenInputs(t)
	if len(inputs) == 0 {
		t.Fatal("no captures in testdata/pcap or ../dhcpv4/testdata/captures")
	}
	for _, in := range inputs {
		name := filepath.Base(in)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			code, text, stderr := runCLI(t, nil, "decode", in)
			if code != exitOK {
				t.Fatalf("decode %s: exit %d, stderr:\n%s", in, code, stderr)
			}
			m := summaryRE.FindStringSubmatch(stderr)
			if m == nil {
				t.Fatalf("decode %s: stderr %q is not one summary line", in, stderr)
			}
			reported := 0
			for _, i := range []int{1, 2, 4} {
				n, _ := strconv.Atoi(m[i])
				reported += n
			}
			if reported == 0 {
				t.Errorf("decode %s: no BOOTP/DHCP message in a golden capture", in)
			}
			code, jsonl, _ := runCLI(t, nil, "decode", "--json", in)
			if code != exitOK {
				t.Fatalf("decode --json %s: exit %d", in, code)
			}
			checkJSONLines(t, jsonl, reported)
			if got := len(regexp.MustCompile(`(?m)^frame \d+`).FindAllString(text, -1)); got != reported {
				t.Errorf("text output has %d frames, the summary says %d", got, reported)
			}
			compareGolden(t, filepath.Join(goldenDir, name+".txt"), text)
			compareGolden(t, filepath.Join(goldenDir, name+".jsonl"), jsonl)
		})
	}
}

// TestGoldenOrphans fails for a golden file whose input is gone.
func TestGoldenOrphans(t *testing.T) {
	t.Parallel()
	have := map[string]bool{}
	for _, in := range goldenInputs(t) {
		have[filepath.Base(in)] = true
	}
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*"))
	for _, f := range files {
		base := filepath.Base(f)
		in := strings.TrimSuffix(strings.TrimSuffix(base, ".txt"), ".jsonl")
		if in == base || !have[in] {
			t.Errorf("%s: no input %s for this golden file; delete it", f, in)
		}
	}
}

// checkJSONLines checks that every line is one JSON object describing a
// message (with a message type or marked BOOTP), a malformed one or one
// not decodable.
func checkJSONLines(t *testing.T, out string, want int) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != want {
		t.Errorf("--json: %d lines, the summary says %d messages", len(lines), want)
	}
	for i, l := range lines {
		var r struct {
			Frame        int    `json:"frame"`
			Op           string `json:"op"`
			MessageType  string `json:"message_type"`
			BOOTP        bool   `json:"bootp"`
			Error        string `json:"error"`
			NotDecodable string `json:"not_decodable"`
			Options      []struct {
				Code  *int    `json:"code"`
				Name  string  `json:"name"`
				Value *string `json:"value"`
				Hex   *string `json:"hex"`
			} `json:"options"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Errorf("--json line %d: %v: %s", i+1, err, l)
			continue
		}
		switch {
		case r.Frame <= 0:
			t.Errorf("--json line %d: no frame number: %s", i+1, l)
		case r.Error != "" || r.NotDecodable != "":
			if r.Op != "" {
				t.Errorf("--json line %d: header fields in a message that did not parse: %s", i+1, l)
			}
		case r.Op == "" || r.MessageType == "" && !r.BOOTP:
			t.Errorf("--json line %d: no op or message type: %s", i+1, l)
		}
		for _, o := range r.Options {
			if o.Code == nil || o.Name == "" || o.Value == nil || o.Hex == nil {
				t.Errorf("--json line %d: option without code, name, value or hex: %s", i+1, l)
			}
		}
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run Golden -update, and review the result)", err)
	}
	if got == string(want) {
		return
	}
	gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		g, w := line(gl, i), line(wl, i)
		if g != w {
			t.Errorf("%s: output differs at line %d:\n got: %s\nwant: %s\n(run go test ./internal/cli -run Golden -update if the change is right)", path, i+1, g, w)
			return
		}
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return strconv.Quote(lines[i])
	}
	return "(end of output)"
}
