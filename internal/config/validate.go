package config

import (
	"net/netip"
	"slices"
)

// validate checks what involves several scopes: overlapping subnets and
// pools, server addresses inside pools. It also builds the lookup tables.
func (d *decoder) validate(c *Config) {
	c.byAddr = slices.Clone(c.Subnets)
	slices.SortStableFunc(c.byAddr, func(a, b *Subnet) int {
		if r := a.Prefix.Addr().Compare(b.Prefix.Addr()); r != 0 {
			return r
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	// A sweep in address order: each subnet is compared with the one
	// reaching furthest so far, which catches nested prefixes too.
	var widest *Subnet
	for _, s := range c.byAddr {
		if widest != nil && widest.Prefix.Overlaps(s.Prefix) {
			a, b := widest, s
			if posLess(b.Pos, a.Pos) {
				a, b = b, a
			}
			d.at(b.Pos, "subnet %s overlaps subnet %s (line %d)", b.Prefix, a.Prefix, a.Pos.Line)
		}
		if widest == nil || lastAddr(widest.Prefix).Less(lastAddr(s.Prefix)) {
			widest = s
		}
	}

	var pools []*Pool
	for _, s := range c.Subnets {
		pools = append(pools, s.Pools...)
		for _, pl := range s.Pools {
			slices.SortFunc(pl.Excluded, func(a, b netip.Addr) int { return a.Compare(b) })
			if s.ServerAddress.IsValid() && pl.Contains(s.ServerAddress) {
				d.at(pl.Pos, "pool %s contains the server-address %s", pl.Range, s.ServerAddress)
			}
		}
	}
	slices.SortStableFunc(pools, func(a, b *Pool) int { return a.First.Compare(b.First) })
	var reach *Pool
	for _, p := range pools {
		if reach != nil && !reach.Last.Less(p.First) {
			a, b := reach, p
			if posLess(b.Pos, a.Pos) {
				a, b = b, a
			}
			d.at(b.Pos, "pool %s overlaps pool %s (line %d)", b.Range, a.Range, a.Pos.Line)
		}
		if reach == nil || reach.Last.Less(p.Last) {
			reach = p
		}
	}
}

func posLess(a, b Pos) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
}

// forget drops what decoding kept for messages, so that a Config does not
// hold on to the YAML tree.
func forget(c *Config) {
	c.Global.src = nil
	for _, cl := range c.Classes {
		cl.Own.src = nil
	}
	for _, sn := range c.SharedNetworks {
		sn.Own.src = nil
	}
	for _, s := range c.Subnets {
		s.Own.src = nil
		for _, p := range s.Pools {
			p.Own.src = nil
		}
		for _, r := range s.Reservations {
			r.Own.src = nil
		}
	}
}
