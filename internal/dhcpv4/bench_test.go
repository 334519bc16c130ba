package dhcpv4_test

// Benchmarks of bootd's codec against github.com/insomniacslk/dhcp/dhcpv4 on
// the two hot paths of a server: parsing a request and reading the options
// it acts on, and building the ACK. Both implementations are in this file
// and do equivalent work, checked before timing (benchCheck*):
//
//	go test -run '^$' -bench . -benchmem ./internal/dhcpv4/

import (
	"bytes"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"bootd/internal/dhcpv4"

	ins "github.com/insomniacslk/dhcp/dhcpv4"
)

// benchRequest is a relayed DHCPREQUEST (SELECTING) as a Windows 10 client
// sends it, with option 57 and a vendor class, after a relay agent added
// option 82 (circuit-id, remote-id) and set giaddr and hops (RFC 3046): 11
// options, a 13-code parameter request list. It is built by hand, not with
// either codec. The relayed capture in testdata/captures (dhclient behind
// dhcrelay) carries only the few options dhclient sends, so it would not
// exercise the accessors below.
var benchRequest = func() []byte {
	h := make([]byte, 236)
	h[0], h[1], h[2], h[3] = 1, 1, 6, 1 // BOOTREQUEST, Ethernet, hlen 6, hops 1
	copy(h[4:8], []byte{0x5a, 0x1e, 0x90, 0x3c})
	copy(h[24:28], []byte{198, 18, 1, 1}) // giaddr
	copy(h[28:34], []byte{0x02, 0xb0, 0x07, 0x00, 0x00, 0x42})
	opt := func(code byte, v ...byte) []byte { return append([]byte{code, byte(len(v))}, v...) }
	relay := slices.Concat(
		opt(dhcpv4.RelayCircuitID, []byte("ge-0/0/7.100")...),
		opt(dhcpv4.RelayRemoteID, []byte("sw-access-3")...),
	)
	return slices.Concat(h, []byte{99, 130, 83, 99},
		opt(53, 3),
		opt(61, 1, 0x02, 0xb0, 0x07, 0x00, 0x00, 0x42),
		opt(50, 198, 18, 1, 57),
		opt(54, 198, 18, 0, 1),
		opt(57, 0x05, 0xdc),
		opt(12, []byte("DESKTOP-7Q2K9LM")...),
		opt(81, append([]byte{0, 0, 0}, "DESKTOP-7Q2K9LM.corp.example.net"...)...),
		opt(60, []byte("MSFT 5.0")...),
		opt(55, 1, 3, 6, 15, 28, 31, 33, 42, 43, 44, 119, 121, 252),
		opt(77, []byte("\x04corp")...),
		opt(82, relay...),
		[]byte{255},
	)
}()

// benchSink keeps results alive.
var benchSink int

// bootdRead is what a server reads from a request, through bootd's API.
type bootdRead struct {
	mt        dhcpv4.MessageType
	requested netip.Addr
	serverID  netip.Addr
	clientID  []byte
	prl       []byte
	hostName  []byte
	maxSize   uint16
	vendor    []byte
	circuitID []byte
}

func readBootd(m *dhcpv4.Message, r *bootdRead) {
	r.mt, _ = m.MessageType()
	r.requested, _ = m.RequestedIP()
	r.serverID, _ = m.ServerID()
	r.clientID, _ = m.ClientID()
	r.prl, _ = m.ParamRequestList()
	r.hostName, _ = m.HostName()
	r.maxSize, _ = m.MaxMessageSize()
	r.vendor, _ = m.VendorClass()
	r.circuitID = nil
	if ri, ok := m.RelayAgentInfo(); ok {
		r.circuitID, _ = ri.CircuitID()
	}
}

// insRead is the same through insomniacslk's API (it has no typed
// accessor for the client identifier: Options.Get is its way).
type insRead struct {
	mt        ins.MessageType
	requested net.IP
	serverID  net.IP
	clientID  []byte
	prl       ins.OptionCodeList
	hostName  string
	maxSize   uint16
	vendor    string
	circuitID []byte
}

func readIns(p *ins.DHCPv4, r *insRead) {
	r.mt = p.MessageType()
	r.requested = p.RequestedIPAddress()
	r.serverID = p.ServerIdentifier()
	r.clientID = p.Options.Get(ins.OptionClientIdentifier)
	r.prl = p.ParameterRequestList()
	r.hostName = p.HostName()
	r.maxSize, _ = p.MaxMessageSize()
	r.vendor = p.ClassIdentifier()
	r.circuitID = nil
	if ri := p.RelayAgentInfo(); ri != nil {
		r.circuitID = ri.Get(ins.AgentCircuitIDSubOption)
	}
}

