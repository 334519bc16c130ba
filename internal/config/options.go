package config

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"bootd/internal/dhcpv4"
)

// optionTypes are the values of `type:` for an option given by code.
var optionTypeNames = []string{"addr", "addrs", "uint8", "uint16", "uint32", "int32", "bool", "string", "hex", "seconds", "domain-list", "routes"}

func optionType(name string) (dhcpv4.Kind, bool) {
	switch name {
	case "addr":
		return dhcpv4.KindAddr, true
	case "addrs":
		return dhcpv4.KindAddrs, true
	case "uint8":
		return dhcpv4.KindUint8, true
	case "uint16":
		return dhcpv4.KindUint16, true
	case "uint32":
		return dhcpv4.KindUint32, true
	case "int32":
		return dhcpv4.KindInt32, true
	case "bool":
		return dhcpv4.KindBool, true
	case "string":
		return dhcpv4.KindString, true
	case "hex":
		return dhcpv4.KindBytes, true
	case "seconds":
		return dhcpv4.KindSeconds, true
	case "domain-list":
		return dhcpv4.KindDomainList, true
	case "routes":
		return dhcpv4.KindRoutes, true
	}
	return 0, false
}

// reservedOption says why an option cannot be set in options, or "".
func reservedOption(code uint8) string {
	switch code {
	case dhcpv4.OptPad, dhcpv4.OptEnd:
		return "is not an option"
	case dhcpv4.OptLeaseTime:
		return "is set with lease-time"
	case dhcpv4.OptRenewalTime:
		return "is set with renew-time"
	case dhcpv4.OptRebindingTime:
		return "is set with rebind-time"
	case dhcpv4.OptServerID:
		return "is set with server-address"
	case dhcpv4.OptRequestedIP, dhcpv4.OptOverload, dhcpv4.OptMessageType, dhcpv4.OptParamRequestList,
		dhcpv4.OptMaxMessageSize, dhcpv4.OptClientID, dhcpv4.OptRelayAgentInfo, dhcpv4.OptRapidCommit:
		return "is written by clients, relays or bootd itself, not configured"
	}
	return ""
}

func optionNames() []string {
	var names []string
	for c := range 256 {
		if n := dhcpv4.LookupOption(uint8(c)).Name; n != "" && reservedOption(uint8(c)) == "" {
			names = append(names, n)
		}
	}
	return names
}

// options decodes an options mapping into options sorted by code.
func (d *decoder) options(n *yaml.Node, what string) []Option {
	var out []Option
	where := map[uint8]*yaml.Node{}
	d.mapping(n, what+" options", nil, func(key string, k, v *yaml.Node) {
		code, ok := d.optionCode(k)
		if !ok {
			return
		}
		name := dhcpv4.OptionName(code)
		if first, dup := where[code]; dup {
			d.errorf(k, "option %s (%d) is set twice (first at line %d, column %d)", name, code, first.Line, first.Column)
			return
		}
		where[code] = k
		if why := reservedOption(code); why != "" {
			d.errorf(k, "option %s (%d) %s", name, code, why)
			return
		}
		info := dhcpv4.LookupOption(code)
		kind, known := info.Kind, info.Name != ""
		val := v
		if v.Kind == yaml.MappingNode {
			var typ *yaml.Node
			val = nil
			d.mapping(v, "option "+name, []string{"type", "value"}, func(key string, _, vv *yaml.Node) {
				if key == "type" {
					typ = vv
				} else {
					val = vv
				}
			})
			if typ == nil || val == nil {
				d.errorf(v, "option %s: a mapping value needs both type and value", name)
				return
			}
			t, ok := d.str(typ, "type")
			if !ok {
				return
			}
			kind, ok = optionType(t)
			if !ok {
				d.errorf(typ, "option %s: unknown type %q (one of %s)", name, t, strings.Join(optionTypeNames, ", "))
				return
			}
		} else if !known {
			d.errorf(v, "option %d is not in the option table: give its format as {type: ..., value: ...}", code)
			return
		}
		b, ok := d.encodeOption(code, kind, val)
		if ok {
			out = append(out, Option{Code: code, Value: b})
		}
	})
	slices.SortFunc(out, func(a, b Option) int { return int(a.Code) - int(b.Code) })
	return out
}

