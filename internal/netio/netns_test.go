package netio

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// These tests run the Conn in a network namespace of its own, with clients,
// a second client link and a relay in other namespaces (see topo). They need
// root and skip without it.

var allServerLinks = Config{Interfaces: []string{"s0", "s1", "s2", "lo"}}

func TestDiscoverReportsIngress(t *testing.T) {
	t.Parallel()
	tp := newTopo(t, allServerLinks)
	client := udpSocket(t, tp.cli, "c0", 68)
	req := bootRequest(0x1001, tp.c0.HardwareAddr, false, netip.Addr{})
	if _, err := client.WriteToUDPAddrPort(req, netip.AddrPortFrom(limitedBroadcast, 67)); err != nil {
		t.Fatalf("client broadcast from 0.0.0.0:68 on c0: %v", err)
	}
	p := next(t, tp.pkts, func(p Packet) bool { return xidOf(p.Data()) == 0x1001 })
	if p.IfIndex != tp.s0.Index {
		t.Errorf("IfIndex = %d, want %d (s0)", p.IfIndex, tp.s0.Index)
	}
	if want := netip.MustParseAddrPort("0.0.0.0:68"); p.Src != want {
		t.Errorf("Src = %v, want %v", p.Src, want)
	}
	if p.Dst != limitedBroadcast {
		t.Errorf("Dst = %v, want %v", p.Dst, limitedBroadcast)
	}
	if p.Local != srvAddr0 {
		t.Errorf("Local = %v, want %v (s0's address)", p.Local, srvAddr0)
	}
	if !bytes.Equal(p.Data(), req) {
		t.Errorf("payload differs from what the client sent")
	}
}

func TestBroadcastReplyLeavesOnIngressOnly(t *testing.T) {
	t.Parallel()
	tp := newTopo(t, allServerLinks)
	c0 := udpSocket(t, tp.cli, "c0", 68)
	c1frames := packetSocket(t, tp.cli2, tp.c1.Index)

	// Once with the source given, once with the kernel choosing it: the
	// routing table (default dev s1) must not decide the interface either way.
	for _, r := range []Reply{
		{Payload: bootReply(0x2001, netip.Addr{}), IfIndex: tp.s0.Index, Src: srvAddr0, Dst: bcast68},
		{Payload: bootReply(0x2011, netip.Addr{}), IfIndex: tp.s0.Index, Dst: bcast68},
	} {
		if err := tp.conn.Send(r); err != nil {
			t.Fatalf("broadcast on s0 from %v: %v", r.Src, err)
		}
		xid := xidOf(r.Payload)
		from, _ := recvUDP(t, c0, func(_ netip.AddrPort, b []byte) bool { return xidOf(b) == xid })
		if want := netip.AddrPortFrom(srvAddr0, 67); from != want {
			t.Errorf("broadcast %#x reached c0 from %v, want %v", xid, from, want)
		}
	}

	// A marker broadcast on s1, sent after: c1 must see it and nothing
	// before it, so the broadcasts meant for s0 did not leak to s1.
	err := tp.conn.Send(Reply{Payload: bootReply(0x2002, netip.Addr{}), IfIndex: tp.s1.Index, Src: srvAddr1, Dst: bcast68})
	if err != nil {
		t.Fatalf("marker broadcast on s1: %v", err)
	}
	fr := recvFrame(t, c1frames, func(f frame) bool { return f.dport == 68 })
	if got := xidOf(fr.payload); got != 0x2002 {
		t.Fatalf("first DHCP frame on c1 has xid %#x, want the marker 0x2002: a broadcast for s0 leaked", got)
	}
	if fr.ipSrc != srvAddr1 {
		t.Errorf("marker on c1 from %v, want %v", fr.ipSrc, srvAddr1)
	}

	// Without an interface the routing table would choose: refused.
	err = tp.conn.Send(Reply{Payload: bootReply(0x2003, netip.Addr{}), Src: srvAddr0, Dst: bcast68})
	if !errors.Is(err, ErrNoInterface) {
		t.Errorf("broadcast without IfIndex: err = %v, want ErrNoInterface", err)
	}
}

