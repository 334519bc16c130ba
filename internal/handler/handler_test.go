package handler

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"bootd/internal/alloc"
	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
	"bootd/internal/lease/journal"
)

const testConfig = `
interfaces: [s0]
offer-hold: 30s
decline-quarantine: 1h
lease-time: {default: 1h, max: 2h}
options:
  dns-servers: [198.18.0.1]
  domain-name: example.test
subnets:
  - subnet: 198.18.0.0/24
    interface: s0
    server-address: 198.18.0.1
    bootp: dynamic
    options:
      router: 198.18.0.1
    pools:
      - range: 198.18.0.100-198.18.0.109
    reservations:
      - mac: 02:00:00:00:00:aa
        address: 198.18.0.10
        hostname: printer
        boot-file: printer.bin
        next-server: 198.18.0.1
  - subnet: 198.18.1.0/24
    server-address: 198.18.1.2
    authoritative: false
    pools:
      - range: 198.18.1.100-198.18.1.200
`

var (
	serverAddr = netip.MustParseAddr("198.18.0.1")
	relayAddr  = netip.MustParseAddr("198.18.1.1")
	zero       = netip.IPv4Unspecified()
)

type clk struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clk) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clk) add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

type env struct {
	t     *testing.T
	cfg   *config.Config
	store *journal.Store
	h     *Handler
	clk   *clk
	in    Ingress
	sync  bool // Handle (every write waited for inside); else HandleAsync, as the server uses it
}

func newEnv(t *testing.T, yaml string) *env {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cfg: cfg, clk: &clk{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}}
	e.store, err = journal.Open(t.Context(), t.TempDir(), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.store.Close() })
	ranges, ids := Ranges(cfg)
	a, err := alloc.New(t.Context(), e.store, e.clk.now, ranges)
	if err != nil {
		t.Fatal(err)
	}
	e.h = New(cfg, a, ids, e.clk.now, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.in = Ingress{IfName: "s0", Subnets: cfg.SubnetsOn("s0", []netip.Addr{serverAddr}), Addr: serverAddr,
		Src: netip.AddrPortFrom(zero, ClientPort)}
	return e
}

// client builds requests for one client.
type client struct {
	mac   []byte
	xid   dhcpv4.XID
	giadr netip.Addr
	opts  func(*dhcpv4.Message)
}

func newClient(last byte) *client {
	return &client{mac: []byte{2, 0, 0, 0, 0, last}, xid: dhcpv4.XID(0x1000 + int(last)), giadr: zero}
}

func (c *client) msg(mt dhcpv4.MessageType) *dhcpv4.Message {
	m := new(dhcpv4.Message)
	m.Reset()
	m.Op = dhcpv4.BootRequest
	m.SetHardwareAddr(dhcpv4.HTypeEthernet, c.mac)
	m.XID = c.xid
	m.GIAddr = c.giadr
	m.SetMessageType(mt)
	m.Options.Set(dhcpv4.OptParamRequestList, []byte{1, 3, 6, 15, 51, 54})
	if c.giadr != zero {
		m.Hops = 1
		m.Options.Set(dhcpv4.OptRelayAgentInfo, []byte{1, 2, 'r', '1'})
	}
	if c.opts != nil {
		c.opts(m)
	}
	return m
}

