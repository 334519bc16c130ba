package dhcpclient

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"bootd/internal/dhcpv4"
)

// Summary says in one line what a reply gives the client mac, e.g.
// "client 02:00:00:00:00:01 got 198.18.0.100/24, router 198.18.0.1,
// dns 198.18.0.1, domain demo.test, lease 1h".
func Summary(mac net.HardwareAddr, m *dhcpv4.Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "client %s got ", mac)
	addr := m.YIAddr
	if !addr.IsValid() || addr.IsUnspecified() {
		addr = m.CIAddr // an ACK to INFORM
	}
	b.WriteString(addr.String())
	if mask, ok := m.SubnetMask(); ok {
		if bits, ok := maskBits(mask); ok {
			fmt.Fprintf(&b, "/%d", bits)
		}
	}
	if rs, ok := m.Routers(); ok && len(rs) > 0 {
		fmt.Fprintf(&b, ", router %s", joinAddrs(rs))
	}
	if ds, ok := m.DNSServers(); ok && len(ds) > 0 {
		fmt.Fprintf(&b, ", dns %s", joinAddrs(ds))
	}
	if d, ok := m.DomainName(); ok {
		fmt.Fprintf(&b, ", domain %s", d)
	}
	if lt, ok := m.LeaseTime(); ok {
		fmt.Fprintf(&b, ", lease %s", FormatDuration(lt))
	} else if m.IsBOOTP() {
		b.WriteString(", permanent (BOOTP)")
	}
	if sid, ok := m.ServerID(); ok {
		fmt.Fprintf(&b, ", from server %s", sid)
	}
	return b.String()
}

func maskBits(mask netip.Addr) (int, bool) {
	if !mask.Is4() {
		return 0, false
	}
	a := mask.As4()
	ones, bits := net.IPv4Mask(a[0], a[1], a[2], a[3]).Size()
	return ones, bits == 32
}

func joinAddrs(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

// FormatDuration writes whole days, hours, minutes and seconds the way
// configurations do: 1h, 1d12h, 90s -> 1m30s; zero is "0s".
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		d    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return d.String()
	}
	return b.String()
}
