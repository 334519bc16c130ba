package dhcpv4

import (
	"net/netip"
	"testing"
	"time"
)

// A relayed DHCPREQUEST with the options a server reads on every request.
func allocRequest(t testing.TB) []byte {
	var m Message
	m.Op = BootRequest
	m.Hops = 1
	m.XID = 0x3903f326
	m.GIAddr = netip.MustParseAddr("198.18.1.1")
	m.SetHardwareAddr(HTypeEthernet, []byte{0x02, 0xb0, 0x07, 0, 0, 1})
	m.SetMessageType(Request)
	m.Options.Set(OptClientID, []byte{1, 0x02, 0xb0, 0x07, 0, 0, 1})
	m.Options.SetAddr(OptRequestedIP, netip.MustParseAddr("198.18.1.50"))
	m.Options.SetAddr(OptServerID, netip.MustParseAddr("198.18.0.1"))
	m.Options.SetUint16(OptMaxMessageSize, 1500)
	m.Options.SetString(OptVendorClass, "PXEClient:Arch:00007:UNDI:003016")
	m.Options.SetString(OptHostName, "client-1")
	m.Options.Set(OptParamRequestList, []byte{1, 3, 6, 12, 15, 28, 42, 51, 54, 58, 59, 119, 121})
	m.Options.Set(OptRelayAgentInfo, []byte{1, 4, 'e', 't', 'h', '1', 2, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 5, 4, 198, 18, 1, 0})
	return mustBuild(t, &m, &Layout{})
}

// readRequest reads what a server reads of a request; it reports false if
// anything is missing.
func readRequest(m *Message) bool {
	mt, ok1 := m.MessageType()
	_, ok2 := m.RequestedIP()
	_, ok3 := m.ServerID()
	_, ok4 := m.ClientID()
	_, ok5 := m.ParamRequestList()
	_, ok6 := m.HostName()
	_, ok7 := m.MaxMessageSize()
	_, ok8 := m.VendorClass()
	ri, ok9 := m.RelayAgentInfo()
	_, ok10 := ri.CircuitID()
	_, ok11 := ri.RemoteID()
	_, ok12 := ri.LinkSelection()
	_, ok13 := m.LeaseTime() // absent
	_ = m.HardwareAddr
	return mt == Request && ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8 && ok9 && ok10 && ok11 && ok12 && !ok13
}

// buildAck fills m (reused) with an ACK of ~12 options for req and appends
// it to buf.
func buildAck(m, req *Message, buf []byte) ([]byte, error) {
	m.Reset()
	m.Op = BootReply
	m.HType, m.HLen, m.CHAddr = req.HType, req.HLen, req.CHAddr
	m.XID, m.Flags, m.GIAddr, m.Hops = req.XID, req.Flags, req.GIAddr, req.Hops
	m.YIAddr = netip.AddrFrom4([4]byte{198, 18, 1, 50})
	m.SIAddr = netip.AddrFrom4([4]byte{198, 18, 0, 1})
	server := netip.AddrFrom4([4]byte{198, 18, 0, 1})
	m.SetMessageType(Ack)
	m.Options.SetAddr(OptServerID, server)
	m.Options.SetDuration(OptLeaseTime, time.Hour)
	m.Options.SetDuration(OptRenewalTime, 30*time.Minute)
	m.Options.SetDuration(OptRebindingTime, 52*time.Minute)
	m.Options.SetAddr(OptSubnetMask, netip.AddrFrom4([4]byte{255, 255, 255, 0}))
	m.Options.SetAddr(OptBroadcastAddr, netip.AddrFrom4([4]byte{198, 18, 1, 255}))
	m.Options.SetAddrs(OptRouter, netip.AddrFrom4([4]byte{198, 18, 1, 1}))
	m.Options.SetAddrs(OptDNSServers, server, netip.AddrFrom4([4]byte{198, 18, 0, 2}))
	m.Options.SetString(OptDomainName, "example.test")
	m.Options.SetAddrs(OptNTPServers, server)
	m.Options.SetUint16(OptMTU, 1500)
	if v, ok := req.HostName(); ok {
		m.Options.Set(OptHostName, v)
	}
	if ri, ok := req.Options.Get(OptRelayAgentInfo); ok {
		m.Options.Set(OptRelayAgentInfo, ri)
	}
	var l Layout
	l.Order, _ = req.ParamRequestList()
	if size, ok := req.MaxMessageSize(); ok {
		l.MaxLen = MaxLenFromOption57(size)
	}
	return m.AppendLayout(buf, &l)
}

func TestNoAllocs(t *testing.T) {
	b := allocRequest(t)
	var req, ack Message
	if err := req.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if !readRequest(&req) {
		t.Fatalf("request lacks an option: %s", dump(&req))
	}
	buf, err := buildAck(&ack, &req, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The ACK is what it should be.
	got := mustParse(t, buf)
	if mt, _ := got.MessageType(); mt != Ack || got.Options.Len() != 14 || got.XID != req.XID {
		t.Fatalf("ACK: %s", dump(got))
	}

	tests := []struct {
		name string
		f    func()
	}{
		{"parse-request", func() {
			if err := req.UnmarshalBinary(b); err != nil {
				panic(err)
			}
		}},
		{"parse-and-read-request", func() {
			if err := req.UnmarshalBinary(b); err != nil || !readRequest(&req) {
				panic("bad request")
			}
		}},
		{"build-ack", func() {
			var err error
			buf, err = buildAck(&ack, &req, buf[:0])
			if err != nil {
				panic(err)
			}
		}},
		{"build-ack-overloaded", func() {
			var l Layout
			l.MaxLen = 300
			var err error
			buf, err = ack.AppendLayout(buf[:0], &l)
			if err != nil {
				panic(err)
			}
		}},
		{"validate-ok", func() {
			if err := req.Validate(); err != nil {
				panic(err)
			}
		}},
	}
	var l Layout
	l.MaxLen = 300
	over, err := ack.AppendLayout(nil, &l)
	if err != nil || mustParse(t, over).Overloaded == 0 {
		t.Fatalf("the ACK in 300 bytes is not overloaded (%v)", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f() // grow the reused storage first
			n := testing.AllocsPerRun(100, tt.f)
			if n != 0 {
				if raceEnabled {
					t.Skipf("%v allocations per run under the race detector", n)
				}
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
}
