package config

import (
	"strings"
	"testing"
)

// y turns an indented raw string into YAML: the first line is dropped and
// tabs become two spaces, so that test configurations can be indented
// with the code.
func y(s string) string {
	s = strings.TrimPrefix(s, "\n")
	return strings.ReplaceAll(s, "\t", "  ")
}

// TestParseErrors checks every problem Parse reports, with its position.
func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // whole messages, after "t.yaml:"
	}{
		{"empty file", "", []string{"1:1: empty configuration"}},
		{"only comments", "# nothing\n", []string{"1:1: empty configuration"}},
		{"null document", "---\n", []string{"1:1: empty configuration"}},
		{"two documents", "interfaces: [eth0]\n---\na: 1\n", []string{"2:1: more than one YAML document: a configuration is one document"}},
		{"syntax error with line", "interfaces: [eth0\nsubnets: []\n", []string{"1:1: YAML syntax: did not find expected ',' or ']'"}},
		{"syntax error without line", "interfaces: [eth0]\nsubnets:\n  - subnet: a: b\n", []string{"3:3: YAML syntax: mapping values are not allowed in this context"}},
		{"tab indentation", "interfaces: [eth0]\n\tsubnets: []\n", []string{"2:1: YAML syntax: found character that cannot start any token"}},
		{"not a mapping", "- a\n- b\n", []string{"1:1: configuration must be a mapping, not a list"}},
		{"alias cycle", "interfaces: &a [eth0, *a]\n", []string{"1:23: alias *a refers to a node that contains it"}},
		{"merge key", y(`
interfaces: [eth0]
base: &b {mtu: 1500}
options:
	<<: *b
`), []string{"2:1: unknown key \"base\" in configuration", "4:3: merge keys (<<) are not supported; use an alias (*name) for the whole value"}},
		{"unknown key", y(`
interfaces: [eth0]
lease-tme: 1h
subnets: [{subnet: 198.18.0.0/24}]
`), []string{`2:1: unknown key "lease-tme" in configuration (did you mean "lease-time"?)`}},
		{"unknown subnet key", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  pool: []
`), []string{`4:5: unknown key "pool" in subnet (did you mean "pools"?)`}},
		{"duplicate key", y(`
interfaces: [eth0]
subnets: [{subnet: 198.18.0.0/24}]
interfaces: [eth1]
`), []string{`3:1: duplicate key "interfaces" in configuration (first at line 1, column 1)`}},
		{"wrong type", y(`
interfaces: eth0
subnets: {subnet: 198.18.0.0/24}
`), []string{`1:13: interfaces must be a list, not "eth0"`, "2:10: subnets must be a list, not a mapping"}},
		{"missing interfaces", "subnets: [{subnet: 198.18.0.0/24}]\n", []string{"1:1: interfaces is required: list the interfaces to serve on"}},
		{"empty interfaces", "interfaces: []\nsubnets: [{subnet: 198.18.0.0/24}]\n", []string{"1:13: interfaces is empty: list the interfaces to serve on"}},
		{"bad interface name", "interfaces: [eth0, \"a/b\", eth0]\nsubnets: [{subnet: 198.18.0.0/24}]\n",
			[]string{`1:20: interfaces: "a/b" is not an interface name`, "1:27: interface eth0 is listed twice"}},
		{"no subnets", "interfaces: [eth0]\n", []string{"1:1: no subnets: bootd would serve nothing"}},
		{"bad durations", y(`
interfaces: [eth0]
lease-time: 12x
offer-hold: infinite
decline-quarantine: 0s
renew-time: 99999999999999999999s
subnets: [{subnet: 198.18.0.0/24}]
`), []string{
			`2:13: lease-time: bad duration "12x": unknown unit "x" (use s, m, h, d or infinite)`,
			"3:13: offer-hold cannot be infinite",
			"4:21: decline-quarantine must be longer than 0s",
			`5:13: renew-time: bad duration "99999999999999999999s": too long: the longest finite time is 4294967294s; use infinite`,
		}},
		{"lease time bounds", y(`
interfaces: [eth0]
lease-time: {default: 1h, min: 2h, max: 30m}
subnets: [{subnet: 198.18.0.0/24}]
`), []string{
			"2:32: lease-time min 2h is longer than the default 1h",
			"2:41: lease-time default 1h is longer than the max 30m",
		}},
		{"lease time max in subnet", y(`
interfaces: [eth0]
lease-time: 2h
subnets:
	- subnet: 198.18.0.0/24
	  lease-time: {max: 1h}
`), []string{"5:23: lease-time default 2h is longer than the max 1h"}},
		{"renew not before rebind", y(`
interfaces: [eth0]
lease-time: 1h
renew-time: 40m
rebind-time: 30m
subnets: [{subnet: 198.18.0.0/24}]
`), []string{"3:13: renew-time 40m is not shorter than rebind-time 30m"}},
		{"rebind not before lease", y(`
interfaces: [eth0]
lease-time: 1h
subnets:
	- subnet: 198.18.0.0/24
	  pools:
	    - range: 198.18.0.10-198.18.0.20
	      rebind-time: 1h
`), []string{"7:22: rebind-time 1h is not shorter than the lease time 1h"}},
		{"renew after default rebind", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  lease-time: 1h
	  renew-time: 55m
`), []string{"5:17: renew-time 55m is not shorter than the rebind time 52m30s (7/8 of the lease time 1h)"}},
		{"inherited renew breaks a shorter lease", y(`
interfaces: [eth0]
renew-time: 30m
subnets:
	- subnet: 198.18.0.0/24
	  lease-time: 20m
`), []string{"5:17: renew-time 30m is not shorter than the rebind time 17m30s (7/8 of the lease time 20m)"}},
		{"bootp value", y(`
interfaces: [eth0]
bootp: yes
subnets: [{subnet: 198.18.0.0/24, bootp: dynamik}]
`), []string{`2:8: bootp must be off, reservations or dynamic, not "yes"`, `3:42: bootp must be off, reservations or dynamic, not "dynamik"`}},
		{"authoritative type", "interfaces: [eth0]\nauthoritative: 1\nsubnets: [{subnet: 198.18.0.0/24}]\n",
			[]string{"2:16: authoritative must be true or false, not the number 1"}},
		{"relative lease store", "interfaces: [eth0]\nlease-store: {path: leases}\nsubnets: [{subnet: 198.18.0.0/24}]\n",
			[]string{`2:21: lease-store path "leases" must be absolute`}},
		{"subnet not masked", "interfaces: [eth0]\nsubnets:\n  - subnet: 198.18.0.5/24\n",
			[]string{`3:13: subnet "198.18.0.5/24": host bits are set: did you mean 198.18.0.0/24?`}},
		{"subnet not IPv4", "interfaces: [eth0]\nsubnets:\n  - subnet: 2001:db8::/64\n  - subnet: 198.18.0.0\n",
			[]string{`3:13: subnet "2001:db8::/64": not an IPv4 prefix`, `4:13: subnet "198.18.0.0": not a prefix (like 198.18.0.0/24)`}},
		{"subnet missing", "interfaces: [eth0]\nsubnets:\n  - interface: eth0\n",
			[]string{"3:5: subnet needs a subnet: prefix (like 198.18.0.0/24)"}},
		{"overlapping subnets", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/16
	- subnet: 198.18.4.0/24
	- subnet: 198.18.200.0/24
	- subnet: 198.19.0.0/24
`), []string{
			"4:13: subnet 198.18.4.0/24 overlaps subnet 198.18.0.0/16 (line 3)",
			"5:13: subnet 198.18.200.0/24 overlaps subnet 198.18.0.0/16 (line 3)",
		}},
		{"subnet interface not served", "interfaces: [eth0]\nsubnets:\n  - subnet: 198.18.0.0/24\n    interface: eth9\n",
			[]string{"4:16: interface eth9 is not in interfaces"}},
		{"server address", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  server-address: 198.18.1.1
	- subnet: 198.18.1.0/24
	  server-address: 198.18.1.255
	- subnet: 198.18.2.0/24
	  server-address: 198.18.2.50
	  pools: [{range: 198.18.2.10-198.18.2.100}]
`), []string{
			"4:21: server-address 198.18.1.1 is outside subnet 198.18.0.0/24",
			"6:21: server-address 198.18.1.255 is the network or broadcast address of subnet 198.18.1.0/24",
			"9:21: pool 198.18.2.10-198.18.2.100 contains the server-address 198.18.2.50",
		}},
		{"pool outside subnet", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  pools:
	    - range: 198.18.0.50-198.18.1.10
	    - range: 198.18.0.0/23
	    - range: 198.18.1.0/25
`), []string{
			"5:16: pool 198.18.0.50-198.18.1.10 is outside subnet 198.18.0.0/24",
			"6:16: pool 198.18.0.0/23 is outside subnet 198.18.0.0/24",
			"7:16: pool 198.18.1.0/25 is outside subnet 198.18.0.0/24",
		}},
		{"pool network and broadcast", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  pools:
	    - range: 198.18.0.0-198.18.0.10
	    - range: 198.18.0.250-198.18.0.255
	    - range: 198.18.0.20 - 198.18.0.10
	    - range: 198.18.0.20-198.18.0.x
	    - range: 198.18.0.64/26x
`), []string{
			"5:16: pool 198.18.0.0-198.18.0.10 includes 198.18.0.0, the network address of subnet 198.18.0.0/24",
			"6:16: pool 198.18.0.250-198.18.0.255 includes 198.18.0.255, the broadcast address of subnet 198.18.0.0/24",
			"7:16: pool 198.18.0.20 - 198.18.0.10: the first address is after the last",
			`8:16: pool 198.18.0.20-198.18.0.x: "198.18.0.x" is not an IP address`,
			`9:16: pool "198.18.0.64/26x": not a prefix (like 198.18.0.0/24) (a pool is FIRST-LAST or a prefix)`,
		}},
		{"overlapping pools", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  pools:
	    - range: 198.18.0.10-198.18.0.100
	    - range: 198.18.0.64/26
	    - range: 198.18.0.100-198.18.0.110
`), []string{
			"6:16: pool 198.18.0.64/26 overlaps pool 198.18.0.10-198.18.0.100 (line 5)",
			"7:16: pool 198.18.0.100-198.18.0.110 overlaps pool 198.18.0.64/26 (line 6)",
		}},
		{"overlapping pools across subnets", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  pools: [{range: 198.18.0.10-198.18.0.100}]
	- subnet: 198.18.0.0/23
	  pools: [{range: 198.18.0.50-198.18.0.60}]
`), []string{
			"5:13: subnet 198.18.0.0/23 overlaps subnet 198.18.0.0/24 (line 3)",
			"6:21: pool 198.18.0.50-198.18.0.60 overlaps pool 198.18.0.10-198.18.0.100 (line 4)",
		}},
		{"pool needs range", "interfaces: [eth0]\nsubnets:\n  - subnet: 198.18.0.0/24\n    pools: [{classes: []}]\n",
			[]string{"4:13: pool needs a range (like 198.18.0.100-198.18.0.200 or 198.18.0.128/25)"}},
		{"unknown class", y(`
interfaces: [eth0]
classes:
	- name: pxe
	  match: {vendor-class: "PXEClient*"}
subnets:
	- subnet: 198.18.0.0/24
	  pools: [{range: 198.18.0.10-198.18.0.20, classes: [pxe, ipxe]}]
`), []string{`7:61: unknown class "ipxe"`}},
		{"reservations", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  server-address: 198.18.0.1
	  reservations:
	    - {mac: "52:54:00:12:34:56", address: 198.18.1.10}
	    - {mac: "52:54:00:12:34:57", address: 198.18.0.10}
	    - {mac: "52:54:00:12:34:58", address: 198.18.0.10}
	    - {mac: "52:54:00:12:34:56"}
	    - {client-id: "01:52:54:00:12:34:56", mac: "52:54:00:00:00:01"}
	    - {address: 198.18.0.20}
	    - {mac: "52:54:00:12:34", address: 198.18.0.1}
	    - {circuit-id: r1}
	    - {circuit-id: {hex: "72:31"}}
	    - {client-id: {text: host1}}
	    - {client-id: "00:68:6f:73:74:31"}
	    - {client-id: "01", address: 198.18.0.255}
`), []string{
			"6:45: reservation address 198.18.1.10 is outside subnet 198.18.0.0/24",
			"8:45: address 198.18.0.10 is reserved twice (first at line 7)",
			"9:10: mac 52:54:00:12:34:56 is already reserved in subnet 198.18.0.0/24 (line 6)",
			"10:45: reservation has both client-id and mac: give exactly one identifier",
			"11:9: reservation needs one of mac, client-id, circuit-id or remote-id",
			`12:15: mac "52:54:00:12:34": 5 bytes, want 6`,
			"12:42: reservation address 198.18.0.1 is the server's address",
			`14:10: circuit-id "r1" is already reserved in subnet 198.18.0.0/24 (line 13)`,
			`16:10: client-id type 0 "host1" is already reserved in subnet 198.18.0.0/24 (line 15)`,
			`17:21: client-id "01": 1 bytes; a client identifier is a type byte and at least one more`,
			"17:36: reservation address 198.18.0.255 is the network or broadcast address of subnet 198.18.0.0/24",
		}},
		{"hostname", y(`
interfaces: [eth0]
subnets:
	- subnet: 198.18.0.0/24
	  reservations:
	    - {mac: "52:54:00:12:34:56", hostname: "bad_name"}
	    - {mac: "52:54:00:12:34:57", hostname: ok, options: {host-name: other}}
`), []string{
			`5:46: hostname "bad_name": only letters, digits and hyphens are allowed`,
			"6:46: hostname and option host-name are both set",
		}},
		{"options", y(`
interfaces: [eth0]
options:
	router: hello
	mtu: 70000
	dns-servers: []
	domain-name: ""
	ip-forwarding: 1
	routr: 198.18.0.1
	lease-time: 1h
	server-id: 198.18.0.1
	"3": 198.18.0.1
	"224": x
	"225": {type: strin, value: x}
	"226": {type: hex, value: "0g"}
	"300": {type: hex, value: "00"}
	classless-static-routes: ["198.18.4.1/24 via 198.18.0.1", "198.18.5.0/24"]
	default-ip-ttl: 256
	time-offset: -3600
	domain-search: ["a..b"]
	client-arch: [1, 70000]
	policy-filter: "198.18.0.0"
	rapid-commit: true
	client-uuid: "00:01"
	subnet-mask: [255.255.255.0, 255.255.0.0]
subnets: [{subnet: 198.18.0.0/24}]
`), []string{
			`3:11: option router: "hello" is not an IP address`,
			"4:8: option mtu: 70000 is out of range 68 to 65535",
			"5:16: option dns-servers: needs an address",
			"6:16: option domain-name: empty text (RFC 2132 text options are at least one byte)",
			"7:18: option ip-forwarding must be true or false, not the number 1",
			`8:3: unknown option "routr" (did you mean "router"?)`,
			"9:3: option lease-time (51) is set with lease-time",
			"10:3: option server-id (54) is set with server-address",
			"11:3: option router (3) is set twice (first at line 3, column 3)",
			"12:10: option 224 is not in the option table: give its format as {type: ..., value: ...}",
			`13:17: option option-225: unknown type "strin" (one of addr, addrs, uint8, uint16, uint32, int32, bool, string, hex, seconds, domain-list, routes)`,
			`14:29: option option-226: "0g": not hex bytes (like 01:02:0a) (this option is given as hex bytes)`,
			"15:3: option code 300 is out of range 1 to 254",
			`16:29: option classless-static-routes: route "198.18.4.1/24 via 198.18.0.1": destination host bits are set: did you mean 198.18.4.0/24?`,
			"17:19: option default-ip-ttl: 256 is out of range 0 to 255",
			`19:19: option domain-search: domain name "a..b": empty label`,
			"20:20: option client-arch: 70000 is out of range 0 to 65535",
			`21:18: option policy-filter: "198.18.0.0": want two addresses ("198.18.4.0 198.18.0.1")`,
			"22:3: option rapid-commit (80) is written by clients, relays or bootd itself, not configured",
			`23:16: option client-uuid: "00:01" is not a valid value: length 2, want 17`,
			"24:16: option subnet-mask: takes one address, not a list",
		}},
		{"classes", y(`
interfaces: [eth0]
classes:
	- name: a
	  match: {vendor-class: x}
	- name: a
	  match: {}
	- match: {client-arch: [x], mac-prefix: "zz", option: {value: y}}
	- name: c
	- name: d
	  match: {any: [{nonsense: 1}], not: [], circuit-id: {hex: "1"}, option: {code: 0}}
subnets: [{subnet: 198.18.0.0/24}]
`), []string{
			`5:11: duplicate class name "a" (first at line 3)`,
			"6:12: match is empty: give at least one condition",
			"7:5: class needs a name",
			`7:27: client-arch must be a number, not "x"`,
			`7:43: mac-prefix "zz": not hex bytes (like 01:02:0a)`,
			"7:57: option match needs a code",
			"8:5: class c needs a match",
			`10:20: unknown key "nonsense" in match`,
			"10:40: match must be a mapping, not a list",
			`10:62: circuit-id: "1": odd number of hex digits`,
			"10:83: option match code 0 is not an option",
		}},
		{"shared networks", y(`
interfaces: [eth0, eth1]
shared-networks:
	- name: floor1
	  interface: eth1
	  subnets:
	    - subnet: 198.18.0.0/24
	      interface: eth0
	- name: floor1
	  interface: eth2
	  subnets: []
	- subnets: [{subnet: 198.18.1.0/24}]
`), []string{
			"7:20: subnet 198.18.0.0/24 is on interface eth0 but its shared network floor1 is on eth1",
			"8:5: shared network floor1 has no subnets",
			`8:11: duplicate shared network name "floor1" (first at line 3)`,
			"9:16: interface eth2 is not in interfaces",
			"11:5: shared network needs a name",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse("t.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse succeeded (%d subnets), want errors:\n%s", len(c.Subnets), strings.Join(tt.want, "\n"))
			}
			var got []string
			for _, e := range Errors(err) {
				got = append(got, strings.TrimPrefix(e.Error(), "t.yaml:"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestParseRegressions holds inputs the fuzzer found (also kept in
// testdata/fuzz/FuzzParse) and other edge cases, with what Parse must say.
func TestParseRegressions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, yaml string
		want       []string
	}{
		// YAML counts a lone CR as a line break: positions must too.
		{"fuzz 345ed437356be7bf: CR line breaks", "\r\r0", []string{"3:1: configuration must be a mapping, not the number 0"}},
		{"null option match", "interfaces: [eth0]\nsubnets: [{subnet: 198.18.0.0/24}]\nclasses: [{name: a, match: {option: }}]\n",
			[]string{"3:37: option match needs a code"}},
		{"null match", "interfaces: [eth0]\nsubnets: [{subnet: 198.18.0.0/24}]\nclasses: [{name: a, match: }]\n",
			[]string{"3:28: match is empty: give at least one condition"}},
		{"billion laughs", "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
			"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
			[]string{"1:1: document has more than 1048576 nodes once aliases are expanded"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("t.yaml", []byte(tt.yaml))
			var got []string
			for _, e := range Errors(err) {
				got = append(got, strings.TrimPrefix(e.Error(), "t.yaml:"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