// optionCode reads an option key: a name or a code 1-254.
func (d *decoder) optionCode(k *yaml.Node) (uint8, bool) {
	if c, err := strconv.ParseUint(k.Value, 10, 64); err == nil {
		if c > 255 {
			d.errorf(k, "option code %s is out of range 1 to 254", k.Value)
			return 0, false
		}
		return uint8(c), true
	}
	info, ok := dhcpv4.OptionByName(k.Value)
	if !ok {
		msg := fmt.Sprintf("unknown option %q", k.Value)
		if s := suggest(k.Value, optionNames()); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.errorf(k, "%s", msg)
		return 0, false
	}
	return info.Code, true
}

// encodeOption encodes a value node in the format kind.
func (d *decoder) encodeOption(code uint8, kind dhcpv4.Kind, v *yaml.Node) ([]byte, bool) {
	name := dhcpv4.OptionName(code)
	what := "option " + name
	bad := func(n *yaml.Node, format string, args ...any) ([]byte, bool) {
		d.errorf(n, "%s: %s", what, fmt.Sprintf(format, args...))
		return nil, false
	}
	switch kind {
	case dhcpv4.KindAddr, dhcpv4.KindAddrs, dhcpv4.KindAddrsOrNone:
		items, ok := d.sequence(v, what, true)
		if !ok {
			return nil, false
		}
		if len(items) == 0 && kind != dhcpv4.KindAddrsOrNone {
			return bad(v, "needs an address")
		}
		if len(items) > 1 && kind == dhcpv4.KindAddr {
			return bad(v, "takes one address, not a list")
		}
		b := []byte{}
		for _, it := range items {
			s, ok := d.str(it, what)
			if !ok {
				return nil, false
			}
			a, err := parseAddr(s)
			if err != nil {
				return bad(it, "%q is %v", s, err)
			}
			b = append(b, a.AsSlice()...)
		}
		return b, true
	case dhcpv4.KindAddrPairs:
		var b []byte
		ok := d.eachPair(v, what, "needs at least one pair of addresses", `%q: want two addresses ("198.18.4.0 198.18.0.1")`, func(p pair) bool {
			for _, x := range [2]string{p.a, p.b} {
				a, err := parseAddr(x)
				if err != nil {
					bad(p.node, "%q is %v", x, err)
					return false
				}
				b = append(b, a.AsSlice()...)
			}
			return true
		})
		return b, ok
	case dhcpv4.KindUint8, dhcpv4.KindUint16, dhcpv4.KindUint32, dhcpv4.KindBool, dhcpv4.KindInt32:
		if v.Kind != yaml.ScalarNode {
			return bad(v, "takes one value, not %s", describe(v))
		}
		return d.encodeNumber(what, code, kind, v)
	case dhcpv4.KindUint16s, dhcpv4.KindClientArch:
		items, ok := d.sequence(v, what, true)
		if !ok {
			return nil, false
		}
		if len(items) == 0 {
			return bad(v, "needs at least one number")
		}
		var b []byte
		for _, it := range items {
			x, ok := d.uint(it, what, 0, 0xffff)
			if !ok {
				return nil, false
			}
			b = binary.BigEndian.AppendUint16(b, uint16(x))
		}
		return b, true
	case dhcpv4.KindSeconds:
		s, ok := d.str(v, what)
		if !ok {
			return nil, false
		}
		t, err := parseDuration(s)
		if err != nil {
			return bad(v, "bad duration %q: %v", s, err)
		}
		secs := uint32(0xffffffff)
		if t != dhcpv4.Infinite {
			secs = uint32(t.Seconds())
		}
		return binary.BigEndian.AppendUint32(nil, secs), true
	case dhcpv4.KindString:
		s, ok := d.str(v, what)
		if !ok {
			return nil, false
		}
		if s == "" {
			return bad(v, "empty text (RFC 2132 text options are at least one byte)")
		}
		return []byte(s), true
	case dhcpv4.KindDomainList:
		items, ok := d.sequence(v, what, true)
		if !ok {
			return nil, false
		}
		if len(items) == 0 {
			return bad(v, "needs at least one domain name")
		}
		names := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := d.str(it, what)
			if !ok {
				return nil, false
			}
			if strings.TrimSuffix(s, ".") == "" {
				return bad(it, "empty domain name")
			}
			if _, err := dhcpv4.AppendDomainList(nil, []string{s}); err != nil {
				return bad(it, "domain name %q: %v", s, err)
			}
			names = append(names, s)
		}
		b, err := dhcpv4.AppendDomainList(nil, names)
		if err != nil {
			return bad(v, "%v", err)
		}
		return b, true
	case dhcpv4.KindRoutes:
		var routes []dhcpv4.Route
		ok := d.eachPair(v, what, "needs at least one route", `route %q: want "PREFIX via ROUTER"`, func(p pair) bool {
			dst, err := parsePrefix(p.a)
			if err != nil {
				bad(p.node, "route %q: destination %v", p.s, err)
				return false
			}
			gw, err := parseAddr(p.b)
			if err != nil {
				bad(p.node, "route %q: router %v", p.s, err)
				return false
			}
			routes = append(routes, dhcpv4.Route{Dest: dst, Router: gw})
			return true
		})
		if !ok {
			return nil, false
		}
		b, err := dhcpv4.AppendRoutes(nil, routes...)
		if err != nil {
			return bad(v, "%v", err)
		}
		return b, true
	case dhcpv4.KindEmpty:
		return bad(v, "has no value and is not configured")
	}
	// Every other format is given as hex bytes, checked against the format.
	s, ok := d.str(v, what)
	if !ok {
		return nil, false
	}
	b, err := parseHex(s)
	if err != nil {
		return bad(v, "%q: %v (this option is given as hex bytes)", s, err)
	}
	if kind != dhcpv4.KindBytes && kind == dhcpv4.LookupOption(code).Kind {
		if err := dhcpv4.CheckValue(kind, b); err != nil {
			return bad(v, "%q is not a valid value: %s", s, strings.TrimPrefix(err.Error(), dhcpv4.ErrMalformed.Error()+": "))
		}
	}
	return b, true
}

