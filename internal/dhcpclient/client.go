// Package dhcpclient is a small diagnostic DHCPv4/BOOTP client: it runs one
// exchange (DISCOVER/OFFER/REQUEST/ACK, INFORM, a BOOTP request, RELEASE)
// against whatever servers answer on a link, and reports every reply. It
// never configures the interface; bootd probe and bootd demo are built on it.
//
// The client uses a plain UDP socket bound to 0.0.0.0:68, tied to the
// interface with SO_BINDTODEVICE and allowed to broadcast. Requests go to
// 255.255.255.255:67. Since the interface usually has no address, requests
// other than INFORM set the broadcast flag, so that servers broadcast their
// replies and the socket receives them (RFC 2131 section 4.1).
//
// A RELEASE should be unicast to the server from the leased address; with
// no address on the interface that cannot be sent over UDP, so Release
// broadcasts it, with ciaddr set to the released address and the server
// identifier option naming the server. bootd accepts such a RELEASE; a
// server that insists on unicast will ignore it.
//
// Requests are retransmitted with exponential back-off (1s, 2s, 4s, then
// every 4s) until a reply comes or the context ends; without a context
// deadline an exchange gives up after DefaultTimeout. Replies are parsed
// with bootd/internal/dhcpv4 and matched by xid and chaddr; others are
// ignored.
//
// InNamespace runs code inside a named network namespace, for the demo and
// for tests: open the client there, use it from anywhere.
package dhcpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"bootd/internal/dhcpv4"
)

// Ports of BOOTP and DHCP.
const (
	ServerPort = 67
	ClientPort = 68
)

// DefaultTimeout bounds an exchange whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// DefaultBackoff is the time waited for a reply after each transmission;
// the last value repeats until the deadline.
var DefaultBackoff = []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}

// ErrNoReply is wrapped by the error of an exchange no server answered.
var ErrNoReply = errors.New("no reply")

// NAKError is the error of a REQUEST a server refused.
type NAKError struct {
	Server  netip.Addr // its server identifier, if it sent one
	Message string     // option 56, if any
	Reply   *dhcpv4.Message
}

