package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"bootd/internal/dhcpv4"
)

// maxSeconds is the longest finite time DHCP can express: times are
// unsigned 32-bit seconds and 0xffffffff means infinite (RFC 2132 9.2).
const maxSeconds = 0xffffffff - 1

// parseDuration reads "90s", "30m", "12h", "7d", "1h30m", a number of
// seconds, or "infinite" (dhcpv4.Infinite). Times are whole seconds.
func parseDuration(s string) (time.Duration, error) {
	if s == "infinite" {
		return dhcpv4.Infinite, nil
	}
	if s == "" {
		return 0, errors.New("empty duration")
	}
	var total uint64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i {
			return 0, fmt.Errorf("expected a number at %q", s[i:])
		}
		n, err := strconv.ParseUint(s[i:j], 10, 64)
		if err != nil || n > maxSeconds {
			return 0, errors.New("too long: the longest finite time is 4294967294s; use infinite")
		}
		var unit uint64
		if j == len(s) {
			if i != 0 {
				return 0, fmt.Errorf("missing unit after %s", s[i:j])
			}
			unit = 1 // a plain number of seconds
		} else {
			switch s[j] {
			case 's':
				unit = 1
			case 'm':
				unit = 60
			case 'h':
				unit = 3600
			case 'd':
				unit = 86400
			default:
				return 0, fmt.Errorf("unknown unit %q (use s, m, h, d or infinite)", s[j:j+1])
			}
			j++
		}
		total += n * unit
		if total > maxSeconds {
			return 0, errors.New("too long: the longest finite time is 4294967294s; use infinite")
		}
		i = j
	}
	return time.Duration(total) * time.Second, nil
}

// FormatDuration renders a time as the configuration writes it: "12h",
// "1h30m", "7d", "infinite".
func FormatDuration(d time.Duration) string {
	if d == dhcpv4.Infinite {
		return "infinite"
	}
	s := int64(d / time.Second)
	if s == 0 {
		return "0s"
	}
	var b strings.Builder
	for _, u := range []struct {
		n    int64
		name string
	}{{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}} {
		if s >= u.n {
			b.WriteString(strconv.FormatInt(s/u.n, 10) + u.name)
			s %= u.n
		}
	}
	return b.String()
}

// parseHex reads bytes written as "01:02:0a", "01-02-0a" or "01020a".
func parseHex(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("no bytes")
	}
	for _, sep := range []string{":", "-", " "} {
		if strings.Contains(s, sep) {
			parts := strings.Split(s, sep)
			b := make([]byte, len(parts))
			for i, p := range parts {
				if len(p) != 2 {
					return nil, fmt.Errorf("%q is not a two-digit hex byte", p)
				}
				v, err := strconv.ParseUint(p, 16, 8)
				if err != nil {
					return nil, fmt.Errorf("%q is not a two-digit hex byte", p)
				}
				b[i] = byte(v)
			}
			return b, nil
		}
	}
	if len(s)%2 != 0 {
		return nil, errors.New("odd number of hex digits")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("not hex bytes (like 01:02:0a)")
	}
	return b, nil
}

// parseMAC reads a six-byte hardware address.
func parseMAC(s string) ([]byte, error) {
	b, err := parseHex(s)
	if err != nil {
		return nil, err
	}
	if len(b) != 6 {
		return nil, fmt.Errorf("%d bytes, want 6", len(b))
	}
	return b, nil
}

// parseAddr reads an IPv4 address.
func parseAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, errors.New("not an IP address")
	}
	if !a.Is4() {
		return netip.Addr{}, errors.New("not an IPv4 address")
	}
	return a, nil
}

// parsePrefix reads an IPv4 prefix that must be masked.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, errors.New("not a prefix (like 198.18.0.0/24)")
	}
	if !p.Addr().Is4() {
		return netip.Prefix{}, errors.New("not an IPv4 prefix")
	}
	if m := p.Masked(); m != p {
		return netip.Prefix{}, fmt.Errorf("host bits are set: did you mean %s?", m)
	}
	return p, nil
}

// lastAddr is the highest address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	v := be32(a) | (1<<(32-p.Bits()) - 1)
	return addr32(v)
}

func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

func u32(a netip.Addr) uint32 { return be32(a.As4()) }

func addr32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// hasNetAndBroadcast reports whether a prefix has network and broadcast
// addresses clients must not get (not /31, RFC 3021, nor /32).
func hasNetAndBroadcast(p netip.Prefix) bool { return p.Bits() <= 30 }
