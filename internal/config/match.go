package config

import (
	"bytes"
	"strings"

	"go.yaml.in/yaml/v3"

	"bootd/internal/dhcpv4"
)

// Match is a compiled class condition. Every condition in it must hold.
type Match struct {
	conds []cond
}

type condKind uint8

const (
	condVendorClass condKind = iota + 1
	condUserClass
	condClientArch
	condMACPrefix
	condCircuitID
	condRemoteID
	condHostname
	condOption
	condAny
	condNot
)

type cond struct {
	kind  condKind
	pats  []pattern // string conditions: one of them must match
	archs []uint16
	code  uint8 // condOption
	any   []*Match
	not   *Match
}

// pattern matches a value exactly or as a glob (* for any bytes), or
// equals raw bytes given in hex.
type pattern struct {
	parts [][]byte // the glob split at '*'; one part means no '*'
	raw   []byte   // hex: exact bytes, or a prefix for mac-prefix
	isRaw bool
}

func (p *pattern) match(v []byte) bool {
	if p.isRaw {
		return bytes.Equal(v, p.raw)
	}
	if len(p.parts) == 1 {
		return bytes.Equal(v, p.parts[0])
	}
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if !bytes.HasPrefix(v, first) {
		return false
	}
	v = v[len(first):]
	for _, mid := range p.parts[1 : len(p.parts)-1] {
		i := bytes.Index(v, mid)
		if i < 0 {
			return false
		}
		v = v[i+len(mid):]
	}
	return bytes.HasSuffix(v, last)
}

func matchAny(pats []pattern, v []byte) bool {
	for i := range pats {
		if pats[i].match(v) {
			return true
		}
	}
	return false
}

// Matches reports whether a request satisfies the match. It allocates
// nothing.
func (m *Match) Matches(req *dhcpv4.Message) bool {
	if m == nil {
		return false
	}
	for i := range m.conds {
		if !m.conds[i].holds(req) {
			return false
		}
	}
	return true
}

func (c *cond) holds(req *dhcpv4.Message) bool {
	switch c.kind {
	case condVendorClass:
		v, ok := req.VendorClass()
		return ok && matchAny(c.pats, v)
	case condHostname:
		v, ok := req.HostName()
		return ok && matchAny(c.pats, v)
	case condUserClass:
		uc, ok := req.UserClass()
		if !ok {
			return false
		}
		for name := range uc.All() {
			if matchAny(c.pats, name) {
				return true
			}
		}
		return false
	case condClientArch:
		for a := range req.ClientArchs() {
			for _, want := range c.archs {
				if uint16(a) == want {
					return true
				}
			}
		}
		return false
	case condMACPrefix:
		hw := req.CHAddr[:min(int(req.HLen), len(req.CHAddr))]
		for i := range c.pats {
			if bytes.HasPrefix(hw, c.pats[i].raw) {
				return true
			}
		}
		return false
	case condCircuitID, condRemoteID:
		ri, ok := req.RelayAgentInfo()
		if !ok {
			return false
		}
		sub := dhcpv4.RelayCircuitID
		if c.kind == condRemoteID {
			sub = dhcpv4.RelayRemoteID
		}
		v, ok := ri.Get(sub)
		return ok && matchAny(c.pats, v)
	case condOption:
		v, ok := req.Options.Get(c.code)
		return ok && (len(c.pats) == 0 || matchAny(c.pats, v))
	case condAny:
		for _, m := range c.any {
			if m.Matches(req) {
				return true
			}
		}
		return false
	case condNot:
		return !c.not.Matches(req)
	}
	return false
}

var matchKeys = []string{"vendor-class", "user-class", "client-arch", "mac-prefix", "circuit-id", "remote-id", "hostname", "option", "any", "not"}

// maxMatchDepth bounds the nesting of any: and not: so that matching a
// request has a bounded cost.
const maxMatchDepth = 8

