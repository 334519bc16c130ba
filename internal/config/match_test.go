package config

import (
	"testing"

	"bootd/internal/dhcpv4"
)

// compileMatch compiles a class match written in YAML flow style.
func compileMatch(t testing.TB, match string) *Match {
	t.Helper()
	c := mustParse(t, "interfaces: [eth0]\nsubnets: [{subnet: 198.18.0.0/24}]\nclasses:\n  - name: x\n    match: "+match+"\n")
	return c.Classes[0].Match
}

func TestMatch(t *testing.T) {
	t.Parallel()
	relay := func(sub uint8, v string) []byte { b, _ := dhcpv4.AppendSubOption(nil, sub, []byte(v)); return b }
	msg := func(set func(m *dhcpv4.Message)) *dhcpv4.Message {
		m := new(dhcpv4.Message)
		m.SetHardwareAddr(dhcpv4.HTypeEthernet, []byte{0xb8, 0x27, 0xeb, 1, 2, 3})
		m.SetMessageType(dhcpv4.Discover)
		set(m)
		return m
	}
	pxe := msg(func(m *dhcpv4.Message) {
		m.Options.SetString(dhcpv4.OptVendorClass, "PXEClient:Arch:00007:UNDI:003016")
		m.Options.SetUint16s(dhcpv4.OptClientArch, 7)
		m.Options.SetString(dhcpv4.OptHostName, "lab-42")
	})
	ipxe := msg(func(m *dhcpv4.Message) {
		m.Options.Set(dhcpv4.OptUserClass, dhcpv4.AppendUserClass(nil, "foo", "iPXE"))
		m.Options.Set(dhcpv4.OptRelayAgentInfo, append(relay(1, "eth0/1"), relay(2, "\x01\x02")...))
	})
	bare := msg(func(m *dhcpv4.Message) {})

	tests := []struct {
		match string
		msg   *dhcpv4.Message
		want  bool
	}{
		{`{vendor-class: "PXEClient*"}`, pxe, true},
		{`{vendor-class: "PXEClient"}`, pxe, false},
		{`{vendor-class: "PXEClient:Arch:00007:UNDI:003016"}`, pxe, true},
		{`{vendor-class: "*Arch:00007*"}`, pxe, true},
		{`{vendor-class: "PXE*Arch*016"}`, pxe, true},
		{`{vendor-class: "PXE*Arch*017"}`, pxe, false},
		{`{vendor-class: ["HTTPClient*", "PXEClient*"]}`, pxe, true},
		{`{vendor-class: "*"}`, bare, false}, // absent is not empty
		{`{client-arch: [7, 9]}`, pxe, true},
		{`{client-arch: 0}`, pxe, false},
		{`{hostname: "lab-*"}`, pxe, true},
		{`{mac-prefix: "b8:27:eb"}`, bare, true},
		{`{mac-prefix: ["52:54:00", "b827ec"]}`, bare, false},
		{`{user-class: iPXE}`, ipxe, true},
		{`{user-class: ipxe}`, ipxe, false},
		{`{circuit-id: "eth0/*"}`, ipxe, true},
		{`{circuit-id: "eth1/*"}`, ipxe, false},
		{`{remote-id: {hex: "01:02"}}`, ipxe, true},
		{`{option: {code: 60, value: "PXE*"}}`, pxe, true},
		{`{option: {code: vendor-class, hex: "50"}}`, pxe, false},
		{`{option: {code: 93}}`, pxe, true},
		{`{option: {code: 93}}`, bare, false},
		{`{vendor-class: "PXEClient*", client-arch: 7}`, pxe, true},
		{`{vendor-class: "PXEClient*", client-arch: 6}`, pxe, false},
		{`{any: [{user-class: iPXE}, {client-arch: 7}]}`, pxe, true},
		{`{any: [{user-class: iPXE}, {client-arch: 6}]}`, pxe, false},
		{`{vendor-class: "PXEClient*", not: {user-class: iPXE}}`, pxe, true},
		{`{not: {user-class: iPXE}}`, ipxe, false},
		{`{not: {any: [{user-class: iPXE}, {mac-prefix: "b8:27:eb"}]}}`, pxe, false},
	}
	for _, tt := range tests {
		if got := compileMatch(t, tt.match).Matches(tt.msg); got != tt.want {
			t.Errorf("match %s: got %v, want %v", tt.match, got, tt.want)
		}
	}
}

// TestMatchCaptures runs matchers over requests captured from real clients.
func TestMatchCaptures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		capture, match string
		want           bool
	}{
		{"ipxe-discover", `{user-class: iPXE}`, true},
		{"ipxe-discover", `{vendor-class: "PXEClient:Arch:00000*", client-arch: 0}`, true},
		{"ovmf-discover", `{client-arch: [7]}`, true},
		{"ovmf-discover", `{user-class: iPXE}`, false},
		{"dhcrelay-discover", `{circuit-id: r1}`, true},
		{"dhcrelay-discover", `{circuit-id: r2}`, false},
		{"dhclient-discover", `{any: [{user-class: iPXE}, {client-arch: [0, 7, 9]}, {circuit-id: "*"}]}`, false},
	}
	for _, tt := range tests {
		m := loadCapture(t, tt.capture)
		if got := compileMatch(t, tt.match).Matches(m); got != tt.want {
			t.Errorf("%s: match %s: got %v, want %v", tt.capture, tt.match, got, tt.want)
		}
	}
}

// TestMatchNoAllocs pins the per-packet cost of classification at zero
// allocations, on a parsed request.
func TestMatchNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := mustParse(t, `
interfaces: [eth0]
subnets: [{subnet: 198.18.0.0/24}]
classes:
  - name: rpi
    match: {mac-prefix: "b8:27:eb"}
  - name: ipxe
    match: {user-class: "iPXE*", vendor-class: ["PXEClient*", "HTTPClient*"], not: {hostname: "skip-*"}}
  - name: uefi
    match: {any: [{client-arch: [7, 9]}, {option: {code: 97}}, {circuit-id: "x*"}, {remote-id: {hex: "00"}}]}
`)
	for _, name := range []string{"ipxe-discover", "ovmf-discover", "dhcrelay-discover"} {
		m := loadCapture(t, name)
		if n := testing.AllocsPerRun(200, func() { c.Classify(m) }); n != 0 {
			t.Errorf("%s: Classify allocates %v times per request", name, n)
		}
	}
}
