package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "bootd.yaml")
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestCheckGood(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `
interfaces: [eth0]
lease-time: 2h
options:
  dns-servers: [198.18.0.1, 198.18.0.2]
  domain-search: [example.test]
subnets:
  - subnet: 198.18.0.0/24
    interface: eth0
    server-address: 198.18.0.1
    options: {router: 198.18.0.1, mtu: 1500}
    pools:
      - range: 198.18.0.100-198.18.0.127
      - range: 198.18.0.128/26
        classes: [pxe]
    reservations:
      - {mac: "52:54:00:00:00:01", address: 198.18.0.150}
      - {mac: "52:54:00:00:00:02"}
  - subnet: 198.18.1.0/24
classes:
  - name: pxe
    match: {vendor-class: "PXEClient*"}
    boot-file: ipxe.efi
`)
	code, stdout, stderr := runCLI(t, nil, "check", "--config", file)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	wantContains(t, "stdout", stdout,
		file+": ok\n",
		"interfaces: eth0\n",
		"lease store: /var/lib/bootd\n",
		"subnet 198.18.0.0/24\n  interface: eth0\n  server address: 198.18.0.1\n",
		"  lease time: 2h (min 0s, max 1d)\n",
		"  authoritative: true, bootp: off\n",
		"  pool 198.18.0.100-198.18.0.127: 28 addresses\n",
		"  pool 198.18.0.128/26 (198.18.0.128-198.18.0.191): 63 addresses (1 reserved left out), classes pxe\n",
		"  reservations: 2 (1 with a fixed address)\n",
		"    1 subnet-mask: 255.255.255.0\n",
		"    3 router: 198.18.0.1\n",
		"    6 dns-servers: 198.18.0.1, 198.18.0.2\n",
		"    26 mtu: 1500\n",
		"    119 domain-search: example.test\n",
		"subnet 198.18.1.0/24\n  interface: the one with an address in the subnet, else relayed\n",
		"  no pools\n",
		"classes, in order of precedence:\n  pxe (boot file ipxe.efi)\n",
	)
}

func TestCheckBad(t *testing.T) {
	t.Parallel()
	file := writeConfig(t, `interfaces: [eth0]
subnets:
  - subnet: 198.18.0.5/24
  - subnet: 198.18.1.0/24
    pools:
      - range: 198.18.1.50-198.18.2.10
    options: {mtu: 70000}
`)
	code, stdout, stderr := runCLI(t, nil, "check", "--config", file)
	if code != exitError {
		t.Errorf("exit %d, want %d", code, exitError)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	want := file + `:3:13: subnet "198.18.0.5/24": host bits are set: did you mean 198.18.0.0/24?
` + file + `:6:16: pool 198.18.1.50-198.18.2.10 is outside subnet 198.18.1.0/24
` + file + `:7:20: option mtu: 70000 is out of range 68 to 65535
bootd check: 3 problems
`
	if stderr != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr, want)
	}
}

func TestCheckFailures(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nonexistent.yaml")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr []string
	}{
		{"missing file", []string{"check", "--config", missing}, exitError,
			[]string{"bootd check: open " + missing + ": no such file or directory\n"}},
		{"empty file", []string{"check", "--config", writeConfig(t, "")}, exitError,
			[]string{"bootd.yaml:1:1: empty configuration\n", "bootd check: 1 problem\n"}},
		{"no --config", []string{"check"}, exitUsage,
			[]string{"bootd check: --config is required\n", "usage: bootd check --config FILE\n"}},
		{"argument", []string{"check", "--config", "x.yaml", "y.yaml"}, exitUsage,
			[]string{"bootd check: no arguments expected\n"}},
		{"unknown flag", []string{"check", "--conf", "x.yaml"}, exitUsage,
			[]string{"bootd check: flag provided but not defined: -conf\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, stdout, stderr := runCLI(t, nil, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not contain %q:\n%s", w, stderr)
				}
			}
		})
	}
}

// TestCheckExamples runs check over the examples: they load and print.
func TestCheckExamples(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../../examples/*.yaml")
	if len(files) == 0 {
		t.Fatal("no examples")
	}
	for _, f := range files {
		code, stdout, stderr := runCLI(t, nil, "check", "--config", f)
		if code != exitOK || !strings.HasPrefix(stdout, f+": ok\n") {
			t.Errorf("%s: exit %d\n%s%s", f, code, stdout, stderr)
		}
	}
}