// match compiles a match mapping.
func (d *decoder) match(n *yaml.Node, depth int) *Match {
	n = deref(n)
	if depth > maxMatchDepth {
		d.errorf(n, "match is nested more than %d levels deep", maxMatchDepth)
		return nil
	}
	m := &Match{}
	ok := d.mapping(n, "match", matchKeys, func(key string, k, v *yaml.Node) {
		c := cond{}
		switch key {
		case "vendor-class", "user-class", "hostname", "circuit-id", "remote-id":
			c.kind = map[string]condKind{"vendor-class": condVendorClass, "user-class": condUserClass,
				"hostname": condHostname, "circuit-id": condCircuitID, "remote-id": condRemoteID}[key]
			c.pats = d.patterns(v, key, key == "circuit-id" || key == "remote-id")
			if c.pats == nil {
				return
			}
		case "client-arch":
			c.kind = condClientArch
			items, ok := d.sequence(v, key, true)
			if !ok {
				return
			}
			if len(items) == 0 {
				d.errorf(v, "client-arch needs at least one architecture number")
				return
			}
			for _, it := range items {
				a, ok := d.uint(it, "client-arch", 0, 0xffff)
				if !ok {
					return
				}
				c.archs = append(c.archs, uint16(a))
			}
		case "mac-prefix":
			c.kind = condMACPrefix
			items, ok := d.sequence(v, key, true)
			if !ok {
				return
			}
			if len(items) == 0 {
				d.errorf(v, "mac-prefix needs at least one prefix")
				return
			}
			for _, it := range items {
				s, ok := d.str(it, key)
				if !ok {
					return
				}
				b, err := parseHex(s)
				if err == nil && len(b) > 16 {
					err = errTooLongHW
				}
				if err != nil {
					d.errorf(it, "mac-prefix %q: %v", s, err)
					return
				}
				c.pats = append(c.pats, pattern{raw: b, isRaw: true})
			}
		case "option":
			c.kind = condOption
			if !d.optionMatch(v, &c) {
				return
			}
		case "any":
			c.kind = condAny
			items, ok := d.sequence(v, key, false)
			if !ok {
				return
			}
			if len(items) == 0 {
				d.errorf(v, "any needs at least one match")
				return
			}
			for _, it := range items {
				if sub := d.match(it, depth+1); sub != nil {
					c.any = append(c.any, sub)
				}
			}
			if len(c.any) != len(items) {
				return
			}
		case "not":
			c.kind = condNot
			c.not = d.match(v, depth+1)
			if c.not == nil {
				return
			}
		}
		m.conds = append(m.conds, c)
	})
	if !ok {
		return nil
	}
	if len(n.Content) == 0 {
		d.errorf(n, "match is empty: give at least one condition")
		return nil
	}
	return m
}

var errTooLongHW = errorString("longer than the 16-byte chaddr field")

type errorString string

func (e errorString) Error() string { return string(e) }

// patterns reads string conditions: a string or a list of them, each a
// glob or, when hexOK, {hex: "..."}.
func (d *decoder) patterns(v *yaml.Node, what string, hexOK bool) []pattern {
	if hexOK && v.Kind == yaml.MappingNode {
		p, ok := d.pattern(v, what, true)
		if !ok {
			return nil
		}
		return []pattern{p}
	}
	items, ok := d.sequence(v, what, true)
	if !ok {
		return nil
	}
	if len(items) == 0 {
		d.errorf(v, "%s needs at least one value", what)
		return nil
	}
	var pats []pattern
	for _, it := range items {
		p, ok := d.pattern(it, what, hexOK)
		if !ok {
			return nil
		}
		pats = append(pats, p)
	}
	return pats
}

func (d *decoder) pattern(n *yaml.Node, what string, hexOK bool) (pattern, bool) {
	if n.Kind == yaml.MappingNode && hexOK {
		var p pattern
		ok := false
		d.mapping(n, what, []string{"hex"}, func(_ string, _, v *yaml.Node) {
			s, good := d.str(v, "hex")
			if !good {
				return
			}
			b, err := parseHex(s)
			if err != nil {
				d.errorf(v, "%s: %q: %v", what, s, err)
				return
			}
			p, ok = pattern{raw: b, isRaw: true}, true
		})
		if !ok && len(n.Content) == 0 {
			d.errorf(n, "%s: give {hex: ...}", what)
		}
		return p, ok
	}
	s, ok := d.str(n, what)
	if !ok {
		return pattern{}, false
	}
	var p pattern
	for part := range strings.SplitSeq(s, "*") {
		p.parts = append(p.parts, []byte(part))
	}
	return p, true
}

// optionMatch reads {code: N or name, value: glob} or {code, hex: ...} or
// {code} (the option is present).
func (d *decoder) optionMatch(n *yaml.Node, c *cond) bool {
	var codeNode *yaml.Node
	good := true
	d.mapping(n, "option match", []string{"code", "value", "hex"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "code":
			codeNode = v
		case "value":
			p, ok := d.pattern(v, "option value", false)
			good = good && ok
			c.pats = append(c.pats, p)
		case "hex":
			s, ok := d.str(v, "hex")
			if !ok {
				good = false
				return
			}
			b, err := parseHex(s)
			if err != nil {
				d.errorf(v, "option match hex %q: %v", s, err)
				good = false
				return
			}
			c.pats = append(c.pats, pattern{raw: b, isRaw: true})
		}
	})
	if n.Kind != yaml.MappingNode && !isNull(n) {
		return false // mapping reported it
	}
	if codeNode == nil {
		d.errorf(n, "option match needs a code")
		return false
	}
	if len(c.pats) > 1 {
		d.errorf(n, "option match takes value or hex, not both")
		return false
	}
	if codeNode.Kind != yaml.ScalarNode {
		d.errorf(codeNode, "option match code must be a number or an option name, not %s", describe(codeNode))
		return false
	}
	code, ok := d.optionCode(codeNode)
	if !ok {
		return false
	}
	if code == dhcpv4.OptPad || code == dhcpv4.OptEnd {
		d.errorf(codeNode, "option match code %d is not an option", code)
		return false
	}
	c.code = code
	return good
}
