package handler

import (
	"bytes"
	"context"
	"net/netip"
	"time"

	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
)

var broadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// header starts the reply: BOOTREPLY with the request's transaction fields
// (RFC 2131 table 3).
func (t *txn) header(yiaddr netip.Addr) {
	r, req := t.reply, t.req
	r.Reset()
	r.Op = dhcpv4.BootReply
	r.HType, r.HLen, r.CHAddr = req.HType, req.HLen, req.CHAddr
	r.XID = req.XID
	r.Flags = req.Flags
	r.GIAddr = req.GIAddr
	if yiaddr.IsValid() {
		r.YIAddr = yiaddr
	}
}

// build writes a DHCP reply of type mt for candidate c with lease time lt
// (0 for INFORM: no lease options, no yiaddr).
func (t *txn) build(mt dhcpv4.MessageType, c candidate, lt time.Duration) {
	r := t.reply
	t.header(c.addr)
	if mt == dhcpv4.Ack {
		r.CIAddr = t.req.CIAddr
	}
	r.SetMessageType(mt)
	sid := t.server
	if !t.override && c.subnet != nil && c.subnet.ServerAddress.IsValid() {
		// On a shared network: the server's address in the lease's subnet.
		sid = c.subnet.ServerAddress
	}
	r.Options.SetAddr(dhcpv4.OptServerID, sid)
	v := c.view()
	v.SetOptions(&r.Options)
	if lt > 0 {
		r.Options.SetDuration(dhcpv4.OptLeaseTime, lt)
		t1, t2 := v.Times(lt)
		r.Options.SetDuration(dhcpv4.OptRenewalTime, t1)
		r.Options.SetDuration(dhcpv4.OptRebindingTime, t2)
	}
	t.bootFields(v)
	t.netboot()
	t.echo()
	t.res = Result{Verdict: Reply, Type: mt}
	t.address(false)
}

// bootFields sets siaddr and the boot file: in the file field when it fits,
// else as option 67.
func (t *txn) bootFields(v config.View) {
	r := t.reply
	if ns := v.NextServer(); ns.IsValid() {
		r.SIAddr = ns
	}
	if f := v.BootFile(); f != "" && !r.SetBootFile(f) {
		r.Options.SetString(dhcpv4.OptBootFileName, f)
	}
}

// Vendor classes of network boot firmware (option 60), and the PXE
// discovery control sub-option of option 43 telling a PXE client to use
// the boot file given, without boot server discovery (PXE 2.1, 2.4.5).
var (
	pxeClient       = []byte("PXEClient")
	httpClient      = []byte("HTTPClient")
	pxeUseBootFile  = []byte{6, 1, 8, 255}
	optPXEDiscovery = dhcpv4.OptVendorSpecific
)

// netboot adds what network boot firmware needs to take a reply with a
// boot file as a boot offer: its vendor class echoed in option 60
// ("PXEClient" as PXE 2.1 requires, "HTTPClient" as UEFI HTTP boot
// requires), and for PXE, option 43 with discovery control "use the boot
// file" unless the configuration sets option 43 itself. Without a boot
// file nothing is added: the firmware then waits for a boot server (or a
// proxyDHCP) as its specification says.
func (t *txn) netboot() {
	r := t.reply
	if len(r.BootFile()) == 0 {
		if _, ok := r.Options.Get(dhcpv4.OptBootFileName); !ok {
			return
		}
	}
	vc, ok := t.req.VendorClass()
	switch {
	case !ok:
	case bytes.HasPrefix(vc, pxeClient):
		r.Options.Set(dhcpv4.OptVendorClass, pxeClient)
		if _, set := r.Options.Get(optPXEDiscovery); !set {
			r.Options.Set(optPXEDiscovery, pxeUseBootFile)
		}
	case bytes.HasPrefix(vc, httpClient):
		r.Options.Set(dhcpv4.OptVendorClass, httpClient)
	}
}

