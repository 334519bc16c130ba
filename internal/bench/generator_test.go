package bench

import (
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/ipv4"

	"bootd/internal/dhcpv4"
)

// newTestGenerator builds a generator with no socket: tests drive its state
// machine with start, stamp, handle and expire.
func newTestGenerator(t testing.TB, clients int, mix Mix) *Generator {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Server = netip.MustParseAddr("198.18.0.1")
	cfg.GIAddr = netip.MustParseAddr("198.18.0.2")
	cfg.Clients, cfg.Mix = clients, mix
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	g := &Generator{cfg: cfg, xc: newXIDCodec(clients), giaddr: cfg.GIAddr}
	if err := g.init(); err != nil {
		t.Fatal(err)
	}
	return g
}

// fakeServer answers requests the way a server would, with chosen types.
type fakeServer struct {
	m   dhcpv4.Message
	out dhcpv4.Message
	buf []byte
}

// answer parses the request in msg and returns the reply of type mt.
func (s *fakeServer) answer(t testing.TB, msg *ipv4.Message, mt dhcpv4.MessageType) []byte {
	t.Helper()
	if err := s.m.UnmarshalBinary(msg.Buffers[0]); err != nil {
		t.Fatal(err)
	}
	o := &s.out
	o.Reset()
	o.Op = dhcpv4.BootReply
	o.XID, o.HType, o.HLen, o.CHAddr, o.GIAddr = s.m.XID, s.m.HType, s.m.HLen, s.m.CHAddr, s.m.GIAddr
	// The same address for every client: this server only checks the
	// generator.
	o.YIAddr = netip.AddrFrom4([4]byte{198, 18, 7, 7})
	o.SetMessageType(mt)
	o.Options.SetAddr(dhcpv4.OptServerID, netip.AddrFrom4([4]byte{198, 18, 0, 1}))
	var err error
	s.buf, err = o.AppendBinary(s.buf[:0])
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), s.buf...) // a copy: replies are kept side by side
}

func TestGeneratorDORA(t *testing.T) {
	g := newTestGenerator(t, 4, DefaultMix())
	var srv fakeServer
	if !g.start() {
		t.Fatal("no client started")
	}
	ms := g.stamp(10)
	if len(ms) != 1 || g.busy != 1 {
		t.Fatalf("%d requests queued, %d busy; want 1 and 1", len(ms), g.busy)
	}
	offer := srv.answer(t, &ms[0], dhcpv4.Offer)
	if mt, _ := srv.m.MessageType(); mt != dhcpv4.Discover {
		t.Fatalf("first request is a %v", mt)
	}
	ack := srv.answer(t, &ms[0], dhcpv4.Ack) // to the DISCOVER: wrong for this phase
	g.handle(ack, 20)
	if g.st.stray != 1 {
		t.Errorf("ACK to a DISCOVER: stray %d, want 1", g.st.stray)
	}
	g.handle(offer, 30)
	ms = g.stamp(40)
	if len(ms) != 1 {
		t.Fatalf("OFFER answered by %d requests", len(ms))
	}
	req := ms[0].Buffers[0]
	var m dhcpv4.Message
	if err := m.UnmarshalBinary(req); err != nil {
		t.Fatal(err)
	}
	ri, _ := m.RequestedIP()
	sid, _ := m.ServerID()
	if mt, _ := m.MessageType(); mt != dhcpv4.Request || ri.String() != "198.18.7.7" || sid.String() != "198.18.0.1" {
		t.Fatalf("after the OFFER: %v for %v from %v", mt, ri, sid)
	}
	g.handle(offer, 45) // duplicate OFFER
	if g.st.stray != 2 {
		t.Errorf("duplicate OFFER: stray %d, want 2", g.st.stray)
	}
	g.handle(srv.answer(t, &ms[0], dhcpv4.Ack), 100)
	if g.st.completed[DORA] != 1 || g.busy != 0 || g.st.dora.n != 1 || g.st.dora.max != 90 || g.st.request.max != 60 || g.st.offer.max != 20 {
		t.Errorf("after the ACK: completed %d busy %d, latencies dora %d request %d offer %d",
			g.st.completed[DORA], g.busy, g.st.dora.max, g.st.request.max, g.st.offer.max)
	}
	cl := g.Clients()
	if len(cl) != 1 || !cl[0].Leased || cl[0].Addr.String() != "198.18.7.7" || cl[0].MAC.String() != "02:bb:00:00:00:00" {
		t.Errorf("Clients() = %+v", cl)
	}
	// The old exchange's deadline has passed and is no drop.
	g.expire(int64(time.Hour))
	if g.st.drops != 0 || g.tq.size != 0 {
		t.Errorf("stale deadlines dropped %d exchanges, %d left queued", g.st.drops, g.tq.size)
	}
}

