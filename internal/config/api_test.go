package config

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestAPI(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want *API
	}{
		{"", nil},
		{"api: {}\n", &API{Listen: DefaultAPIListen, Tokens: "/var/lib/bootd/api-tokens.json", AuditLog: "/var/lib/bootd/audit.log"}},
		{"lease-store: {path: /s}\napi: {listen: 127.0.0.2:9000, tokens: /etc/bootd/tokens.json, audit-log: /var/log/bootd/audit.log}\n",
			&API{Listen: netip.MustParseAddrPort("127.0.0.2:9000"), Tokens: "/etc/bootd/tokens.json", AuditLog: "/var/log/bootd/audit.log"}},
		{"lease-store: {path: /s}\napi: {listen: 198.18.0.1:8443, tls: {cert: /c.pem, key: /k.pem}}\n",
			&API{Listen: netip.MustParseAddrPort("198.18.0.1:8443"), TLSCert: "/c.pem", TLSKey: "/k.pem", Tokens: "/s/api-tokens.json", AuditLog: "/s/audit.log"}},
	} {
		c, err := Parse("t.yaml", []byte("interfaces: [eth0]\n"+tc.yaml+"subnets: [{subnet: 198.18.0.0/24}]\n"))
		if err != nil {
			t.Errorf("%s: %v", strings.TrimSpace(tc.yaml), err)
			continue
		}
		if (c.API == nil) != (tc.want == nil) || c.API != nil && *c.API != *tc.want {
			t.Errorf("%s: got %+v, want %+v", strings.TrimSpace(tc.yaml), c.API, tc.want)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"api: {listen: 198.18.0.1:8067}\n", "2:15: api listen 198.18.0.1:8067 is beyond loopback: set api tls cert and key"},
		{"api: {listen: 0.0.0.0:8067}\n", "2:15: api listen 0.0.0.0:8067 is beyond loopback"},
		{"api: {listen: localhost}\n", `2:15: api listen "localhost": want an IPv4 address and a port`},
		{"api: {tls: {cert: /c.pem}}\n", "2:12: api tls needs both cert and key"},
		{"api: {tokens: tokens.json}\n", `2:15: api tokens "tokens.json": want an absolute file path`},
		{"api: {user: admin}\n", "2:7: "},
		{"reservations-file: /var/lib/bootd/\n", `2:20: reservations-file "/var/lib/bootd/": want an absolute file path`},
	} {
		_, err := Parse("t.yaml", []byte("interfaces: [eth0]\n"+tc.yaml+"subnets: [{subnet: 198.18.0.0/24}]\n"))
		if err == nil || !strings.Contains(err.Error(), "t.yaml:"+tc.want) {
			t.Errorf("%s: got %v, want t.yaml:%s", strings.TrimSpace(tc.yaml), err, tc.want)
		}
	}
}

const resvBase = `interfaces: [eth0]
lease-store: {path: /s}
subnets:
  - subnet: 198.18.0.0/24
    pools: [{range: 198.18.0.10-198.18.0.100}]
    reservations:
      - {mac: "02:00:00:00:00:01", address: 198.18.0.5}
  - subnet: 198.18.1.0/24
`

func parseResv(t *testing.T, resv string) (*Config, error) {
	t.Helper()
	return ParseWith("main.yaml", []byte(resvBase), func(file string) ([]byte, error) {
		if file != "/s/reservations.yaml" {
			t.Errorf("reservations file %s, want /s/reservations.yaml", file)
		}
		if resv == "" {
			return nil, nil
		}
		return []byte(resv), nil
	})
}

