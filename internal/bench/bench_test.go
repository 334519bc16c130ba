package bench

import (
	"net/netip"
	"testing"

	"bootd/internal/dhcpv4"
	"bootd/internal/netio"
)

// BenchmarkPacket measures the generator's per-packet work: building a
// request from its template, and parsing a reply.
func BenchmarkPacket(b *testing.B) {
	tm, err := buildTemplate(reqSelect, Relay, netip.MustParseAddr("198.18.0.2"), false)
	if err != nil {
		b.Fatal(err)
	}
	mac := clientMAC(0, 9)
	b.Run("encode", func(b *testing.B) {
		buf := make([]byte, 0, 512)
		b.ReportAllocs()
		for b.Loop() {
			buf = tm.encode(buf, mac, 9, [4]byte{}, [4]byte{198, 18, 0, 9}, [4]byte{198, 18, 0, 1})
		}
	})
	b.Run("parse", func(b *testing.B) {
		rb := replyBytes(b, dhcpv4.Ack, 9, mac)
		var m dhcpv4.Message
		b.ReportAllocs()
		for b.Loop() {
			parseReply(&m, rb)
		}
	})
}

// BenchmarkDORA measures one whole DORA through the generator's state
// machine, socket excluded: two requests built, two replies parsed and
// matched, timeouts queued and retired.
func BenchmarkDORA(b *testing.B) {
	g := newTestGenerator(b, 1024, DefaultMix())
	var srv fakeServer
	g.start()
	ms := g.stamp(0)
	offer := srv.answer(b, &ms[0], dhcpv4.Offer)
	ack := srv.answer(b, &ms[0], dhcpv4.Ack)
	g.handle(offer, 1)
	g.stamp(1)
	g.handle(ack, 2)
	now := int64(10)
	b.ReportAllocs()
	for b.Loop() {
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
	}
	if g.st.stray != 0 {
		b.Fatalf("%d stray", g.st.stray)
	}
}

// BenchmarkNullAnswer measures the null responder's work per request.
func BenchmarkNullAnswer(b *testing.B) {
	n := &NullResponder{}
	var err error
	if n.leaseT, err = buildNullTemplate(true); err != nil {
		b.Fatal(err)
	}
	tm, err := buildTemplate(reqDiscover, Relay, netip.MustParseAddr("198.18.0.2"), false)
	if err != nil {
		b.Fatal(err)
	}
	req := tm.encode(nil, clientMAC(0, 9), 9, [4]byte{}, [4]byte{}, [4]byte{})
	p := netio.Packet{Buf: req, N: len(req), Local: netip.MustParseAddr("198.18.0.1")}
	buf := make([]byte, 0, dhcpv4.MinLen)
	b.ReportAllocs()
	for b.Loop() {
		n.answer(buf, &p)
	}
}