// benchCheckRead fails unless both read the same values from benchRequest.
func benchCheckRead(b *testing.B) {
	var m dhcpv4.Message
	if err := m.UnmarshalBinary(benchRequest); err != nil {
		b.Fatal(err)
	}
	var rb bootdRead
	readBootd(&m, &rb)
	p, err := ins.FromBytes(benchRequest)
	if err != nil {
		b.Fatal(err)
	}
	var ri insRead
	readIns(p, &ri)
	prl := make([]byte, len(ri.prl))
	for i, c := range ri.prl {
		prl[i] = c.Code()
	}
	// ParameterRequestList keeps the client's order in both.
	if uint8(rb.mt) != uint8(ri.mt) || rb.mt != dhcpv4.Request ||
		rb.requested != addrFromIP(ri.requested) || rb.serverID != addrFromIP(ri.serverID) ||
		!bytes.Equal(rb.clientID, ri.clientID) || len(rb.clientID) != 7 ||
		!bytes.Equal(rb.prl, prl) || len(rb.prl) != 13 ||
		string(rb.hostName) != ri.hostName || rb.hostName == nil ||
		rb.maxSize != ri.maxSize || rb.maxSize != 1500 ||
		string(rb.vendor) != ri.vendor || rb.vendor == nil ||
		!bytes.Equal(rb.circuitID, ri.circuitID) || rb.circuitID == nil {
		b.Fatalf("the codecs read different values:\nbootd        %+v\ninsomniacslk %+v", rb, ri)
	}
}

func addrFromIP(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip.To4())
	return a
}

