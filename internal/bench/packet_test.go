package bench

import (
	"bytes"
	"net/netip"
	"testing"

	"bootd/internal/dhcpv4"
	"bootd/internal/netio"
)

func TestXIDCodec(t *testing.T) {
	for _, clients := range []int{1, 2, 3, 1000, 10000, 1 << 16, MaxClients} {
		x := newXIDCodec(clients)
		if x.bits > 20 || (clients > 1 && 1<<x.bits < clients) {
			t.Errorf("%d clients: %d bits", clients, x.bits)
		}
		for _, c := range []int{0, clients / 2, clients - 1} {
			for _, gen := range []uint32{0, 1, 0xfff, x.mask ^ 0xffffffff>>x.bits} {
				xid := x.encode(c, gen)
				if x.client(xid) != c || x.gen(xid) != gen&(0xffffffff>>x.bits) {
					t.Errorf("%d clients: encode(%d, %d) = %#x decodes to %d, %d", clients, c, gen, xid, x.client(xid), x.gen(xid))
				}
				// The next exchange keeps the client and moves the counter.
				next := xid + x.step()
				if x.client(next) != c || x.gen(next) != (gen+1)&(0xffffffff>>x.bits) {
					t.Errorf("%d clients: step from %#x to %#x changes the client or skips", clients, xid, next)
				}
			}
		}
	}
}

func TestClientMAC(t *testing.T) {
	seen := map[[6]byte]bool{}
	for _, seed := range []uint8{0, 7} {
		for _, i := range []int{0, 1, 255, 256, 65536, MaxClients - 1} {
			m := clientMAC(seed, i)
			if m[0] != 0x02 || m[1] != 0xbb || m[2] != seed {
				t.Errorf("clientMAC(%d, %d) = % x: not 02:bb:seed", seed, i, m)
			}
			if seen[m] {
				t.Errorf("clientMAC(%d, %d) = % x seen before", seed, i, m)
			}
			seen[m] = true
		}
	}
}

// TestTemplates parses every request the generator sends with the codec
// and checks it carries what it should.
func TestTemplates(t *testing.T) {
	giaddr := netip.MustParseAddr("198.18.0.2")
	mac := clientMAC(3, 4242)
	ci, req, sid := [4]byte{198, 18, 1, 9}, [4]byte{198, 18, 1, 10}, [4]byte{198, 18, 0, 1}
	const xid = 0x1234abcd
	for _, mode := range []Mode{Relay, OnLink} {
		for _, host := range []bool{false, true} {
			for rk := range numRequestKinds {
				tm, err := buildTemplate(rk, mode, giaddr, host)
				if err != nil {
					t.Fatal(err)
				}
				b := tm.encode(make([]byte, 0, 512), mac, xid, ci, req, sid)
				var m dhcpv4.Message
				if err := m.UnmarshalBinary(b); err != nil {
					t.Fatalf("%v %d: %v", mode, rk, err)
				}
				if err := m.Validate(); err != nil {
					t.Errorf("%v %d: Validate: %v", mode, rk, err)
				}
				name := mode.String() + "/" + [...]string{"discover", "select", "renew", "release", "inform"}[rk]
				checkRequest(t, name, &m, rk, mode, host, giaddr, mac, xid, ci, req, sid)
				if len(b) != dhcpv4.MinLen {
					t.Errorf("%s: %d bytes, want %d", name, len(b), dhcpv4.MinLen)
				}
			}
		}
	}
}

