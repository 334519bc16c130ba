package dhcpclient

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"bootd/internal/dhcpv4"
	"bootd/internal/testnet"
)

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", time.Hour: "1h", 90 * time.Second: "1m30s", 36 * time.Hour: "1d12h",
		24*time.Hour + time.Second: "1d1s", 500 * time.Millisecond: "500ms",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestSummary(t *testing.T) {
	t.Parallel()
	m := new(dhcpv4.Message)
	m.Reset()
	m.Op = dhcpv4.BootReply
	m.YIAddr = netip.MustParseAddr("198.18.0.100")
	m.SetMessageType(dhcpv4.Ack)
	m.Options.SetAddr(dhcpv4.OptSubnetMask, netip.MustParseAddr("255.255.255.0"))
	m.Options.SetAddrs(dhcpv4.OptRouter, netip.MustParseAddr("198.18.0.1"))
	m.Options.SetDuration(dhcpv4.OptLeaseTime, time.Hour)
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	want := "client 02:00:00:00:00:01 got 198.18.0.100/24, router 198.18.0.1, lease 1h"
	if got := Summary(mac, m); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

// fakeServer answers on s0 of ns with whatever reply builds (nil: no
// answer), broadcast to port 68. It counts the requests it got.
type fakeServer struct {
	conn     *net.UDPConn
	requests atomic.Int32
}

func newFakeServer(t *testing.T, ns *testnet.Namespace, reply func(req *dhcpv4.Message, n int) []*dhcpv4.Message) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	err := ns.Do(func() error {
		lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
			var serr error
			rc.Control(func(fd uintptr) {
				if serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, "s0"); serr == nil {
					serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
				}
			})
			return serr
		}}
		pc, err := lc.ListenPacket(context.Background(), "udp4", "0.0.0.0:67")
		if err == nil {
			f.conn = pc.(*net.UDPConn)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, _, err := f.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			req := new(dhcpv4.Message)
			if req.UnmarshalBinary(buf[:n]) != nil {
				continue
			}
			for _, r := range reply(req, int(f.requests.Add(1))) {
				b, _ := r.MarshalBinary()
				f.conn.WriteToUDPAddrPort(b, netip.MustParseAddrPort("255.255.255.255:68"))
			}
		}
	}()
	t.Cleanup(func() {
		f.conn.Close()
		<-done
	})
	return f
}

func replyTo(req *dhcpv4.Message, mt dhcpv4.MessageType) *dhcpv4.Message {
	r := new(dhcpv4.Message)
	r.Reset()
	r.Op = dhcpv4.BootReply
	r.HType, r.HLen, r.CHAddr, r.XID = req.HType, req.HLen, req.CHAddr, req.XID
	r.Flags = dhcpv4.FlagBroadcast
	r.YIAddr = netip.MustParseAddr("198.18.0.100")
	r.SetMessageType(mt)
	r.Options.SetAddr(dhcpv4.OptServerID, netip.MustParseAddr("198.18.0.1"))
	return r
}

func pair(t *testing.T) (srv, cli *testnet.Namespace) {
	srv = testnet.New(t, "srv")
	cli = testnet.New(t, "cli")
	testnet.Veth(t, srv, "s0", cli, "c0")
	srv.IP("addr", "add", "198.18.0.1/24", "dev", "s0")
	return srv, cli
}

func openIn(t *testing.T, ns *testnet.Namespace, cfg Config) *Client {
	t.Helper()
	var c *Client
	if err := InNamespace(ns.Path(), func() (err error) { c, err = Open(cfg); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestDORANak: a lost DISCOVER is retransmitted, replies for other xids
// and chaddrs are ignored, a second OFFER is reported but not used, and a
// NAK to the REQUEST is a *NAKError.
func TestDORANak(t *testing.T) {
	t.Parallel()
	srv, cli := pair(t)
	f := newFakeServer(t, srv, func(req *dhcpv4.Message, n int) []*dhcpv4.Message {
		mt, _ := req.MessageType()
		switch {
		case mt == dhcpv4.Discover && n == 1:
			return nil // lost
		case mt == dhcpv4.Discover:
			other := replyTo(req, dhcpv4.Offer)
			other.XID++
			stranger := replyTo(req, dhcpv4.Offer)
			stranger.CHAddr[5]++
			second := replyTo(req, dhcpv4.Offer)
			second.Options.SetAddr(dhcpv4.OptServerID, netip.MustParseAddr("198.18.0.9"))
			return []*dhcpv4.Message{other, stranger, replyTo(req, dhcpv4.Offer), second}
		case mt == dhcpv4.Request:
			nak := replyTo(req, dhcpv4.Nak)
			nak.YIAddr = netip.IPv4Unspecified()
			nak.Options.SetString(dhcpv4.OptMessage, "wrong network")
			return []*dhcpv4.Message{nak}
		}
		return nil
	})
	var got []string
	var secs []uint16
	c := openIn(t, cli, Config{
		Interface: "c0", Backoff: []time.Duration{200 * time.Millisecond},
		Sent: func(m *dhcpv4.Message, _ int, _ netip.AddrPort) { secs = append(secs, m.Secs) },
		Received: func(r *Reply) {
			mt, _ := r.Msg.MessageType()
			got = append(got, mt.String()+"/"+r.Ignored)
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer, _, err := c.DORA(ctx)
	var nak *NAKError
	if !errors.As(err, &nak) || nak.Message != "wrong network" || nak.Server != netip.MustParseAddr("198.18.0.1") {
		t.Fatalf("DORA error %v, want a NAK from 198.18.0.1 saying wrong network", err)
	}
	if offer == nil || offer.YIAddr != netip.MustParseAddr("198.18.0.100") {
		t.Errorf("offer %v", offer)
	}
	if n := f.requests.Load(); n != 3 {
		t.Errorf("server got %d requests, want DISCOVER twice and REQUEST", n)
	}
	// The second OFFER arrives during the REQUEST exchange or is dropped
	// with the DISCOVER's; either way it is never used.
	if len(got) < 2 || got[0] != "OFFER/" || got[len(got)-1] != "NAK/" {
		t.Errorf("replies reported %q, want the first OFFER used and the NAK", got)
	}
	for _, g := range got[1 : len(got)-1] {
		if !strings.HasPrefix(g, "OFFER/") || strings.HasSuffix(g, "/") {
			t.Errorf("unexpected reply report %q in %q", g, got)
		}
	}
	if len(secs) != 3 {
		t.Errorf("sent %d requests, want 3", len(secs))
	}
}

func TestNoReplyWithinDeadline(t *testing.T) {
	t.Parallel()
	_, cli := pair(t)
	c := openIn(t, cli, Config{Interface: "c0", MAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.BOOTP(ctx)
	if !errors.Is(err, ErrNoReply) || !strings.Contains(err.Error(), "BOOTREQUEST on c0: 2 attempts") {
		t.Errorf("err %v, want no reply after 2 attempts", err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Errorf("took %v with a 1.5s deadline", d)
	}
}

func TestCanceled(t *testing.T) {
	t.Parallel()
	_, cli := pair(t)
	c := openIn(t, cli, Config{Interface: "c0"})
	ctx, cancel := context.WithCancel(context.Background())
	var sent atomic.Int32
	c.cfg.Sent = func(*dhcpv4.Message, int, netip.AddrPort) {
		if sent.Add(1) == 1 {
			cancel()
		}
	}
	_, _, err := c.DORA(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
}