func TestGeneratorTimeoutAndNak(t *testing.T) {
	g := newTestGenerator(t, 2, DefaultMix())
	var srv fakeServer
	g.start()
	g.start()
	if g.start() {
		t.Fatal("a third exchange started with two clients")
	}
	ms := g.stamp(0)
	late := srv.answer(t, &ms[0], dhcpv4.Offer)
	g.handle(srv.answer(t, &ms[1], dhcpv4.Offer), 5)
	ms = g.stamp(10) // REQUEST of client 1: deadline 10+timeout
	nak := srv.answer(t, &ms[0], dhcpv4.Nak)
	timeout := int64(g.cfg.Timeout)
	g.expire(timeout - 1)
	if g.st.drops != 0 {
		t.Fatalf("dropped before the deadline")
	}
	g.expire(timeout) // client 0's DISCOVER
	if g.st.drops != 1 || g.busy != 1 {
		t.Fatalf("at the deadline: drops %d busy %d, want 1 and 1", g.st.drops, g.busy)
	}
	g.handle(late, timeout+1)
	if g.st.stray != 1 {
		t.Errorf("OFFER after the timeout: stray %d, want 1", g.st.stray)
	}
	g.handle(nak, timeout+2)
	if g.st.naks != 1 || g.busy != 0 || g.st.completed[DORA] != 0 {
		t.Errorf("NAK: naks %d busy %d completed %d", g.st.naks, g.busy, g.st.completed[DORA])
	}
	g.expire(timeout + 10)
	if g.st.drops != 1 {
		t.Errorf("the NAKed REQUEST timed out as well: drops %d", g.st.drops)
	}
	// A reply for a client number out of range, and one with the wrong MAC.
	wrong := srv.answer(t, &ms[0], dhcpv4.Ack)
	wrong[offCHAddr+5] ^= 1
	g.handle(wrong, 0)
	if g.st.stray != 2 {
		t.Errorf("wrong chaddr: stray %d, want 2", g.st.stray)
	}
}

