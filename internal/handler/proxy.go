package handler

import (
	"bytes"
	"net/netip"

	"bootd/internal/dhcpv4"
)

// BootServerPort is the PXE boot server port (PXE 2.1): PXE clients send
// their boot server REQUEST there once they have an address, and a
// proxyDHCP server answers it.
const BootServerPort = 4011

// proxy answers a PXE client with boot settings only, no address: on a
// proxy-dhcp subnet, a DISCOVER gets a proxy OFFER (yiaddr 0, broadcast,
// beside the OFFER of the server that gives addresses), and a REQUEST to
// the boot server port (in.BootServer) gets an ACK sent back to the
// client's address and port. Other requests, and clients that are not PXE
// firmware, are left to the server that gives addresses.
func (t *txn) proxy() Result {
	req := t.req
	mt, isDHCP := req.MessageType()
	vc, _ := req.VendorClass()
	if !isDHCP || !bytes.HasPrefix(vc, pxeClient) {
		return drop("proxyDHCP: not a PXE client")
	}
	var typ dhcpv4.MessageType
	switch {
	case t.in.BootServer && (mt == dhcpv4.Request || mt == dhcpv4.Inform):
		typ = dhcpv4.Ack
	case !t.in.BootServer && mt == dhcpv4.Discover:
		typ = dhcpv4.Offer
	default:
		return drop("proxyDHCP: nothing to answer to " + mt.String())
	}
	_, first := t.h.cfg.Classify(req)
	c := candidate{subnet: t.subnet, class: first, host: t.reservation()}
	v := c.view()
	r := t.reply
	t.header(netip.Addr{})
	r.SetMessageType(typ)
	r.Options.SetAddr(dhcpv4.OptServerID, t.server)
	// Boot settings only: the address, its mask, router and the rest come
	// from the server that gives addresses.
	t.bootFields(v)
	if len(r.BootFile()) == 0 {
		if _, ok := r.Options.Get(dhcpv4.OptBootFileName); !ok {
			return drop("proxyDHCP: no boot file for this client")
		}
	}
	r.Options.Set(dhcpv4.OptVendorClass, pxeClient)
	if o, ok := v.Option(dhcpv4.OptVendorSpecific); ok {
		r.Options.Set(dhcpv4.OptVendorSpecific, o)
	} else {
		r.Options.Set(dhcpv4.OptVendorSpecific, pxeUseBootFile)
	}
	if u, ok := req.Options.Get(dhcpv4.OptClientUUID); ok {
		r.Options.Set(dhcpv4.OptClientUUID, u) // PXE 2.1: proxy replies carry the client's UUID
	}
	t.echo()
	t.res = Result{Verdict: Reply, Type: typ, Reason: "proxyDHCP"}
	t.address(false)
	if t.in.BootServer {
		// Back to where the request came from (the client's address and
		// source port), from the boot server port.
		to := t.in.Src
		if ci := req.CIAddr; ci.IsValid() && !ci.IsUnspecified() {
			to = netip.AddrPortFrom(ci, t.in.Src.Port())
		}
		t.res.Dest = Dest{Addr: to, Src: t.in.Addr}
	}
	return t.res
}