func checkRequest(t *testing.T, name string, m *dhcpv4.Message, rk requestKind, mode Mode, host bool, giaddr netip.Addr, mac [6]byte, xid uint32, ci, req, sid [4]byte) {
	t.Helper()
	wantType := map[requestKind]dhcpv4.MessageType{reqDiscover: dhcpv4.Discover, reqSelect: dhcpv4.Request,
		reqRenew: dhcpv4.Request, reqRelease: dhcpv4.Release, reqInform: dhcpv4.Inform}[rk]
	if mt, _ := m.MessageType(); mt != wantType || m.Op != dhcpv4.BootRequest {
		t.Errorf("%s: op %v type %v, want BOOTREQUEST %v", name, m.Op, mt, wantType)
	}
	if uint32(m.XID) != xid || !bytes.Equal(m.HardwareAddr(), mac[:]) || m.HType != 1 {
		t.Errorf("%s: xid %v chaddr %v htype %d", name, m.XID, m.HardwareAddr(), m.HType)
	}
	if mode == Relay {
		if m.GIAddr != giaddr || m.Hops != 1 || m.Flags.Broadcast() {
			t.Errorf("%s: giaddr %v hops %d flags %#x, want %v, 1, 0", name, m.GIAddr, m.Hops, m.Flags, giaddr)
		}
	} else if !m.GIAddr.IsUnspecified() || m.Hops != 0 || !m.Flags.Broadcast() {
		t.Errorf("%s: giaddr %v hops %d flags %#x, want 0.0.0.0, 0, broadcast", name, m.GIAddr, m.Hops, m.Flags)
	}
	wantCI := netip.IPv4Unspecified()
	if rk == reqRenew || rk == reqRelease || rk == reqInform {
		wantCI = netip.AddrFrom4(ci)
	}
	if m.CIAddr != wantCI {
		t.Errorf("%s: ciaddr %v, want %v", name, m.CIAddr, wantCI)
	}
	r, hasReq := m.RequestedIP()
	if hasReq != (rk == reqSelect) || (hasReq && r != netip.AddrFrom4(req)) {
		t.Errorf("%s: option 50 %v %v", name, r, hasReq)
	}
	s, hasSID := m.ServerID()
	if hasSID != (rk == reqSelect || rk == reqRelease) || (hasSID && s != netip.AddrFrom4(sid)) {
		t.Errorf("%s: option 54 %v %v", name, s, hasSID)
	}
	prl, hasPRL := m.ParamRequestList()
	mms, hasMMS := m.MaxMessageSize()
	if rk == reqRelease {
		if hasPRL || hasMMS {
			t.Errorf("%s: RELEASE with options 55 or 57", name)
		}
	} else if !bytes.Equal(prl, paramRequestList) || mms != maxMessageSize {
		t.Errorf("%s: option 55 %v, 57 %d", name, prl, mms)
	}
	h, hasHost := m.HostName()
	if wantHost := host && rk != reqRelease; hasHost != wantHost {
		t.Errorf("%s: host name %q present %v, want %v", name, h, hasHost, wantHost)
	} else if hasHost && string(h) != "bench-03001092" { // seed 3, client 4242 = 0x001092
		t.Errorf("%s: host name %q", name, h)
	}
	if _, ok := m.ClientID(); ok {
		t.Errorf("%s: option 61 sent; clients are told apart by chaddr", name)
	}
}

// TestParseReply checks the fields the generator reads of a reply.
func TestParseReply(t *testing.T) {
	b := replyBytes(t, dhcpv4.Offer, 0x00010005, clientMAC(0, 5))
	var m dhcpv4.Message
	r, ok := parseReply(&m, b)
	if !ok || r.xid != 0x00010005 || r.mac != clientMAC(0, 5) || r.mt != dhcpv4.Offer ||
		r.yiaddr != [4]byte{198, 18, 0, 77} || !r.hasSID || r.sid != [4]byte{198, 18, 0, 1} {
		t.Errorf("parseReply = %+v, %v", r, ok)
	}
	req, _ := buildTemplate(reqDiscover, Relay, netip.MustParseAddr("198.18.0.2"), false)
	for name, b := range map[string][]byte{
		"request": req.encode(nil, clientMAC(0, 5), 1, [4]byte{}, [4]byte{}, [4]byte{}),
		"short":   b[:100],
		"garbage": bytes.Repeat([]byte{0xff}, 300),
	} {
		if r, ok := parseReply(&m, b); ok {
			t.Errorf("%s: parseReply = %+v, want not ok", name, r)
		}
	}
}