// TestGeneratorMix runs renew, release and inform on clients with leases,
// and DORA instead on clients without.
func TestGeneratorMix(t *testing.T) {
	g := newTestGenerator(t, 1, Mix{Release: 1})
	var srv fakeServer
	g.start() // no lease yet: a DORA
	ms := g.stamp(0)
	g.handle(srv.answer(t, &ms[0], dhcpv4.Offer), 1)
	ms = g.stamp(2)
	g.handle(srv.answer(t, &ms[0], dhcpv4.Ack), 3)
	if g.st.started[DORA] != 1 || !g.clients[0].leased {
		t.Fatalf("first exchange: started %v, leased %v", g.st.started, g.clients[0].leased)
	}
	g.start()
	ms = g.stamp(4)
	var m dhcpv4.Message
	if err := m.UnmarshalBinary(ms[0].Buffers[0]); err != nil {
		t.Fatal(err)
	}
	sid, _ := m.ServerID()
	if mt, _ := m.MessageType(); mt != dhcpv4.Release || m.CIAddr.String() != "198.18.7.7" || sid.String() != "198.18.0.1" {
		t.Fatalf("second exchange: %v ciaddr %v server %v, want a RELEASE of 198.18.7.7 to 198.18.0.1", mt, m.CIAddr, sid)
	}
	if g.st.completed[Release] != 1 || g.busy != 0 || g.clients[0].leased || !g.clients[0].released {
		t.Fatalf("release not complete once sent")
	}
	cl := g.Clients()
	if len(cl) != 1 || cl[0].Leased || !cl[0].Released {
		t.Errorf("Clients() = %+v", cl)
	}

	for _, k := range []Kind{Renew, Inform} {
		g := newTestGenerator(t, 1, DefaultMix())
		g.start()
		ms := g.stamp(0)
		g.handle(srv.answer(t, &ms[0], dhcpv4.Offer), 1)
		ms = g.stamp(2)
		g.handle(srv.answer(t, &ms[0], dhcpv4.Ack), 3)
		g.cfg.Mix = Mix{}
		g.cfg.Mix[k] = 1
		g.start()
		ms = g.stamp(10)
		if err := m.UnmarshalBinary(ms[0].Buffers[0]); err != nil {
			t.Fatal(err)
		}
		want := map[Kind]dhcpv4.MessageType{Renew: dhcpv4.Request, Inform: dhcpv4.Inform}[k]
		if mt, _ := m.MessageType(); mt != want || m.CIAddr.String() != "198.18.7.7" {
			t.Fatalf("%v: sent %v with ciaddr %v", k, mt, m.CIAddr)
		}
		g.handle(srv.answer(t, &ms[0], dhcpv4.Ack), 25)
		if g.st.completed[k] != 1 || g.busy != 0 {
			t.Errorf("%v: completed %v busy %d", k, g.st.completed, g.busy)
		}
		h := map[Kind]*histogram{Renew: &g.st.renew, Inform: &g.st.inform}[k]
		if h.n != 1 || h.max != 15 {
			t.Errorf("%v: latency n %d max %d, want 1 and 15", k, h.n, h.max)
		}
	}
}

// TestGeneratorNoAllocs pins a whole DORA through the state machine (start,
// stamp, OFFER, REQUEST, ACK) at zero allocations.
func TestGeneratorNoAllocs(t *testing.T) {
	g := newTestGenerator(t, 8, DefaultMix())
	var srv fakeServer
	g.start()
	ms := g.stamp(0)
	offer := append([]byte(nil), srv.answer(t, &ms[0], dhcpv4.Offer)...)
	ack := append([]byte(nil), srv.answer(t, &ms[0], dhcpv4.Ack)...)
	g.handle(offer, 1) // warm the parser's scratch
	g.stamp(1)
	g.handle(ack, 2)
	now := int64(10)
	allocs := testing.AllocsPerRun(1000, func() {
		// Client 0 comes round again every 8 starts; patch the xid of the
		// canned replies to whichever client starts.
		g.start()
		ms := g.stamp(now)
		copy(offer[offXID:offXID+4], ms[0].Buffers[0][offXID:offXID+4])
		copy(offer[offCHAddr:offCHAddr+6], ms[0].Buffers[0][offCHAddr:offCHAddr+6])
		copy(ack[offXID:offXID+4], offer[offXID:offXID+4])
		copy(ack[offCHAddr:offCHAddr+6], offer[offCHAddr:offCHAddr+6])
		g.handle(offer, now+1)
		g.stamp(now + 2)
		g.handle(ack, now+3)
		g.expire(now + 4 + int64(g.cfg.Timeout)) // retires the stale deadlines: the queue stays short
		now += 10
	})
	if allocs != 0 {
		t.Errorf("%v allocations per DORA, want 0", allocs)
	}
	if g.st.completed[DORA] < 1000 || g.st.stray != 0 {
		t.Errorf("completed %d stray %d", g.st.completed[DORA], g.st.stray)
	}
}