func (d *decoder) encodeNumber(what string, code uint8, kind dhcpv4.Kind, v *yaml.Node) ([]byte, bool) {
	switch kind {
	case dhcpv4.KindBool:
		x, ok := d.boolean(v, what)
		if !ok {
			return nil, false
		}
		if x {
			return []byte{1}, true
		}
		return []byte{0}, true
	case dhcpv4.KindUint8:
		x, ok := d.uint(v, what, 0, 0xff)
		return []byte{byte(x)}, ok
	case dhcpv4.KindUint16:
		lo := uint64(0)
		if code == dhcpv4.OptMTU || code == dhcpv4.OptMaxMessageSize {
			lo = 68 // RFC 2132 5.1: the minimum MTU
		}
		if code == 22 {
			lo = 576 // RFC 2132 4.6: maximum datagram reassembly size
		}
		x, ok := d.uint(v, what, lo, 0xffff)
		return binary.BigEndian.AppendUint16(nil, uint16(x)), ok
	case dhcpv4.KindUint32:
		x, ok := d.uint(v, what, 0, 0xffffffff)
		return binary.BigEndian.AppendUint32(nil, uint32(x)), ok
	}
	// KindInt32
	if v.Tag != "!!int" {
		d.errorf(v, "%s must be a number, not %s", what, describe(v))
		return nil, false
	}
	x, err := strconv.ParseInt(v.Value, 0, 32)
	if err != nil {
		d.errorf(v, "%s: %s is out of range %d to %d", what, v.Value, int32(-1<<31), int32(1<<31-1))
		return nil, false
	}
	return binary.BigEndian.AppendUint32(nil, uint32(int32(x))), true
}

// pair is one "A B" or "A via B" entry of a list option.
type pair struct {
	node    *yaml.Node
	s, a, b string
}

// eachPair reads a non-empty list of "A B" or "A via B" strings (address
// pairs, routes) and calls fn for each entry in order, stopping at the first
// problem. none is the message for an empty list, and want the format (with
// one %q for the entry) for an entry of another shape.
func (d *decoder) eachPair(v *yaml.Node, what, none, want string, fn func(pair) bool) bool {
	items, ok := d.sequence(v, what, true)
	if !ok {
		return false
	}
	if len(items) == 0 {
		d.errorf(v, "%s: %s", what, none)
		return false
	}
	for _, it := range items {
		s, ok := d.str(it, what)
		if !ok {
			return false
		}
		f := strings.Fields(s)
		if len(f) == 3 && f[1] == "via" {
			f = []string{f[0], f[2]}
		}
		if len(f) != 2 {
			d.errorf(it, "%s: "+want, what, s)
			return false
		}
		if !fn(pair{node: it, s: s, a: f[0], b: f[1]}) {
			return false
		}
	}
	return true
}