func (e *env) handle(req *dhcpv4.Message) (Result, *dhcpv4.Message) {
	e.t.Helper()
	// Round-trip through the wire format, as the server does.
	b, err := req.AppendBinary(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	var in dhcpv4.Message
	if err := in.UnmarshalBinary(b); err != nil {
		e.t.Fatal(err)
	}
	reply := new(dhcpv4.Message)
	var res Result
	if e.sync {
		res = e.h.Handle(context.Background(), e.in, &in, reply)
		if res.Pending {
			e.t.Fatal("Handle returned a pending result")
		}
	} else {
		// As the server does: the reply goes out once the lease is written.
		done := make(chan error, 1)
		res = e.h.HandleAsync(context.Background(), e.in, &in, reply, func(err error) { done <- err })
		if res.Pending {
			select {
			case err := <-done:
				if err != nil {
					return Result{Verdict: Drop, Reason: "lease not recorded: " + err.Error()}, nil
				}
			case <-time.After(10 * time.Second):
				e.t.Fatal("the lease write never completed")
			}
		}
	}
	if res.Verdict == Reply {
		l := res.Layout
		out, err := reply.AppendLayout(nil, &l)
		if err != nil {
			e.t.Fatalf("building reply: %v", err)
		}
		var parsed dhcpv4.Message
		if err := parsed.UnmarshalBinary(out); err != nil {
			e.t.Fatalf("reply does not parse: %v", err)
		}
		return res, &parsed
	}
	return res, nil
}

func mustType(t *testing.T, res Result, reply *dhcpv4.Message, want dhcpv4.MessageType) {
	t.Helper()
	if res.Verdict != Reply || reply == nil {
		t.Fatalf("got %v (%s), want a %v reply", res.Verdict, res.Reason, want)
	}
	if mt, _ := reply.MessageType(); mt != want {
		t.Fatalf("reply type %v (%s), want %v", mt, res.Reason, want)
	}
}

// dora runs DISCOVER and REQUEST and returns the ACK.
func (e *env) dora(c *client) *dhcpv4.Message {
	e.t.Helper()
	res, offer := e.handle(c.msg(dhcpv4.Discover))
	mustType(e.t, res, offer, dhcpv4.Offer)
	req := c.msg(dhcpv4.Request)
	req.Options.SetAddr(dhcpv4.OptRequestedIP, offer.YIAddr)
	sid, _ := offer.ServerID()
	req.Options.SetAddr(dhcpv4.OptServerID, sid)
	res, ack := e.handle(req)
	mustType(e.t, res, ack, dhcpv4.Ack)
	if ack.YIAddr != offer.YIAddr {
		e.t.Fatalf("ACK for %v after OFFER of %v", ack.YIAddr, offer.YIAddr)
	}
	return ack
}

// TestDORASync: Handle, which waits for the lease inside, gives the same
// exchange as HandleAsync (which every other test uses) and leaves the
// lease in the store when it returns.
func TestDORASync(t *testing.T) {
	e := newEnv(t, testConfig)
	e.sync = true
	ack := e.dora(newClient(1))
	l, err := e.store.Get(t.Context(), ack.YIAddr)
	if err != nil || l.State != lease.Bound {
		t.Fatalf("store after a synchronous DORA: %+v, %v", l, err)
	}
}

// TestAsyncSameClientWhilePending: while a client's lease is being
// written, its next request is dropped (it will ask again), not answered
// from the allocator's view of a lease that is not yet on disk.
func TestAsyncSameClientWhilePending(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(1)
	res, offer := e.handle(c.msg(dhcpv4.Discover))
	mustType(t, res, offer, dhcpv4.Offer)
	req := c.msg(dhcpv4.Request)
	req.Options.SetAddr(dhcpv4.OptRequestedIP, offer.YIAddr)
	req.Options.SetAddr(dhcpv4.OptServerID, serverAddr)
	b, _ := req.AppendBinary(nil)
	var in1, in2 dhcpv4.Message
	in1.UnmarshalBinary(b)
	in2.UnmarshalBinary(b)
	// Hold the store's writer inside the callback of an unrelated write,
	// so the REQUEST's own write stays queued, pending, until released.
	release, entered := make(chan struct{}), make(chan struct{})
	other := lease.Lease{Addr: netip.MustParseAddr("198.18.0.250"), State: lease.Bound, HWType: 1, HWAddr: []byte{2, 9, 9, 9, 9, 9}}
	if err := e.store.PutAsync(&other, func(error) { close(entered); <-release }); err != nil {
		t.Fatal(err)
	}
	<-entered
	done := make(chan error, 1)
	res1 := e.h.HandleAsync(t.Context(), e.in, &in1, new(dhcpv4.Message), func(err error) { done <- err })
	if !res1.Pending || res1.Verdict != Reply {
		t.Fatalf("first REQUEST: %+v, want a pending ACK", res1)
	}
	res2 := e.h.HandleAsync(t.Context(), e.in, &in2, new(dhcpv4.Message), func(error) { t.Error("second REQUEST started a write") })
	if res2.Verdict != Drop || res2.Pending {
		t.Errorf("second REQUEST of the same client while the first is written: %+v, want a drop", res2)
	}
	res3 := e.h.HandleAsync(t.Context(), e.in, c.msg(dhcpv4.Discover), new(dhcpv4.Message), func(error) {})
	if res3.Verdict != Drop {
		t.Errorf("DISCOVER of the same client while its lease is written: %+v, want a drop", res3)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestDORA(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(1)
	res, offer := e.handle(c.msg(dhcpv4.Discover))
	mustType(t, res, offer, dhcpv4.Offer)
	pool := netip.MustParsePrefix("198.18.0.96/28")
	if !pool.Contains(offer.YIAddr) || offer.YIAddr.As4()[3] < 100 {
		t.Errorf("offered %v, want an address of the pool", offer.YIAddr)
	}
	if sid, _ := offer.ServerID(); sid != serverAddr {
		t.Errorf("server id %v", sid)
	}
	if lt, _ := offer.LeaseTime(); lt != time.Hour {
		t.Errorf("lease time %v, want 1h", lt)
	}
	if mask, _ := offer.SubnetMask(); mask.String() != "255.255.255.0" {
		t.Errorf("mask %v", mask)
	}
	if r, _ := offer.Routers(); len(r) != 1 || r[0] != serverAddr {
		t.Errorf("routers %v", r)
	}
	if d, _ := offer.DomainName(); string(d) != "example.test" {
		t.Errorf("domain %q", d)
	}
	// Unicast to the new address at the client's MAC (no broadcast bit).
	if res.Dest.Addr != netip.AddrPortFrom(offer.YIAddr, ClientPort) || string(res.Dest.HWAddr) != string(c.mac) {
		t.Errorf("offer sent to %v at %x", res.Dest.Addr, res.Dest.HWAddr)
	}
	// Options follow the parameter request list.
	codes := offer.Options.Codes(nil)
	if codes[0] != dhcpv4.OptMessageType || codes[1] != dhcpv4.OptSubnetMask || codes[2] != dhcpv4.OptRouter {
		t.Errorf("option order %v", codes)
	}

	ack := e.dora(c)
	if t1, _ := ack.RenewalTime(); t1 != 30*time.Minute {
		t.Errorf("T1 %v", t1)
	}
	l, err := e.store.Get(t.Context(), ack.YIAddr)
	if err != nil || l.State != lease.Bound || string(l.HWAddr) != string(c.mac) {
		t.Fatalf("stored lease %+v, %v", l, err)
	}
	if want := e.clk.now().Add(time.Hour); !l.Expires.Equal(want) {
		t.Errorf("lease expires %v, want %v", l.Expires, want)
	}
}

func TestBroadcastFlag(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(2)
	c.opts = func(m *dhcpv4.Message) { m.Flags = dhcpv4.FlagBroadcast }
	res, _ := e.handle(c.msg(dhcpv4.Discover))
	if res.Dest.Addr.Addr() != broadcast || res.Dest.HWAddr != nil {
		t.Errorf("broadcast-flag offer sent to %v %x", res.Dest.Addr, res.Dest.HWAddr)
	}
}

func TestRenewAndRebind(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(3)
	ack := e.dora(c)
	addr := ack.YIAddr
	e.clk.add(40 * time.Minute)
	// RENEWING: unicast with ciaddr, no server id, no requested address.
	c.opts = func(m *dhcpv4.Message) { m.CIAddr = addr }
	res, ack2 := e.handle(c.msg(dhcpv4.Request))
	mustType(t, res, ack2, dhcpv4.Ack)
	if ack2.YIAddr != addr || ack2.CIAddr != addr {
		t.Errorf("renew ACK yiaddr %v ciaddr %v", ack2.YIAddr, ack2.CIAddr)
	}
	if res.Dest.Addr != netip.AddrPortFrom(addr, ClientPort) {
		t.Errorf("renew ACK to %v, want unicast to ciaddr", res.Dest.Addr)
	}
	l, _ := e.store.Get(t.Context(), addr)
	if want := e.clk.now().Add(time.Hour); !l.Expires.Equal(want) {
		t.Errorf("renewed lease expires %v, want %v", l.Expires, want)
	}
}

func TestInitRebootWrongAddressNAK(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(4)
	e.dora(c)
	// The client moved from another network: asks for an address not on this link.
	c.opts = func(m *dhcpv4.Message) {
		m.Options.SetAddr(dhcpv4.OptRequestedIP, netip.MustParseAddr("198.18.5.7"))
	}
	res, nak := e.handle(c.msg(dhcpv4.Request))
	mustType(t, res, nak, dhcpv4.Nak)
	if res.Dest.Addr.Addr() != broadcast {
		t.Errorf("NAK sent to %v, want broadcast", res.Dest.Addr)
	}
	if nak.YIAddr != zero {
		t.Errorf("NAK has yiaddr %v", nak.YIAddr)
	}
	if _, ok := nak.LeaseTime(); ok {
		t.Error("NAK carries a lease time")
	}
}

func TestRequestForAnotherClientsAddressNAK(t *testing.T) {
	e := newEnv(t, testConfig)
	a := e.dora(newClient(5))
	c := newClient(6)
	c.opts = func(m *dhcpv4.Message) { m.Options.SetAddr(dhcpv4.OptRequestedIP, a.YIAddr) }
	res, rep := e.handle(c.msg(dhcpv4.Request))
	mustType(t, res, rep, dhcpv4.Nak)
}

func TestSelectingOtherServerIsSilent(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(7)
	_, offer := e.handle(c.msg(dhcpv4.Discover))
	c.opts = func(m *dhcpv4.Message) {
		m.Options.SetAddr(dhcpv4.OptRequestedIP, offer.YIAddr)
		m.Options.SetAddr(dhcpv4.OptServerID, netip.MustParseAddr("198.18.0.254"))
	}
	if res, _ := e.handle(c.msg(dhcpv4.Request)); res.Verdict != Drop {
		t.Errorf("REQUEST for another server answered: %s", res.Reason)
	}
}

func TestReservation(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(0xaa)
	ack := e.dora(c)
	if ack.YIAddr.String() != "198.18.0.10" {
		t.Errorf("reserved client got %v", ack.YIAddr)
	}
	if hn, _ := ack.Options.String(dhcpv4.OptHostName); hn != "printer" {
		t.Errorf("host name %q", hn)
	}
	if string(ack.BootFile()) != "printer.bin" || ack.SIAddr != serverAddr {
		t.Errorf("boot file %q next server %v", ack.BootFile(), ack.SIAddr)
	}
	// Another client cannot take the reserved address.
	o := newClient(8)
	o.opts = func(m *dhcpv4.Message) { m.Options.SetAddr(dhcpv4.OptRequestedIP, ack.YIAddr) }
	res, rep := e.handle(o.msg(dhcpv4.Discover))
	mustType(t, res, rep, dhcpv4.Offer)
	if rep.YIAddr == ack.YIAddr {
		t.Error("reserved address offered to another client")
	}
}

func TestRelayed(t *testing.T) {
	e := newEnv(t, testConfig)
	e.in.Src = netip.AddrPortFrom(relayAddr, ServerPort)
	c := newClient(9)
	c.giadr = relayAddr
	res, offer := e.handle(c.msg(dhcpv4.Discover))
	mustType(t, res, offer, dhcpv4.Offer)
	if !netip.MustParsePrefix("198.18.1.0/24").Contains(offer.YIAddr) {
		t.Errorf("relayed client got %v, want an address of the relay's subnet", offer.YIAddr)
	}
	if res.Dest.Addr != netip.AddrPortFrom(relayAddr, ServerPort) || res.Dest.HWAddr != nil {
		t.Errorf("relayed offer to %v, want the relay at %v:67", res.Dest.Addr, relayAddr)
	}
	if sid, _ := offer.ServerID(); sid.String() != "198.18.1.2" {
		t.Errorf("server id %v, want the subnet's server-address", sid)
	}
	ri, ok := offer.RelayAgentInfo()
	if cid, _ := ri.CircuitID(); !ok || string(cid) != "r1" {
		t.Errorf("option 82 not echoed: %q", cid)
	}
	if offer.GIAddr != relayAddr {
		t.Errorf("giaddr %v", offer.GIAddr)
	}
	ack := e.dora(c)
	l, _ := e.store.Get(t.Context(), ack.YIAddr)
	if string(l.CircuitID) != "r1" || l.Subnet.String() != "198.18.1.0/24" {
		t.Errorf("lease %+v", l)
	}
}

func TestNotAuthoritativeSilent(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(10)
	c.giadr = relayAddr
	c.opts = func(m *dhcpv4.Message) {
		m.Options.SetAddr(dhcpv4.OptRequestedIP, netip.MustParseAddr("198.18.1.150"))
	}
	// 198.18.1.0/24 is not authoritative and has no record of the client.
	if res, rep := e.handle(c.msg(dhcpv4.Request)); res.Verdict != Drop {
		t.Errorf("non-authoritative server answered an unknown INIT-REBOOT: %v", rep)
	}
}

func TestInform(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(11)
	ci := netip.MustParseAddr("198.18.0.50")
	c.opts = func(m *dhcpv4.Message) { m.CIAddr = ci }
	res, ack := e.handle(c.msg(dhcpv4.Inform))
	mustType(t, res, ack, dhcpv4.Ack)
	if ack.YIAddr != zero {
		t.Errorf("INFORM ACK yiaddr %v", ack.YIAddr)
	}
	if _, ok := ack.LeaseTime(); ok {
		t.Error("INFORM ACK has a lease time")
	}
	if d, _ := ack.DNSServers(); len(d) != 1 {
		t.Errorf("INFORM ACK dns %v", d)
	}
	if res.Dest.Addr != netip.AddrPortFrom(ci, ClientPort) {
		t.Errorf("INFORM ACK to %v", res.Dest.Addr)
	}
	if _, err := e.store.Get(t.Context(), ci); err == nil {
		t.Error("INFORM created a lease")
	}
}

func TestDeclineQuarantines(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(12)
	ack := e.dora(c)
	c.opts = func(m *dhcpv4.Message) {
		m.Options.SetAddr(dhcpv4.OptRequestedIP, ack.YIAddr)
		m.Options.SetAddr(dhcpv4.OptServerID, serverAddr)
	}
	if res, _ := e.handle(c.msg(dhcpv4.Decline)); res.Verdict != Drop || !strings.Contains(res.Reason, "quarantined") {
		t.Fatalf("DECLINE: %v %s", res.Verdict, res.Reason)
	}
	l, _ := e.store.Get(t.Context(), ack.YIAddr)
	if l.State != lease.Declined {
		t.Errorf("declined lease state %v", l.State)
	}
	// The declined address is given to nobody during the quarantine, the decliner included.
	for i := range 12 {
		o := newClient(byte(100 + i))
		res, offer := e.handle(o.msg(dhcpv4.Discover))
		if res.Verdict == Reply && offer.YIAddr == ack.YIAddr {
			t.Fatalf("declined address offered to client %d", i)
		}
	}
}

func TestRelease(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(13)
	ack := e.dora(c)
	c.opts = func(m *dhcpv4.Message) {
		m.CIAddr = ack.YIAddr
		m.Options.SetAddr(dhcpv4.OptServerID, serverAddr)
	}
	if res, _ := e.handle(c.msg(dhcpv4.Release)); res.Verdict != Drop || !strings.HasPrefix(res.Reason, "released") {
		t.Fatalf("RELEASE: %s", res.Reason)
	}
	l, _ := e.store.Get(t.Context(), ack.YIAddr)
	if l.State != lease.Released {
		t.Errorf("released lease state %v", l.State)
	}
	// The client comes back and gets the same address.
	c.opts = nil
	if again := e.dora(c); again.YIAddr != ack.YIAddr {
		t.Errorf("returning client got %v, want %v", again.YIAddr, ack.YIAddr)
	}
}

func TestPoolExhausted(t *testing.T) {
	e := newEnv(t, testConfig)
	for i := range 10 {
		e.dora(newClient(byte(20 + i)))
	}
	res, _ := e.handle(newClient(40).msg(dhcpv4.Discover))
	if res.Verdict != Drop || res.Reason != "pool exhausted" {
		t.Errorf("11th client: %v %q", res.Verdict, res.Reason)
	}
}

func TestBOOTP(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(0xaa) // the reserved printer
	req := c.msg(dhcpv4.Discover)
	req.Options.Reset() // BOOTP: no DHCP message type
	req.NoCookie = true
	res, rep := e.handle(req)
	if res.Verdict != Reply || rep == nil {
		t.Fatalf("BOOTP request dropped: %s", res.Reason)
	}
	if !rep.IsBOOTP() || rep.YIAddr.String() != "198.18.0.10" || string(rep.BootFile()) != "printer.bin" || rep.SIAddr != serverAddr {
		t.Errorf("BOOTP reply: bootp %v yiaddr %v file %q siaddr %v", rep.IsBOOTP(), rep.YIAddr, rep.BootFile(), rep.SIAddr)
	}
	l, _ := e.store.Get(t.Context(), rep.YIAddr)
	if !l.Expires.IsZero() {
		t.Errorf("BOOTP lease expires %v, want never", l.Expires)
	}
	// A dynamic BOOTP client on the same subnet gets a pool address.
	d := newClient(50)
	req = d.msg(dhcpv4.Discover)
	req.Options.Reset()
	res, rep = e.handle(req)
	if res.Verdict != Reply || rep == nil {
		t.Fatalf("dynamic BOOTP dropped: %s", res.Reason)
	}
	b, _ := rep.AppendBinary(nil)
	if len(b) < dhcpv4.MinLen {
		t.Errorf("BOOTP reply of %d bytes", len(b))
	}
}

func TestBOOTPOffSubnet(t *testing.T) {
	e := newEnv(t, testConfig)
	c := newClient(51)
	c.giadr = relayAddr
	req := c.msg(dhcpv4.Discover)
	req.Options.Del(dhcpv4.OptMessageType)
	if res, _ := e.handle(req); res.Verdict != Drop {
		t.Error("BOOTP answered on a bootp: off subnet")
	}
}

const classConfig = `
interfaces: [s0]
classes:
  - name: pxe
    match:
      vendor-class: "PXEClient*"
    options:
      domain-name: boot.example.test
    boot-file: undionly.kpxe
shared-networks:
  - name: floor1
    interface: s0
    subnets:
      - subnet: 198.18.0.0/24
        server-address: 198.18.0.1
        pools:
          - range: 198.18.0.100-198.18.0.101
          - range: 198.18.0.200-198.18.0.210
            classes: [pxe]
      - subnet: 198.18.2.0/24
        server-address: 198.18.2.1
        pools:
          - range: 198.18.2.100-198.18.2.110
subnets:
  - subnet: 198.18.1.0/24
    server-address: 198.18.1.2
    pools:
      - range: 198.18.1.100-198.18.1.200
    reservations:
      - circuit-id: "port7"
        address: 198.18.1.7
`

func TestClassesSelectPoolsAndOptions(t *testing.T) {
	e := newEnv(t, classConfig)
	pxe := newClient(60)
	pxe.opts = func(m *dhcpv4.Message) {
		m.Options.SetString(dhcpv4.OptVendorClass, "PXEClient:Arch:00000:UNDI:002001")
	}
	res, offer := e.handle(pxe.msg(dhcpv4.Discover))
	mustType(t, res, offer, dhcpv4.Offer)
	if !netip.MustParsePrefix("198.18.0.192/27").Contains(offer.YIAddr) {
		t.Errorf("PXE client got %v, want the pxe pool", offer.YIAddr)
	}
	if d, _ := offer.DomainName(); string(d) != "boot.example.test" {
		t.Errorf("class option domain-name %q", d)
	}
	if string(offer.BootFile()) != "undionly.kpxe" {
		t.Errorf("class boot file %q", offer.BootFile())
	}
	plain := newClient(61)
	res, offer = e.handle(plain.msg(dhcpv4.Discover))
	mustType(t, res, offer, dhcpv4.Offer)
	if netip.MustParsePrefix("198.18.0.192/27").Contains(offer.YIAddr) {
		t.Errorf("client outside the class got %v from the pxe pool", offer.YIAddr)
	}
	if _, ok := offer.DomainName(); ok || len(offer.BootFile()) != 0 {
		t.Error("class settings given to a client outside the class")
	}
}

func TestSharedNetworkSpillsToSecondSubnet(t *testing.T) {
	e := newEnv(t, classConfig)
	e.in.Subnets = e.cfg.SubnetsOn("s0", []netip.Addr{serverAddr})
	var got []netip.Addr
	for i := range 4 {
		ack := e.dora(newClient(byte(70 + i)))
		got = append(got, ack.YIAddr)
	}
	// Two addresses in the first subnet's open pool, then the second subnet of the link.
	second := netip.MustParsePrefix("198.18.2.0/24")
	if second.Contains(got[0]) || second.Contains(got[1]) || !second.Contains(got[2]) || !second.Contains(got[3]) {
		t.Errorf("addresses %v, want two from 198.18.0.0/24 then 198.18.2.0/24", got)
	}
	_, ack := e.handle(newClient(80).msg(dhcpv4.Discover))
	if sid, _ := ack.ServerID(); !second.Contains(ack.YIAddr) || sid.String() != "198.18.2.1" {
		t.Errorf("offer %v from server id %v; want the second subnet's server address", ack.YIAddr, sid)
	}
}

func TestReservationByCircuitID(t *testing.T) {
	e := newEnv(t, classConfig)
	c := newClient(90)
	c.giadr = relayAddr
	c.opts = func(m *dhcpv4.Message) {
		m.Options.Set(dhcpv4.OptRelayAgentInfo, []byte{1, 5, 'p', 'o', 'r', 't', '7'})
	}
	ack := e.dora(c)
	if ack.YIAddr.String() != "198.18.1.7" {
		t.Errorf("client on circuit port7 got %v, want 198.18.1.7", ack.YIAddr)
	}
}

// Relay agents can name the client's subnet apart from giaddr: link
// selection (RFC 3527) and subnet selection (RFC 3011); and ask for their
// own address as server identifier (RFC 5107).
func TestRelaySubnetSelection(t *testing.T) {
	e := newEnv(t, testConfig)
	other := netip.MustParsePrefix("198.18.0.0/24")
	for _, tc := range []struct {
		name string
		opts func(*dhcpv4.Message)
	}{
		{"link-selection", func(m *dhcpv4.Message) {
			m.Options.Set(dhcpv4.OptRelayAgentInfo, []byte{1, 2, 'r', '1', 5, 4, 198, 18, 0, 0})
		}},
		{"subnet-selection", func(m *dhcpv4.Message) {
			m.Options.SetAddr(dhcpv4.OptSubnetSelection, netip.MustParseAddr("198.18.0.0"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(110)
			c.giadr = relayAddr // in 198.18.1.0/24, but the option names 198.18.0.0/24
			c.opts = tc.opts
			res, offer := e.handle(c.msg(dhcpv4.Discover))
			mustType(t, res, offer, dhcpv4.Offer)
			if !other.Contains(offer.YIAddr) {
				t.Errorf("offered %v, want an address of 198.18.0.0/24", offer.YIAddr)
			}
			if res.Dest.Addr != netip.AddrPortFrom(relayAddr, ServerPort) {
				t.Errorf("reply to %v, want the relay", res.Dest.Addr)
			}
		})
	}
	t.Run("server-id-override", func(t *testing.T) {
		c := newClient(111)
		c.giadr = relayAddr
		c.opts = func(m *dhcpv4.Message) {
			m.Options.Set(dhcpv4.OptRelayAgentInfo, []byte{1, 2, 'r', '1', 11, 4, 198, 18, 1, 1})
		}
		res, offer := e.handle(c.msg(dhcpv4.Discover))
		mustType(t, res, offer, dhcpv4.Offer)
		if sid, _ := offer.ServerID(); sid != relayAddr {
			t.Errorf("server id %v, want the override %v", sid, relayAddr)
		}
		// The client's REQUEST names the override as server: it is ours.
		req := c.msg(dhcpv4.Request)
		req.Options.SetAddr(dhcpv4.OptRequestedIP, offer.YIAddr)
		req.Options.SetAddr(dhcpv4.OptServerID, relayAddr)
		res, ack := e.handle(req)
		mustType(t, res, ack, dhcpv4.Ack)
	})
}