// BenchmarkParseRequest parses benchRequest and reads the options a server
// acts on: message type, requested IP, server identifier, client identifier,
// parameter request list, host name, maximum message size, vendor class and
// the relay's circuit-id. bootd reuses one Message, as a server worker does;
// insomniacslk's FromBytes returns a new *DHCPv4 each time (its only API).
func BenchmarkParseRequest(b *testing.B) {
	b.Run("bootd", func(b *testing.B) {
		benchCheckRead(b)
		var m dhcpv4.Message
		var r bootdRead
		b.SetBytes(int64(len(benchRequest)))
		b.ReportAllocs()
		for b.Loop() {
			if err := m.UnmarshalBinary(benchRequest); err != nil {
				b.Fatal(err)
			}
			readBootd(&m, &r)
			benchSink += len(r.circuitID)
		}
	})
	b.Run("insomniacslk", func(b *testing.B) {
		benchCheckRead(b)
		var r insRead
		b.SetBytes(int64(len(benchRequest)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := ins.FromBytes(benchRequest)
			if err != nil {
				b.Fatal(err)
			}
			readIns(p, &r)
			benchSink += len(r.circuitID)
		}
	})
}

// The ACK's contents, the same for both: 14 options (message type, server
// identifier, lease time, T1, T2, subnet mask, router, two DNS servers,
// domain name, broadcast address, two NTP servers, two classless static
// routes, and the client identifier (RFC 6842) and relay agent information
// (RFC 3046) echoed from the request).
var (
	ackYIAddr    = netip.MustParseAddr("198.18.1.57")
	ackSIAddr    = netip.MustParseAddr("198.18.0.1")
	ackServerID  = netip.MustParseAddr("198.18.0.1")
	ackMask      = netip.MustParseAddr("255.255.255.0")
	ackRouter    = netip.MustParseAddr("198.18.1.1")
	ackDNS       = [2]netip.Addr{netip.MustParseAddr("198.18.0.53"), netip.MustParseAddr("198.18.0.54")}
	ackBroadcast = netip.MustParseAddr("198.18.1.255")
	ackNTP       = [2]netip.Addr{netip.MustParseAddr("198.18.0.123"), netip.MustParseAddr("198.18.0.124")}
	ackDomain    = "corp.example.net"
	ackLease     = 12 * time.Hour
	ackT1        = 6 * time.Hour
	ackT2        = 10*time.Hour + 30*time.Minute
	ackRoutes    = []dhcpv4.Route{
		{Dest: netip.MustParsePrefix("10.0.0.0/8"), Router: netip.MustParseAddr("198.18.1.2")},
		{Dest: netip.MustParsePrefix("0.0.0.0/0"), Router: netip.MustParseAddr("198.18.1.1")},
	}
)

// bootdAck builds the ACK with bootd: one Message reset and refilled, and
// one caller buffer, as a server worker keeps them; the layout follows the
// client's parameter request list and maximum message size.
type bootdAck struct {
	ack    dhcpv4.Message
	buf    []byte // wire output
	routes []byte // scratch for option 121
	layout dhcpv4.Layout
}

func (a *bootdAck) build(req *dhcpv4.Message) ([]byte, error) {
	m := &a.ack
	m.Reset()
	m.Op = dhcpv4.BootReply
	m.HType, m.HLen, m.CHAddr = req.HType, req.HLen, req.CHAddr
	m.XID, m.Flags, m.GIAddr = req.XID, req.Flags, req.GIAddr
	m.CIAddr = netip.IPv4Unspecified()
	m.YIAddr, m.SIAddr = ackYIAddr, ackSIAddr
	o := &m.Options
	m.SetMessageType(dhcpv4.Ack)
	o.SetAddr(dhcpv4.OptServerID, ackServerID)
	o.SetDuration(dhcpv4.OptLeaseTime, ackLease)
	o.SetDuration(dhcpv4.OptRenewalTime, ackT1)
	o.SetDuration(dhcpv4.OptRebindingTime, ackT2)
	o.SetAddr(dhcpv4.OptSubnetMask, ackMask)
	o.SetAddrs(dhcpv4.OptRouter, ackRouter)
	o.SetAddrs(dhcpv4.OptDNSServers, ackDNS[:]...)
	o.SetString(dhcpv4.OptDomainName, ackDomain)
	o.SetAddr(dhcpv4.OptBroadcastAddr, ackBroadcast)
	o.SetAddrs(dhcpv4.OptNTPServers, ackNTP[:]...)
	var err error
	if a.routes, err = dhcpv4.AppendRoutes(a.routes[:0], ackRoutes...); err != nil {
		return nil, err
	}
	o.Set(dhcpv4.OptClasslessRoutes, a.routes)
	if v, ok := req.ClientID(); ok {
		o.Set(dhcpv4.OptClientID, v)
	}
	if v, ok := req.Options.Get(dhcpv4.OptRelayAgentInfo); ok {
		o.Set(dhcpv4.OptRelayAgentInfo, v)
	}
	a.layout.Order, _ = req.ParamRequestList()
	a.layout.MaxLen = 0
	if v, ok := req.MaxMessageSize(); ok {
		a.layout.MaxLen = dhcpv4.MaxLenFromOption57(v)
	}
	a.buf, err = m.AppendLayout(a.buf[:0], &a.layout)
	return a.buf, err
}

// insAckInputs are the same values in the types insomniacslk's API takes.
type insAckInputs struct {
	yiaddr, siaddr, serverID, router, broadcast net.IP
	mask                                        net.IPMask
	dns, ntp                                    []net.IP
	routes                                      []*ins.Route
}

func newInsAckInputs() *insAckInputs {
	ip := func(a netip.Addr) net.IP { return net.IP(a.AsSlice()) }
	in := &insAckInputs{
		yiaddr: ip(ackYIAddr), siaddr: ip(ackSIAddr), serverID: ip(ackServerID),
		router: ip(ackRouter), broadcast: ip(ackBroadcast), mask: net.IPMask(ip(ackMask)),
		dns: []net.IP{ip(ackDNS[0]), ip(ackDNS[1])},
		ntp: []net.IP{ip(ackNTP[0]), ip(ackNTP[1])},
	}
	for _, r := range ackRoutes {
		in.routes = append(in.routes, &ins.Route{
			Dest:   &net.IPNet{IP: ip(r.Dest.Addr()), Mask: net.CIDRMask(r.Dest.Bits(), 32)},
			Router: ip(r.Router),
		})
	}
	return in
}

// buildInsAck builds the ACK with insomniacslk's natural API:
// NewReplyFromRequest (which copies op, htype, xid, chaddr, flags, giaddr,
// and echoes options 61 and 82) with modifiers, then ToBytes. New draws a
// random transaction ID that WithReply then overwrites; that is part of the
// API's cost. ToBytes writes options sorted by code with 82 last; it does
// not look at the PRL or option 57.
func buildInsAck(req *ins.DHCPv4, in *insAckInputs) ([]byte, error) {
	p, err := ins.NewReplyFromRequest(req,
		ins.WithMessageType(ins.MessageTypeAck),
		ins.WithYourIP(in.yiaddr),
		ins.WithServerIP(in.siaddr),
		ins.WithOption(ins.OptServerIdentifier(in.serverID)),
		ins.WithOption(ins.OptIPAddressLeaseTime(ackLease)),
		ins.WithOption(ins.OptRenewTimeValue(ackT1)),
		ins.WithOption(ins.OptRebindingTimeValue(ackT2)),
		ins.WithNetmask(in.mask),
		ins.WithRouter(in.router),
		ins.WithDNS(in.dns...),
		ins.WithOption(ins.OptDomainName(ackDomain)),
		ins.WithOption(ins.OptBroadcastAddress(in.broadcast)),
		ins.WithOption(ins.OptNTPServers(in.ntp...)),
		ins.WithOption(ins.OptClasslessStaticRoute(in.routes...)),
	)
	if err != nil {
		return nil, err
	}
	return p.ToBytes(), nil
}

// benchCheckAck fails unless both ACKs carry the same header and options
// (bootd orders them by the PRL, insomniacslk by code; both put 82 last).
func benchCheckAck(b *testing.B) {
	var req dhcpv4.Message
	if err := req.UnmarshalBinary(benchRequest); err != nil {
		b.Fatal(err)
	}
	var a bootdAck
	ob, err := a.build(&req)
	if err != nil || a.layout.Omitted != 0 {
		b.Fatalf("bootd: %v, %d omitted", err, a.layout.Omitted)
	}
	preq, err := ins.FromBytes(benchRequest)
	if err != nil {
		b.Fatal(err)
	}
	oi, err := buildInsAck(preq, newInsAckInputs())
	if err != nil {
		b.Fatal(err)
	}
	var mb, mi dhcpv4.Message
	if err := mb.UnmarshalBinary(ob); err != nil {
		b.Fatal(err)
	}
	if err := mi.UnmarshalBinary(oi); err != nil {
		b.Fatal(err)
	}
	if len(ob) != len(oi) || !bytes.Equal(ob[:236], oi[:236]) {
		b.Fatalf("headers differ:\nbootd        %x\ninsomniacslk %x", ob[:min(len(ob), 236)], oi[:min(len(oi), 236)])
	}
	if mb.Options.Len() != 14 || mb.Options.Len() != mi.Options.Len() {
		b.Fatalf("options: bootd %v, insomniacslk %v", mb.Options.Codes(nil), mi.Options.Codes(nil))
	}
	for c, v := range mb.Options.All() {
		if w, _ := mi.Options.Get(c); !bytes.Equal(v, w) {
			b.Fatalf("option %d: bootd %x, insomniacslk %x", c, v, w)
		}
	}
}

// BenchmarkBuildAck builds the ACK for benchRequest from the same inputs;
// the request is parsed once, before timing, by each codec.
func BenchmarkBuildAck(b *testing.B) {
	b.Run("bootd", func(b *testing.B) {
		benchCheckAck(b)
		var req dhcpv4.Message
		if err := req.UnmarshalBinary(benchRequest); err != nil {
			b.Fatal(err)
		}
		var a bootdAck
		b.ReportAllocs()
		for b.Loop() {
			out, err := a.build(&req)
			if err != nil {
				b.Fatal(err)
			}
			benchSink += len(out)
		}
	})
	b.Run("insomniacslk", func(b *testing.B) {
		benchCheckAck(b)
		req, err := ins.FromBytes(benchRequest)
		if err != nil {
			b.Fatal(err)
		}
		in := newInsAckInputs()
		b.ReportAllocs()
		for b.Loop() {
			out, err := buildInsAck(req, in)
			if err != nil {
				b.Fatal(err)
			}
			benchSink += len(out)
		}
	})
}

// TestBenchNoAllocs pins the allocation counts of the benchmarked bootd hot
// paths (counts, unlike timings, are stable enough for go test).
func TestBenchNoAllocs(t *testing.T) {
	var m dhcpv4.Message
	var r bootdRead
	parse := func() {
		if err := m.UnmarshalBinary(benchRequest); err != nil {
			t.Fatal(err)
		}
		readBootd(&m, &r)
	}
	parse() // grow the Message's storage
	if n := testing.AllocsPerRun(100, parse); n != 0 {
		t.Errorf("parse and read a request: %v allocs, want 0", n)
	}

	var a bootdAck
	build := func() {
		if _, err := a.build(&m); err != nil {
			t.Fatal(err)
		}
	}
	build()
	if n := testing.AllocsPerRun(100, build); n != 0 {
		t.Errorf("build an ACK: %v allocs, want 0", n)
	}
}