// echo copies back what the client or relay needs to see again: the client
// identifier (RFC 6842) and the relay agent information (RFC 3046).
func (t *txn) echo() {
	if id := t.clientID(); id != nil {
		t.reply.Options.Set(dhcpv4.OptClientID, id)
	}
	if ri, ok := t.req.Options.Get(dhcpv4.OptRelayAgentInfo); ok && t.relay {
		t.reply.Options.Set(dhcpv4.OptRelayAgentInfo, ri)
	}
}

// address decides where the reply goes (RFC 2131 section 4.1) and its layout.
func (t *txn) address(nak bool) {
	req, r := t.req, t.reply
	src := t.subnet.ServerAddress
	if !src.IsValid() {
		src = t.in.Addr
	}
	d := Dest{Src: src}
	ci := req.CIAddr
	hasCI := ci.IsValid() && !ci.IsUnspecified()
	switch {
	case t.relay:
		d.Addr = netip.AddrPortFrom(req.GIAddr, ServerPort)
		d.Src = t.in.Addr // the relay talks to the address it sent to
	case nak:
		d.Addr = netip.AddrPortFrom(broadcast, ClientPort)
	case hasCI:
		d.Addr = netip.AddrPortFrom(ci, ClientPort)
	case req.Flags.Broadcast():
		d.Addr = netip.AddrPortFrom(broadcast, ClientPort)
	case r.YIAddr.IsValid() && !r.YIAddr.IsUnspecified() && req.HLen > 0:
		d.Addr = netip.AddrPortFrom(r.YIAddr, ClientPort)
		d.HWAddr = req.CHAddr[:req.HLen]
	default:
		d.Addr = netip.AddrPortFrom(broadcast, ClientPort)
	}
	t.res.Dest = d
	t.res.Layout = dhcpv4.Layout{}
	if v, ok := req.MaxMessageSize(); ok {
		t.res.Layout.MaxLen = dhcpv4.MaxLenFromOption57(v)
	} else if req.IsBOOTP() {
		t.res.Layout.MaxLen = dhcpv4.MinLen // the 64-byte vendor area of RFC 951
	}
	if prl, ok := req.ParamRequestList(); ok {
		t.res.Layout.Order = prl
	}
}

// bootp answers a BOOTP request (no DHCP message type) as the subnet's
// BOOTP policy allows: reservations only, or also pool addresses as
// permanent leases (RFC 1542, RFC 2131 section 4.7).
func (t *txn) bootp(ctx context.Context) Result {
	mode := t.subnet.Effective.BOOTP
	if mode == config.BOOTPOff {
		return drop("BOOTP request on a subnet with bootp: off")
	}
	var c candidate
	r := t.reservation()
	switch {
	case r != nil && r.Address.IsValid():
		c = candidate{addr: r.Address, subnet: r.Subnet, host: r}
		_, c.class = t.h.cfg.Classify(t.req)
	case mode == config.BOOTPReservations:
		return drop("BOOTP request from a client without a reservation")
	default:
		var reason string
		c, reason = t.choose()
		if reason != "" {
			return drop(reason)
		}
	}
	if err := t.commit(ctx, c, lease.Bound, dhcpv4.Infinite); err != nil {
		return drop("lease not recorded: " + err.Error())
	}
	rep := t.reply
	t.header(c.addr)
	v := c.view()
	if !t.req.NoCookie {
		v.SetOptions(&rep.Options)
		if t.clientID() != nil {
			rep.Options.Set(dhcpv4.OptClientID, t.clientID())
		}
	} else {
		rep.NoCookie = true
	}
	t.bootFields(v)
	if t.relay {
		if ri, ok := t.req.Options.Get(dhcpv4.OptRelayAgentInfo); ok {
			rep.Options.Set(dhcpv4.OptRelayAgentInfo, ri)
		}
	}
	t.res = Result{Verdict: Reply, Reason: "bootp"}
	t.address(false)
	return t.res
}