func replyBytes(t testing.TB, mt dhcpv4.MessageType, xid uint32, mac [6]byte) []byte {
	t.Helper()
	var m dhcpv4.Message
	m.Reset()
	m.Op = dhcpv4.BootReply
	m.XID = dhcpv4.XID(xid)
	m.SetHardwareAddr(1, mac[:])
	m.YIAddr = netip.MustParseAddr("198.18.0.77")
	m.SetMessageType(mt)
	m.Options.SetAddr(dhcpv4.OptServerID, netip.MustParseAddr("198.18.0.1"))
	m.Options.SetUint32(dhcpv4.OptLeaseTime, 3600)
	m.Options.SetAddr(dhcpv4.OptSubnetMask, netip.MustParseAddr("255.254.0.0"))
	m.Options.SetAddr(dhcpv4.OptRouter, netip.MustParseAddr("198.18.0.1"))
	m.Options.SetAddrs(dhcpv4.OptDNSServers, netip.MustParseAddr("198.18.0.1"))
	b, err := m.AppendBinary(nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNullReply checks the null responder's replies with the codec.
func TestNullReply(t *testing.T) {
	n := &NullResponder{}
	var err error
	if n.leaseT, err = buildNullTemplate(true); err != nil {
		t.Fatal(err)
	}
	if n.informT, err = buildNullTemplate(false); err != nil {
		t.Fatal(err)
	}
	local := netip.MustParseAddr("198.18.0.1")
	mac := clientMAC(0, 0x12345)
	ci := [4]byte{198, 18, 1, 1}
	for _, tc := range []struct {
		rk       requestKind
		mode     Mode
		want     dhcpv4.MessageType // 0: no reply
		yiaddr   string
		relayed  bool
		wantCI   bool
		wantTime bool
	}{
		{reqDiscover, Relay, dhcpv4.Offer, "198.18.163.69", true, false, true},
		{reqSelect, OnLink, dhcpv4.Ack, "198.18.163.69", false, false, true},
		{reqRenew, Relay, dhcpv4.Ack, "198.18.163.69", true, true, true},
		{reqInform, OnLink, dhcpv4.Ack, "0.0.0.0", false, true, false},
		{reqRelease, Relay, 0, "", true, false, false},
	} {
		tm, err := buildTemplate(tc.rk, tc.mode, netip.MustParseAddr("198.18.0.2"), true)
		if err != nil {
			t.Fatal(err)
		}
		req := tm.encode(nil, mac, 77, ci, [4]byte{}, [4]byte{})
		p := netio.Packet{Buf: req, N: len(req), IfIndex: 9, Local: local}
		r, ok := n.answer(make([]byte, 0, dhcpv4.MinLen), &p)
		if ok != (tc.want != 0) {
			t.Fatalf("request kind %d: reply %v, want %v", tc.rk, ok, tc.want != 0)
		}
		if !ok {
			continue
		}
		var m dhcpv4.Message
		if err := m.UnmarshalBinary(r.Payload); err != nil {
			t.Fatal(err)
		}
		mt, _ := m.MessageType()
		sid, _ := m.ServerID()
		_, hasTime := m.LeaseTime()
		mask, _ := m.SubnetMask()
		if m.Op != dhcpv4.BootReply || mt != tc.want || m.XID != 77 || !bytes.Equal(m.HardwareAddr(), mac[:]) ||
			m.YIAddr.String() != tc.yiaddr || sid != local || hasTime != tc.wantTime || mask.String() != "255.254.0.0" ||
			len(r.Payload) != dhcpv4.MinLen {
			t.Errorf("request kind %d: reply %v xid %v chaddr %v yiaddr %v sid %v lease time %v mask %v len %d",
				tc.rk, mt, m.XID, m.HardwareAddr(), m.YIAddr, sid, hasTime, mask, len(r.Payload))
		}
		if got := m.CIAddr == netip.AddrFrom4(ci); got != tc.wantCI {
			t.Errorf("request kind %d: ciaddr %v", tc.rk, m.CIAddr)
		}
		if tc.relayed {
			if r.Dst.String() != "198.18.0.2:67" || r.IfIndex != 0 || m.GIAddr.String() != "198.18.0.2" {
				t.Errorf("relayed request kind %d: reply to %v on %d, giaddr %v", tc.rk, r.Dst, r.IfIndex, m.GIAddr)
			}
		} else if r.Dst.String() != "255.255.255.255:68" || r.IfIndex != 9 || !m.Flags.Broadcast() {
			t.Errorf("on-link request kind %d: reply to %v on %d, flags %#x", tc.rk, r.Dst, r.IfIndex, m.Flags)
		}
	}
	for name, b := range map[string][]byte{
		"short":     make([]byte, 239),
		"reply":     replyBytes(t, dhcpv4.Offer, 1, mac),
		"no cookie": make([]byte, 300),
	} {
		if b[0] == 0 {
			b[0] = 1
		}
		p := netio.Packet{Buf: b, N: len(b)}
		if _, ok := n.answer(make([]byte, 0, dhcpv4.MinLen), &p); ok {
			t.Errorf("%s: answered", name)
		}
	}
}

// TestNoAllocs pins the per-packet helpers at zero allocations.
func TestNoAllocs(t *testing.T) {
	giaddr := netip.MustParseAddr("198.18.0.2")
	tm, err := buildTemplate(reqSelect, Relay, giaddr, true)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	mac := clientMAC(0, 9)
	rb := replyBytes(t, dhcpv4.Ack, 9, mac)
	var m dhcpv4.Message
	parseReply(&m, rb) // grow the message's scratch once
	nt, err := buildNullTemplate(true)
	if err != nil {
		t.Fatal(err)
	}
	req := tm.encode(nil, mac, 9, [4]byte{}, [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8})
	for name, fn := range map[string]func(){
		"encode":     func() { buf = tm.encode(buf, mac, 9, [4]byte{}, [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}) },
		"parseReply": func() { parseReply(&m, rb) },
		"clientMAC":  func() { mac = clientMAC(1, 12345) },
		"null":       func() { _, _ = requestType(req); buf = nt.encode(buf, req, dhcpv4.Ack, [4]byte{1, 2, 3, 4}, true) },
	} {
		if n := testing.AllocsPerRun(1000, fn); n != 0 {
			t.Errorf("%s: %v allocations, want 0", name, n)
		}
	}
}