func (e *NAKError) Error() string {
	s := "NAK"
	if e.Server.IsValid() {
		s += " from " + e.Server.String()
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Config says which interface to use and what to put in requests.
type Config struct {
	Interface     string           // required
	MAC           net.HardwareAddr // chaddr; nil means the interface's address
	ClientID      []byte           // option 61, if set
	Hostname      string           // option 12, if set
	VendorClass   string           // option 60, if set
	RequestedAddr netip.Addr       // option 50 in DISCOVER, if valid
	Backoff       []time.Duration  // nil means DefaultBackoff

	// Sent, if set, is called for every request sent (attempt counts from 1).
	Sent func(m *dhcpv4.Message, attempt int, to netip.AddrPort)
	// Received, if set, is called for every reply whose xid and chaddr
	// match the exchange under way, whether the exchange uses it or not.
	Received func(r *Reply)
}

// Reply is a reply received for the exchange under way.
type Reply struct {
	Msg  *dhcpv4.Message
	From netip.AddrPort
	To   netip.AddrPort // destination of the IP packet; invalid if unknown
	Len  int            // bytes of the BOOTP message
	// Ignored says why the exchange did not use the reply ("" if it did),
	// e.g. a second OFFER after the first was taken.
	Ignored string
}

// Client is a socket on UDP port 68 of one interface.
type Client struct {
	cfg  Config
	conn *net.UDPConn
	ifi  *net.Interface
	mac  net.HardwareAddr
	addr netip.Prefix // the interface's first IPv4 address, if any
	buf  []byte
	oob  []byte
}

// Open looks the interface up and opens the socket. Both happen in the
// calling thread's network namespace (see InNamespace); the Client may then
// be used from any goroutine, one exchange at a time.
func Open(cfg Config) (*Client, error) {
	if cfg.Interface == "" {
		return nil, errors.New("no interface given")
	}
	ifi, err := net.InterfaceByName(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", cfg.Interface, err)
	}
	mac := cfg.MAC
	if mac == nil {
		mac = ifi.HardwareAddr
	}
	if len(mac) == 0 || len(mac) > 16 {
		return nil, fmt.Errorf("interface %s has no usable hardware address; give one with --mac", cfg.Interface)
	}
	c := &Client{cfg: cfg, ifi: ifi, mac: mac, buf: make([]byte, 1<<16), oob: make([]byte, 256)}
	if addrs, err := ifi.Addrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && ip.Unmap().Is4() {
					ones, _ := ipn.Mask.Size()
					c.addr = netip.PrefixFrom(ip.Unmap(), ones)
					break
				}
			}
		}
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			s := int(fd)
			if serr = unix.SetsockoptString(s, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, cfg.Interface); serr != nil {
				serr = fmt.Errorf("SO_BINDTODEVICE %s: %w", cfg.Interface, serr)
				return
			}
			for _, o := range [][2]int{{unix.SOL_SOCKET, unix.SO_BROADCAST}, {unix.SOL_SOCKET, unix.SO_REUSEADDR}, {unix.IPPROTO_IP, unix.IP_PKTINFO}} {
				if serr = unix.SetsockoptInt(s, o[0], o[1], 1); serr != nil {
					return
				}
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", ClientPort))
	if err != nil {
		return nil, fmt.Errorf("UDP port %d on %s: %w", ClientPort, cfg.Interface, err)
	}
	c.conn = pc.(*net.UDPConn)
	return c, nil
}

// Close closes the socket.
func (c *Client) Close() error { return c.conn.Close() }

// HardwareAddr is the chaddr the client sends.
func (c *Client) HardwareAddr() net.HardwareAddr { return c.mac }

// InterfaceAddr is the first IPv4 address of the interface, if it has one.
func (c *Client) InterfaceAddr() (netip.Prefix, bool) { return c.addr, c.addr.IsValid() }

var paramRequestList = []byte{
	dhcpv4.OptSubnetMask, dhcpv4.OptRouter, dhcpv4.OptDNSServers, dhcpv4.OptHostName,
	dhcpv4.OptDomainName, dhcpv4.OptMTU, dhcpv4.OptBroadcastAddr, dhcpv4.OptNTPServers,
	dhcpv4.OptLeaseTime, dhcpv4.OptServerID, dhcpv4.OptRenewalTime, dhcpv4.OptRebindingTime,
	dhcpv4.OptDomainSearch, dhcpv4.OptClasslessRoutes,
}

// request builds a request of type mt (0: BOOTP) with the configured options.
func (c *Client) request(mt dhcpv4.MessageType, xid dhcpv4.XID) *dhcpv4.Message {
	m := new(dhcpv4.Message)
	m.Reset()
	m.Op = dhcpv4.BootRequest
	m.SetHardwareAddr(dhcpv4.HTypeEthernet, c.mac)
	m.XID = xid
	if mt == 0 {
		m.Flags = dhcpv4.FlagBroadcast
		return m // plain BOOTP: an empty vendor area (magic cookie only)
	}
	m.SetMessageType(mt)
	if mt == dhcpv4.Discover || mt == dhcpv4.Request {
		m.Flags = dhcpv4.FlagBroadcast
	}
	if len(c.cfg.ClientID) > 0 {
		m.Options.Set(dhcpv4.OptClientID, c.cfg.ClientID)
	}
	if mt == dhcpv4.Release {
		return m
	}
	if c.cfg.Hostname != "" {
		m.Options.SetString(dhcpv4.OptHostName, c.cfg.Hostname)
	}
	if c.cfg.VendorClass != "" {
		m.Options.SetString(dhcpv4.OptVendorClass, c.cfg.VendorClass)
	}
	m.Options.SetUint16(dhcpv4.OptMaxMessageSize, 1500)
	m.Options.Set(dhcpv4.OptParamRequestList, paramRequestList)
	return m
}

// DORA runs DISCOVER, takes the first OFFER, REQUESTs its address from its
// server and returns the OFFER and the ACK. A NAK gives a *NAKError (and the
// OFFER); no reply gives an error wrapping ErrNoReply.
func (c *Client) DORA(ctx context.Context) (offer, ack *dhcpv4.Message, err error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	xid := dhcpv4.XID(rand.Uint32())
	disc := c.request(dhcpv4.Discover, xid)
	if c.cfg.RequestedAddr.IsValid() {
		disc.Options.SetAddr(dhcpv4.OptRequestedIP, c.cfg.RequestedAddr)
	}
	offer, err = c.exchange(ctx, disc, func(m *dhcpv4.Message) (bool, string, error) {
		if t, _ := m.MessageType(); t != dhcpv4.Offer {
			return false, "not an OFFER", nil
		}
		if _, ok := m.ServerID(); !ok {
			return false, "OFFER without server identifier", nil
		}
		return true, "", nil
	})
	if err != nil {
		return nil, nil, err
	}
	sid, _ := offer.ServerID()
	req := c.request(dhcpv4.Request, xid)
	req.Options.SetAddr(dhcpv4.OptRequestedIP, offer.YIAddr)
	req.Options.SetAddr(dhcpv4.OptServerID, sid)
	ack, err = c.exchange(ctx, req, func(m *dhcpv4.Message) (bool, string, error) {
		t, _ := m.MessageType()
		if t != dhcpv4.Ack && t != dhcpv4.Nak {
			return false, "not an ACK or NAK to the REQUEST", nil
		}
		if s, ok := m.ServerID(); ok && s != sid {
			return false, "from " + s.String() + ", not the server requested", nil
		}
		if t == dhcpv4.Nak {
			msg, _ := m.Options.Get(dhcpv4.OptMessage)
			return true, "", &NAKError{Server: sid, Message: string(msg), Reply: m}
		}
		return true, "", nil
	})
	return offer, ack, err
}

// Inform sends an INFORM from the interface's address (ciaddr), which it
// must have, and returns the ACK.
func (c *Client) Inform(ctx context.Context) (*dhcpv4.Message, error) {
	if !c.addr.IsValid() {
		return nil, fmt.Errorf("INFORM needs an IPv4 address on %s (ciaddr), and it has none", c.cfg.Interface)
	}
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	req := c.request(dhcpv4.Inform, dhcpv4.XID(rand.Uint32()))
	req.CIAddr = c.addr.Addr()
	return c.exchange(ctx, req, func(m *dhcpv4.Message) (bool, string, error) {
		if t, _ := m.MessageType(); t != dhcpv4.Ack {
			return false, "not an ACK", nil
		}
		return true, "", nil
	})
}

// BOOTP sends a BOOTREQUEST without DHCP message type and returns the first
// BOOTREPLY without one.
func (c *Client) BOOTP(ctx context.Context) (*dhcpv4.Message, error) {
	ctx, cancel := withDefaultTimeout(ctx)
	defer cancel()
	req := c.request(0, dhcpv4.XID(rand.Uint32()))
	return c.exchange(ctx, req, func(m *dhcpv4.Message) (bool, string, error) {
		if !m.IsBOOTP() {
			return false, "a DHCP reply to a BOOTP request", nil
		}
		return true, "", nil
	})
}

// Release gives addr back to server. It is broadcast (see the package
// documentation), sent once, and has no reply.
func (c *Client) Release(addr, server netip.Addr) error {
	m := c.request(dhcpv4.Release, dhcpv4.XID(rand.Uint32()))
	m.CIAddr = addr
	m.Options.SetAddr(dhcpv4.OptServerID, server)
	b, err := m.MarshalBinary()
	if err != nil {
		return err
	}
	to := netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), ServerPort)
	if c.cfg.Sent != nil {
		c.cfg.Sent(m, 1, to)
	}
	if _, err := c.conn.WriteToUDPAddrPort(b, to); err != nil {
		return fmt.Errorf("sending RELEASE: %w", err)
	}
	return nil
}

func withDefaultTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, DefaultTimeout)
}

// accept decides about a reply of the exchange: use it (done), ignore it
// (with the reason), or end the exchange with an error (a NAK).
type acceptFunc func(m *dhcpv4.Message) (done bool, ignored string, err error)

// exchange sends req to 255.255.255.255:67 and retransmits it with back-off
// until accept takes a reply or ctx ends.
func (c *Client) exchange(ctx context.Context, req *dhcpv4.Message, accept acceptFunc) (*dhcpv4.Message, error) {
	// Unblock a pending read when ctx ends. Every deadline set below is
	// followed by a check of ctx, so this cannot be overwritten unseen.
	stop := context.AfterFunc(ctx, func() { c.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	defer c.conn.SetReadDeadline(time.Time{})

	backoff := c.cfg.Backoff
	if len(backoff) == 0 {
		backoff = DefaultBackoff
	}
	to := netip.AddrPortFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), ServerPort)
	name := requestName(req)
	start := time.Now()
	attempt := 0
	for {
		req.Secs = uint16(min(time.Since(start)/time.Second, 0xffff))
		b, err := req.MarshalBinary()
		if err != nil {
			return nil, err
		}
		attempt++
		if c.cfg.Sent != nil {
			c.cfg.Sent(req, attempt, to)
		}
		if _, err := c.conn.WriteToUDPAddrPort(b, to); err != nil {
			return nil, fmt.Errorf("sending %s: %w", name, err)
		}
		wait := backoff[min(attempt-1, len(backoff)-1)]
		next := time.Now().Add(wait)
		if d, ok := ctx.Deadline(); ok && d.Before(next) {
			next = d
		}
		for {
			c.conn.SetReadDeadline(next)
			if err := ctx.Err(); err != nil {
				return nil, c.ctxError(err, name, attempt, start)
			}
			m, r, err := c.read()
			if err != nil {
				if errors.Is(err, syscall.EAGAIN) || isTimeout(err) {
					break // retransmit, or give up if ctx ended
				}
				return nil, fmt.Errorf("receiving: %w", err)
			}
			if m == nil || m.XID != req.XID {
				continue
			}
			done, ignored, err := accept(m)
			r.Ignored = ignored
			if c.cfg.Received != nil {
				c.cfg.Received(r)
			}
			if done || err != nil {
				return m, err
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, c.ctxError(err, name, attempt, start)
		}
		if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
			return nil, c.ctxError(context.DeadlineExceeded, name, attempt, start)
		}
	}
}

