package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"

	"bootd/internal/dhcpclient"
	"bootd/internal/dhcpv4"
)

func probeCommand() *command {
	return &command{
		name:     "probe",
		synopsis: "--iface IF [--inform | --bootp] [--release] [--timeout 10s] [--mac MAC] [--hostname NAME] [--requested-address A]",
		summary:  "ask the DHCP servers on a link for an address and print their replies",
		doc: `Probe is a diagnostic DHCP client. It sends a DISCOVER on the interface,
REQUESTs the address of the first OFFER and prints every reply it gets,
with all its options, the way decode prints messages. It does not
configure the interface.

With --inform it sends an INFORM from the interface's address instead
(the interface must have one); with --bootp a plain BOOTP request. With
--release it gives the leased address back after the ACK. The RELEASE is
broadcast with ciaddr set, since an interface without an address cannot
send it by unicast; bootd accepts it, other servers may ignore it.

Requests are broadcast from UDP port 68, with the broadcast flag set, and
retransmitted after 1s, 2s, 4s, then every 4s, until --timeout. Probe
needs root (port 68, SO_BINDTODEVICE), and another DHCP client on the
interface may take the replies.

The exit status is 0 when an ACK (or a BOOTP reply) came, 1 on a NAK, no
reply within --timeout or any other failure.
`,
		flags: func(fs *flag.FlagSet) runFunc {
			var o probeOptions
			fs.StringVar(&o.iface, "iface", "", "the `IF` to probe (required)")
			fs.BoolVar(&o.inform, "inform", false, "send an INFORM from the interface's address")
			fs.BoolVar(&o.bootp, "bootp", false, "send a plain BOOTP request (no DHCP message type)")
			fs.BoolVar(&o.release, "release", false, "release the address after the ACK")
			fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "give up after `DURATION` without an answer")
			mac := fs.String("mac", "", "send `MAC` as chaddr instead of the interface's address")
			fs.StringVar(&o.hostname, "hostname", "", "send host `NAME` (option 12)")
			fs.StringVar(&o.clientID, "client-id", "", "send client identifier `TEXT` (option 61)")
			fs.StringVar(&o.vendorClass, "vendor-class", "", "send vendor class `TEXT` (option 60)")
			req := fs.String("requested-address", "", "ask for address `A` (option 50) in the DISCOVER")
			fs.StringVar(&o.netns, "netns", "", "run in the network namespace `NAME` (as ip netns names it)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return usagef("unexpected argument %q", args[0])
				}
				if o.iface == "" {
					return usagef("--iface is required")
				}
				if o.inform && o.bootp {
					return usagef("--inform and --bootp exclude each other")
				}
				if o.release && (o.inform || o.bootp) {
					return usagef("--release goes with the default DISCOVER/REQUEST exchange only")
				}
				if o.timeout <= 0 {
					return usagef("--timeout must be positive")
				}
				if *mac != "" {
					hw, err := net.ParseMAC(*mac)
					if err != nil {
						return usagef("bad --mac: %v", err)
					}
					o.mac = hw
				}
				if *req != "" {
					a, err := netip.ParseAddr(*req)
					if err != nil || !a.Is4() {
						return usagef("bad --requested-address %q: want an IPv4 address", *req)
					}
					o.requested = a
				}
				return runProbe(ctx, e.stdout, &o)
			}
		},
	}
}

type probeOptions struct {
	iface                           string
	inform, bootp, release          bool
	timeout                         time.Duration
	mac                             net.HardwareAddr
	hostname, clientID, vendorClass string
	requested                       netip.Addr
	netns                           string
}

func (o *probeOptions) config(p *printer) dhcpclient.Config {
	c := dhcpclient.Config{
		Interface:     o.iface,
		MAC:           o.mac,
		Hostname:      o.hostname,
		VendorClass:   o.vendorClass,
		RequestedAddr: o.requested,
		Sent:          p.sent,
		Received:      p.received,
	}
	if o.clientID != "" {
		c.ClientID = []byte(o.clientID)
	}
	return c
}

// openClient opens the client, in the network namespace netns if not "".
func openClient(netns string, cfg dhcpclient.Config) (*dhcpclient.Client, error) {
	var c *dhcpclient.Client
	open := func() (err error) {
		c, err = dhcpclient.Open(cfg)
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			err = fmt.Errorf("%w (probe needs root)", err)
		}
		return err
	}
	var err error
	if netns != "" {
		err = dhcpclient.InNamespace(dhcpclient.NamespacePath(netns), open)
	} else {
		err = open()
	}
	return c, err
}

func runProbe(ctx context.Context, w io.Writer, o *probeOptions) error {
	p := &printer{w: w}
	c, err := openClient(o.netns, o.config(p))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	fmt.Fprintf(w, "probing on %s as %s, timeout %v\n", o.iface, c.HardwareAddr(), o.timeout)
	var reply *dhcpv4.Message
	switch {
	case o.inform:
		reply, err = c.Inform(ctx)
	case o.bootp:
		reply, err = c.BOOTP(ctx)
	default:
		_, reply, err = c.DORA(ctx)
	}
	if err != nil {
		var nak *dhcpclient.NAKError
		if errors.As(err, &nak) {
			fmt.Fprintf(w, "\nfailed: %v\n", err)
		}
		return err
	}
	kind := "ACK"
	if reply.IsBOOTP() {
		kind = "BOOTREPLY"
	}
	fmt.Fprintf(w, "\n%s: %s\n", kind, dhcpclient.Summary(c.HardwareAddr(), reply))
	if o.release {
		sid, _ := reply.ServerID()
		if err := c.Release(reply.YIAddr, sid); err != nil {
			return err
		}
		fmt.Fprintf(w, "released %s (RELEASE broadcast with ciaddr %s, server identifier %s)\n", reply.YIAddr, reply.YIAddr, sid)
	}
	return nil
}

// printer prints a client's exchange: a line per request sent, and each
// reply the way decode prints a message (render.go).
type printer struct {
	w      io.Writer
	frames int
}

func (p *printer) sent(m *dhcpv4.Message, attempt int, to netip.AddrPort) {
	what := "BOOTREQUEST (BOOTP)"
	if t, ok := m.MessageType(); ok {
		what = t.String()
	}
	var extra string
	if ci := m.CIAddr; ci.IsValid() && !ci.IsUnspecified() {
		extra += " ciaddr " + ci.String()
	}
	if a, ok := m.RequestedIP(); ok {
		extra += " requested " + a.String()
	}
	if s, ok := m.ServerID(); ok {
		extra += " server " + s.String()
	}
	retry := ""
	if attempt > 1 {
		retry = fmt.Sprintf(" (attempt %d)", attempt)
	}
	fmt.Fprintf(p.w, "\nsent %s xid %s to %s%s%s\n", what, m.XID, to, extra, retry)
}

func (p *printer) received(r *dhcpclient.Reply) {
	p.frames++
	rec := &record{Frame: p.frames, Src: r.From.String(), Length: r.Len, Fields: newFields(r.Msg)}
	if r.To.IsValid() {
		rec.Dst = r.To.String()
	} else {
		rec.Dst = "?"
	}
	fmt.Fprintln(p.w)
	writeText(p.w, rec)
	if r.Ignored != "" {
		fmt.Fprintf(p.w, "  (ignored: %s)\n", r.Ignored)
	}
}