func TestReservationsFile(t *testing.T) {
	c, err := parseResv(t, `reservations:
  - {mac: "02:00:00:00:00:02", address: 198.18.0.20, hostname: web2}
  - {subnet: 198.18.1.0/24, client-id: "01:02:00:00:00:00:03", boot-file: ipxe.efi}
`)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := c.Subnets[0], c.Subnets[1]
	if len(s0.Reservations) != 2 || len(s1.Reservations) != 1 {
		t.Fatalf("reservations %d and %d, want 2 and 1", len(s0.Reservations), len(s1.Reservations))
	}
	r := s0.Reservations[1]
	if r.File != "/s/reservations.yaml" || r.Pos != (Pos{2, 5}) || r.Hostname != "web2" || r.Address != netip.MustParseAddr("198.18.0.20") {
		t.Errorf("reservation %+v", r)
	}
	if s0.Reservations[0].File != "" {
		t.Errorf("the config file's reservation has file %q", s0.Reservations[0].File)
	}
	// The reserved address leaves the pool, as one in the config file does.
	if ex := s0.Pools[0].Excluded; len(ex) != 1 || ex[0] != netip.MustParseAddr("198.18.0.20") {
		t.Errorf("pool excludes %v", ex)
	}
	if a, ok := c.ReservedAddress([]byte{2, 0, 0, 0, 0, 2}); !ok || a != netip.MustParseAddr("198.18.0.20") {
		t.Errorf("ReservedAddress = %v %v", a, ok)
	}
	if s1.Reservations[0].IDKind != ByClientID || s1.Reservations[0].Own.BootFile != "ipxe.efi" {
		t.Errorf("second reservation %+v", s1.Reservations[0])
	}

	// No file, or an empty one: no reservations added.
	for _, resv := range []string{"", "\n", "reservations: []\n"} {
		c, err := parseResv(t, resv)
		if err != nil || len(c.Subnets[0].Reservations) != 1 {
			t.Errorf("%q: %v", resv, err)
		}
	}
	// Parse reads no reservations file.
	if c, err := Parse("main.yaml", []byte(resvBase)); err != nil || c.ReservationsFile != "/s/reservations.yaml" {
		t.Errorf("Parse: %v", err)
	}
}

func TestReservationsFileErrors(t *testing.T) {
	for _, tc := range []struct{ resv, want string }{
		{"reservations:\n  - {mac: \"02:00:00:00:00:01\", address: 198.18.0.30}\n",
			"/s/reservations.yaml:2:6: mac 02:00:00:00:00:01 is already reserved in subnet 198.18.0.0/24 (line 7)"},
		{"reservations:\n  - {mac: \"02:00:00:00:00:09\", address: 198.18.0.5}\n",
			"/s/reservations.yaml:2:41: address 198.18.0.5 is reserved twice (first at line 7)"},
		{"reservations:\n  - {mac: \"02:00:00:00:00:09\", address: 198.18.9.5}\n",
			"/s/reservations.yaml:2:41: address 198.18.9.5 is in no configured subnet"},
		{"reservations:\n  - {mac: \"02:00:00:00:00:09\"}\n",
			"/s/reservations.yaml:2:5: reservation needs a subnet, or an address inside a configured subnet"},
		{"reservations:\n  - {subnet: 198.18.7.0/24, mac: \"02:00:00:00:00:09\"}\n",
			"/s/reservations.yaml:2:14: subnet 198.18.7.0/24 is not in the configuration"},
		{"reservations:\n  - {subnet: 198.18.1.0/24, mac: \"02:00:00:00:00:09\", address: 198.18.0.7}\n",
			"/s/reservations.yaml:2:64: reservation address 198.18.0.7 is outside subnet 198.18.1.0/24"},
		{"reservations:\n  - {mac: \"02:00:00:00:00:09\", address: 198.18.0.7, colour: red}\n",
			"/s/reservations.yaml:2:53: unknown key \"colour\" in reservation"},
		{"reservations: {mac: x}\n", "/s/reservations.yaml:1:15: "},
		{"hosts: []\n", "/s/reservations.yaml:1:1: "},
		{"reservations: [\n", "/s/reservations.yaml:"},
	} {
		_, err := parseResv(t, tc.resv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %s", tc.resv, err, tc.want)
		}
		for _, e := range Errors(err) {
			if e.File != "/s/reservations.yaml" {
				t.Errorf("%q: error in %s: %v", tc.resv, e.File, e)
			}
		}
	}
	// A read error is reported as such.
	boom := errors.New("boom")
	_, err := ParseWith("main.yaml", []byte(resvBase), func(string) ([]byte, error) { return nil, boom })
	if !errors.Is(err, boom) {
		t.Errorf("read error: got %v", err)
	}
}