func (c *Client) ctxError(err error, name string, attempts int, start time.Time) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w to %s on %s: %d attempts in %v", ErrNoReply, name, c.cfg.Interface, attempts, time.Since(start).Round(100*time.Millisecond))
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// read reads one datagram; m is nil for one that is not a BOOTREPLY for
// this client's chaddr.
func (c *Client) read() (*dhcpv4.Message, *Reply, error) {
	n, oobn, _, from, err := c.conn.ReadMsgUDPAddrPort(c.buf, c.oob)
	if err != nil {
		return nil, nil, err
	}
	m := new(dhcpv4.Message)
	if m.UnmarshalBinary(c.buf[:n]) != nil || m.Op != dhcpv4.BootReply ||
		int(m.HLen) != len(c.mac) || !bytes.Equal(m.CHAddr[:m.HLen], c.mac) {
		return nil, nil, nil
	}
	r := &Reply{Msg: m, From: netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), Len: n}
	if cms, err := unix.ParseSocketControlMessage(c.oob[:oobn]); err == nil {
		for _, cm := range cms {
			// struct in_pktinfo: ifindex (4 bytes), spec_dst, addr (the header's destination).
			if cm.Header.Level == unix.IPPROTO_IP && cm.Header.Type == unix.IP_PKTINFO && len(cm.Data) >= 12 {
				r.To = netip.AddrPortFrom(netip.AddrFrom4([4]byte(cm.Data[8:12])), ClientPort)
			}
		}
	}
	return m, r, nil
}

func requestName(m *dhcpv4.Message) string {
	if t, ok := m.MessageType(); ok {
		return t.String()
	}
	return "BOOTREQUEST"
}
