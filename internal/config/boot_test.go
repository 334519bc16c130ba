package config

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestBootServers(t *testing.T) {
	c, err := Parse("t.yaml", []byte(y(`
interfaces: [eth0]
tftp:
	root: /srv/boot/
	address: 198.18.0.1
	max-transfers: 8
http-boot:
	listen: 198.18.0.1:8080
rarp:
	interfaces: [eth0, eth1]
subnets:
	- subnet: 198.18.0.0/24
	  reservations:
	    - {mac: "02:00:00:00:00:01", address: 198.18.0.10}
	    - {mac: "02:00:00:00:00:02"}
`)))
	if err != nil {
		t.Fatal(err)
	}
	if c.TFTP == nil || *c.TFTP != (TFTP{Root: "/srv/boot", Address: netip.MustParseAddr("198.18.0.1"), Port: 69, MaxTransfers: 8}) {
		t.Errorf("TFTP = %+v", c.TFTP)
	}
	if c.HTTPBoot == nil || c.HTTPBoot.Root != "/srv/boot" || c.HTTPBoot.Listen != netip.MustParseAddrPort("198.18.0.1:8080") {
		t.Errorf("HTTPBoot = %+v, want the TFTP root and 198.18.0.1:8080", c.HTTPBoot)
	}
	if c.RARP == nil || strings.Join(c.RARP.Interfaces, ",") != "eth0,eth1" {
		t.Errorf("RARP = %+v", c.RARP)
	}
	mac := func(s string) []byte { m, _ := net.ParseMAC(s); return m }
	if a, ok := c.ReservedAddress(mac("02:00:00:00:00:01")); !ok || a != netip.MustParseAddr("198.18.0.10") {
		t.Errorf("ReservedAddress(01) = %v, %v", a, ok)
	}
	for _, m := range []string{"02:00:00:00:00:02", "02:00:00:00:00:03"} {
		if a, ok := c.ReservedAddress(mac(m)); ok {
			t.Errorf("ReservedAddress(%s) = %v, want none (no address reserved)", m, a)
		}
	}

	// Off unless configured.
	c, err = Parse("t.yaml", []byte("interfaces: [eth0]\nsubnets: [{subnet: 198.18.0.0/24}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.TFTP != nil || c.HTTPBoot != nil || c.RARP != nil {
		t.Errorf("boot servers on without configuration: %+v %+v %+v", c.TFTP, c.HTTPBoot, c.RARP)
	}
}

func TestBootServerErrors(t *testing.T) {
	for _, tc := range []struct {
		yaml string
		want []string
	}{
		{"tftp: {port: 69}\n", []string{"2:7: tftp needs a root: the directory of the boot files"}},
		{"tftp: {root: boot}\n", []string{`2:14: tftp root "boot" must be absolute`}},
		{"tftp: {root: /b, port: 0}\n", []string{"2:24: tftp port: 0 is out of range 1 to 65535"}},
		{"tftp: {root: /b, rot: /c}\n", []string{`2:18: unknown key "rot" in tftp (did you mean "root"?)`}},
		{"http-boot: {listen: 198.18.0.1:80}\n", []string{"2:12: http-boot needs a root (or a tftp root to share)"}},
		{"http-boot: {root: /b}\n", []string{"2:12: http-boot needs listen: the address and port to serve on, like 198.18.0.1:8080"}},
		{"http-boot: {root: /b, listen: 198.18.0.1}\n", []string{`2:31: http-boot listen "198.18.0.1": want an IPv4 address and a port, like 198.18.0.1:8080`}},
		{"rarp: {interfaces: []}\n", []string{"2:7: rarp needs interfaces: where to answer RARP requests"}},
	} {
		_, err := Parse("t.yaml", []byte("interfaces: [eth0]\n"+tc.yaml+"subnets: [{subnet: 198.18.0.0/24}]\n"))
		var got []string
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				got = append(got, strings.TrimPrefix(line, "t.yaml:"))
			}
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s: got\n  %s\nwant\n  %s", strings.TrimSpace(tc.yaml), strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
		}
	}
}

func TestBootTemplates(t *testing.T) {
	c, err := Parse("t.yaml", []byte(y(`
interfaces: [eth0]
boot-templates:
	/boot.ipxe: |
	  #!ipxe
	  echo {{.MAC}} {{.Hostname}} {{.Address}}
	menu/x.cfg: "plain"
subnets: [{subnet: 198.18.0.0/24}]
`)))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.BootTemplates["boot.ipxe"].Execute(&b, BootClient{Address: netip.MustParseAddr("198.18.0.9"), MAC: "02:00:00:00:00:09", Hostname: "n9"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "#!ipxe\necho 02:00:00:00:00:09 n9 198.18.0.9\n" || c.BootTemplates["menu/x.cfg"] == nil || len(c.BootTemplates) != 2 {
		t.Errorf("templates: %q, %v", b.String(), c.BootTemplates)
	}
	for _, tc := range []struct{ yaml, want string }{
		{"boot-templates: {\"../x\": a}\n", `2:18: boot template name "../x": want a relative file name without . or .. elements`},
		{"boot-templates: {\"a/./b\": a}\n", `2:18: boot template name "a/./b": want a relative file name without . or .. elements`},
		{"boot-templates: {x: \"{{.Nope}}\"}\n", "2:21: boot template x: template: x:1:2: executing \"x\" at <.Nope>: can't evaluate field Nope in type config.BootClient"},
		{"boot-templates: {x: \"{{.MAC\"}\n", "2:21: boot template x: template: x:1: unclosed action"},
	} {
		_, err := Parse("t.yaml", []byte("interfaces: [eth0]\n"+tc.yaml+"subnets: [{subnet: 198.18.0.0/24}]\n"))
		if err == nil || strings.TrimPrefix(err.Error(), "t.yaml:") != tc.want {
			t.Errorf("%s: got %v\nwant %s", strings.TrimSpace(tc.yaml), err, tc.want)
		}
	}
}
