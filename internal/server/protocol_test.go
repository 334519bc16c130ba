package server_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
)

// The protocol rules the handler tests check without a network, checked
// again over real sockets in namespaces: INFORM, DECLINE, NAK, BOOTP.

const protocolConfig = `
interfaces: [s0]
lease-store: {path: STORE}
lease-time: 1h
decline-quarantine: 1h
subnets:
  - subnet: 198.18.0.0/22
    server-address: 198.18.0.1
    bootp: dynamic
    pools:
      - range: 198.18.0.10-198.18.0.11
    options:
      router: 198.18.0.1
      dns-servers: [198.18.0.1]
      domain-name: proto.example.test
`

func TestProtocolOverNetwork(t *testing.T) {
	l := newLink(t, 22)
	srv := startServer(t, l.srv, protocolConfig)
	c := newRelayClient(t, l.cli)

	t.Run("inform", func(t *testing.T) {
		req := request(100, dhcpv4.Inform)
		req.CIAddr = netip.MustParseAddr("198.18.0.200")
		ack, err := c.exchange(req, 4, time.Second, dhcpv4.Ack)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := ack.DomainName(); string(d) != "proto.example.test" {
			t.Errorf("INFORM ACK domain %q", d)
		}
		if _, ok := ack.LeaseTime(); ok || ack.YIAddr != netip.IPv4Unspecified() {
			t.Errorf("INFORM ACK gives a lease: yiaddr %v", ack.YIAddr)
		}
		if _, err := srv.store.Get(t.Context(), req.CIAddr); !errors.Is(err, lease.ErrNotFound) {
			t.Errorf("INFORM created a lease: %v", err)
		}
	})

	t.Run("nak-wrong-subnet", func(t *testing.T) {
		req := request(101, dhcpv4.Request)
		req.Options.SetAddr(dhcpv4.OptRequestedIP, netip.MustParseAddr("198.18.9.9"))
		m, err := c.exchange(req, 4, time.Second, dhcpv4.Ack)
		if m == nil || err == nil || !strings.HasPrefix(err.Error(), "NAK") {
			t.Fatalf("REQUEST for an address of another subnet: %v, %v; want a NAK", m, err)
		}
	})

	t.Run("decline", func(t *testing.T) {
		ack, err := c.dora(102)
		if err != nil {
			t.Fatal(err)
		}
		dec := request(102, dhcpv4.Decline)
		dec.Options.SetAddr(dhcpv4.OptRequestedIP, ack.YIAddr)
		dec.Options.SetAddr(dhcpv4.OptServerID, netip.MustParseAddr("198.18.0.1"))
		b, err := dec.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.conn.WriteToUDP(b, c.server); err != nil {
			t.Fatal(err)
		}
		pollUntil(t, 5*time.Second, "the declined lease in the store", func() bool {
			got, err := srv.store.Get(t.Context(), ack.YIAddr)
			return err == nil && got.State == lease.Declined
		})
		// The pool has two addresses: one quarantined, so one more client
		// gets the other and the next gets nothing.
		other, err := c.dora(103)
		if err != nil {
			t.Fatal(err)
		}
		if other.YIAddr == ack.YIAddr {
			t.Fatalf("declined address %v given again", ack.YIAddr)
		}
		if m, err := c.exchange(request(104, dhcpv4.Discover), 2, 500*time.Millisecond, dhcpv4.Offer); err == nil {
			t.Errorf("offer of %v with the pool used up and one address quarantined", m.YIAddr)
		}
	})
}

func TestBOOTPOverNetwork(t *testing.T) {
	l := newLink(t, 22)
	srv := startServer(t, l.srv, protocolConfig)
	c := newRelayClient(t, l.cli)
	req := request(200, dhcpv4.Discover)
	req.Options.Reset() // plain BOOTP: no DHCP message type
	req.NoCookie = true
	rep, err := c.exchange(req, 4, time.Second, dhcpv4.MessageType(0))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.IsBOOTP() || rep.Op != dhcpv4.BootReply || !netip.MustParsePrefix("198.18.0.0/22").Contains(rep.YIAddr) {
		t.Fatalf("BOOTP reply: bootp %v op %v yiaddr %v", rep.IsBOOTP(), rep.Op, rep.YIAddr)
	}
	got, err := srv.store.Get(t.Context(), rep.YIAddr)
	if err != nil || got.State != lease.Bound || !got.Expires.IsZero() {
		t.Errorf("BOOTP lease %+v, %v; want bound, never expiring", got, err)
	}
}