func TestL2UnicastToClientWithoutAddress(t *testing.T) {
	t.Parallel()
	tp := newTopo(t, allServerLinks)
	c0frames := packetSocket(t, tp.cli, tp.c0.Index)
	payload := bootReply(0x3001, yiaddr)

	err := tp.conn.Send(Reply{Payload: payload, IfIndex: tp.s0.Index, Src: srvAddr0, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: tp.c0.HardwareAddr})
	if err != nil {
		t.Fatalf("link-layer unicast to %v at %v: %v", yiaddr, tp.c0.HardwareAddr, err)
	}
	fr := recvFrame(t, c0frames, func(f frame) bool { return f.dport == 68 && f.ipDst == yiaddr })
	if !bytes.Equal(fr.ethDst, tp.c0.HardwareAddr) {
		t.Errorf("Ethernet destination %v, want c0's %v (not broadcast)", fr.ethDst, tp.c0.HardwareAddr)
	}
	if !bytes.Equal(fr.ethSrc, tp.s0.HardwareAddr) {
		t.Errorf("Ethernet source %v, want s0's %v", fr.ethSrc, tp.s0.HardwareAddr)
	}
	if fr.ipSrc != srvAddr0 || fr.sport != 67 {
		t.Errorf("from %v:%d, want %v:67", fr.ipSrc, fr.sport, srvAddr0)
	}
	if !fr.ipSumOK || !fr.udpSumOK {
		t.Errorf("checksums valid: IP %v, UDP %v; want both", fr.ipSumOK, fr.udpSumOK)
	}
	if !bytes.Equal(fr.payload, payload) {
		t.Errorf("payload differs from what the server sent")
	}
	// Delivered without ARP and without leaving a neighbour entry behind.
	if out := tp.srv.IP("neigh", "show", yiaddr.String()); strings.TrimSpace(out) != "" {
		t.Errorf("server has a neighbour entry for %v: %q", yiaddr, out)
	}
	if got := tp.conn.Stats().Sent; got != 1 {
		t.Errorf("Stats().Sent = %d, want 1", got)
	}

	for _, tc := range []struct {
		name string
		r    Reply
		want error
	}{
		{"no interface", Reply{Payload: payload, Src: srvAddr0, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: tp.c0.HardwareAddr}, ErrNoInterface},
		{"no source", Reply{Payload: payload, IfIndex: tp.s0.Index, Dst: netip.AddrPortFrom(yiaddr, 68), HWAddr: tp.c0.HardwareAddr}, ErrNoSource},
	} {
		if err := tp.conn.Send(tc.r); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestRelayReplyFromServiceAddress(t *testing.T) {
	t.Parallel()
	tp := newTopo(t, allServerLinks)
	relay := udpSocket(t, tp.relay, "", 67)
	req := bootRequest(0x4001, net.HardwareAddr{2, 0, 0, 0, 0, 0x41}, false, giaddr)
	if _, err := relay.WriteToUDPAddrPort(req, netip.AddrPortFrom(srvVIP, 67)); err != nil {
		t.Fatalf("relay to %v: %v", srvVIP, err)
	}
	p := next(t, tp.pkts, func(p Packet) bool { return xidOf(p.Data()) == 0x4001 })
	if want := netip.AddrPortFrom(relayAddr, 67); p.IfIndex != tp.s2.Index || p.Src != want || p.Dst != srvVIP || p.Local != srvVIP {
		t.Errorf("relayed request: IfIndex %d Src %v Dst %v Local %v, want %d %v %v %v",
			p.IfIndex, p.Src, p.Dst, p.Local, tp.s2.Index, want, srvVIP, srvVIP)
	}
	// The server layer reads giaddr from the request; so does this test.
	gi := netip.AddrFrom4([4]byte(p.Data()[24:28]))

	// Routed reply: IfIndex zero, source the address the relay talks to,
	// not the kernel's choice (198.18.11.254).
	if err := tp.conn.Send(Reply{Payload: bootReply(0x4001, netip.Addr{}), Src: p.Local, Dst: netip.AddrPortFrom(gi, 67)}); err != nil {
		t.Fatalf("reply to giaddr %v: %v", gi, err)
	}
	from, _ := recvUDP(t, relay, func(_ netip.AddrPort, b []byte) bool { return xidOf(b) == 0x4001 && b[0] == 2 })
	if want := netip.AddrPortFrom(srvVIP, 67); from != want {
		t.Errorf("reply reached the relay from %v, want %v", from, want)
	}

	// Contrast: left to the kernel, the source is s2's address, which a
	// relay forwarding to the service address may not accept.
	if err := tp.conn.Send(Reply{Payload: bootReply(0x4002, netip.Addr{}), Dst: netip.AddrPortFrom(gi, 67)}); err != nil {
		t.Fatalf("reply to giaddr %v, kernel's source: %v", gi, err)
	}
	from, _ = recvUDP(t, relay, func(_ netip.AddrPort, b []byte) bool { return xidOf(b) == 0x4002 })
	if want := netip.AddrPortFrom(srvAddr2, 67); from != want {
		t.Errorf("reply without Src reached the relay from %v, want %v", from, want)
	}
}

func TestUnicastToCiaddr(t *testing.T) {
	t.Parallel()
	tp := newTopo(t, allServerLinks)
	tp.cli.IP("addr", "add", "198.18.10.60/24", "dev", "c0")
	client := udpSocket(t, tp.cli, "c0", 68)
	ciaddr := netip.MustParseAddr("198.18.10.60")

	if err := tp.conn.Send(Reply{Payload: bootReply(0x5001, netip.Addr{}), IfIndex: tp.s0.Index, Src: srvAddr0, Dst: netip.AddrPortFrom(ciaddr, 68)}); err != nil {
		t.Fatalf("unicast to ciaddr %v: %v", ciaddr, err)
	}
	from, _ := recvUDP(t, client, func(_ netip.AddrPort, b []byte) bool { return xidOf(b) == 0x5001 })
	if want := netip.AddrPortFrom(srvAddr0, 67); from != want {
		t.Errorf("reply reached the client from %v, want %v", from, want)
	}
}

func TestDropsOtherInterfaces(t *testing.T) {
	t.Parallel()
	tp := newTopo(t, Config{Interfaces: []string{"s0"}})
	c0 := udpSocket(t, tp.cli, "c0", 68)
	c1 := udpSocket(t, tp.cli2, "c1", 68)
	bcast67 := netip.AddrPortFrom(limitedBroadcast, 67)
	if _, err := c1.WriteToUDPAddrPort(bootRequest(0x6001, tp.c1.HardwareAddr, true, netip.Addr{}), bcast67); err != nil {
		t.Fatal(err)
	}
	if _, err := c0.WriteToUDPAddrPort(bootRequest(0x6002, tp.c0.HardwareAddr, true, netip.Addr{}), bcast67); err != nil {
		t.Fatal(err)
	}
	next(t, tp.pkts, func(p Packet) bool {
		if xidOf(p.Data()) == 0x6001 {
			t.Errorf("request on s1 (not configured) was delivered: %+v", p)
		}
		return xidOf(p.Data()) == 0x6002
	})
	waitFor(t, "one datagram dropped for its interface", func() bool { return tp.conn.Stats().DroppedInterface == 1 })
	if s := tp.conn.Stats(); s.Received != 1 || s.DroppedTruncated != 0 || s.DroppedNoPktinfo != 0 {
		t.Errorf("Stats() = %+v, want Received 1 and no other drops", s)
	}
}

// waitFor polls cond until it holds, failing the test at the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	end := time.NewTimer(time.Until(deadline(t)))
	defer end.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-end.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
