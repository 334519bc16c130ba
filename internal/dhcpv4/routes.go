package dhcpv4

import (
	"errors"
	"net/netip"
)

// Route is one classless static route (option 121, RFC 3442).
type Route struct {
	Dest   netip.Prefix // masked IPv4 prefix; 0.0.0.0/0 is the default route
	Router netip.Addr
}

var errBadRoute = errors.New("bad classless static route")

// ClasslessRoutes returns option 121 (allocates).
func (m *Message) ClasslessRoutes() ([]Route, bool) {
	v, ok := m.Options.Get(OptClasslessRoutes)
	if !ok {
		return nil, false
	}
	r, err := DecodeRoutes(v)
	return r, err == nil
}

// DecodeRoutes decodes the value of option 121 (or 249).
func DecodeRoutes(v []byte) ([]Route, error) {
	var routes []Route
	for i := 0; i < len(v); {
		width := int(v[i])
		if width > 32 {
			return nil, errBadRoute
		}
		sig := (width + 7) / 8
		if i+1+sig+4 > len(v) {
			return nil, errBadRoute
		}
		var dst [4]byte
		copy(dst[:], v[i+1:i+1+sig])
		p := netip.PrefixFrom(netip.AddrFrom4(dst), width)
		if p.Masked() != p {
			// RFC 3442: bits beyond the width must be zero.
			return nil, errBadRoute
		}
		gw := netip.AddrFrom4([4]byte(v[i+1+sig : i+1+sig+4]))
		routes = append(routes, Route{p, gw})
		i += 1 + sig + 4
	}
	if len(v) == 0 {
		return nil, errBadRoute
	}
	return routes, nil
}

// AppendRoutes appends the value of option 121. Prefixes are masked.
func AppendRoutes(b []byte, routes ...Route) ([]byte, error) {
	for _, r := range routes {
		if !r.Dest.Addr().Is4() || !r.Router.Is4() {
			return b, errBadRoute
		}
		p := r.Dest.Masked()
		a := p.Addr().As4()
		b = append(b, uint8(p.Bits()))
		b = append(b, a[:(p.Bits()+7)/8]...)
		gw := r.Router.As4()
		b = append(b, gw[:]...)
	}
	return b, nil
}
