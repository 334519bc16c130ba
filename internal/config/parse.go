package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path"
	"slices"
	"strings"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"

	"bootd/internal/dhcpv4"
)

// Load reads and checks a configuration file. On failure the error is
// either the read error or every problem found, joined (see Errors).
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseWith(file, data, ReadReservations)
}

// Parse checks a configuration given as bytes; name is used in messages.
// It reads no reservations file. It never panics, whatever the input.
func Parse(name string, data []byte) (*Config, error) {
	return ParseWith(name, data, nil)
}

// ReadReservations reads a reservations file for ParseWith: a missing file
// is no reservations (nil, nil).
func ReadReservations(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// ParseWith checks a configuration given as bytes, joining to it the
// reservations file read by resv from Config.ReservationsFile (resv nil,
// or returning nil bytes: no such file). Problems in that file name it.
func ParseWith(name string, data []byte, resv func(file string) ([]byte, error)) (*Config, error) {
	d := &decoder{errorList: errorList{file: name}, readResv: resv}
	root := d.readDocument(data)
	if root == nil {
		return nil, d.err()
	}
	c := d.config(root)
	if err := d.err(); err != nil {
		return nil, err
	}
	if d.resvErr != nil {
		return nil, d.resvErr
	}
	c.Text = data
	return c, nil
}

// timeNodes keep where a scope's times were written, for messages.
type timeNodes struct{ lease, min, max, renew, rebind *yaml.Node }

var (
	settingKeys = []string{"options", "lease-time", "renew-time", "rebind-time", "boot-file", "next-server"}
	upperKeys   = []string{"authoritative", "bootp"}
	globalKeys  = slices.Concat([]string{"interfaces", "lease-store", "offer-hold", "decline-quarantine", "subnets", "shared-networks", "classes", "tftp", "http-boot", "rarp", "boot-templates", "backups", "api", "reservations-file"}, settingKeys, upperKeys)
	sharedKeys  = slices.Concat([]string{"name", "interface", "subnets"}, settingKeys, upperKeys)
	subnetKeys  = slices.Concat([]string{"subnet", "interface", "server-address", "pools", "reservations", "proxy-dhcp"}, settingKeys, upperKeys)
	poolKeys    = slices.Concat([]string{"range", "classes"}, settingKeys)
	resvKeys    = slices.Concat([]string{"mac", "client-id", "circuit-id", "remote-id", "address", "hostname"}, settingKeys)
	classKeys   = slices.Concat([]string{"name", "match"}, settingKeys)
)

func pos(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

func (d *decoder) at(p Pos, format string, args ...any) { d.add(p.Line, p.Column, format, args...) }

// setting decodes one of settingKeys or upperKeys into s.
func (d *decoder) setting(key string, v *yaml.Node, s *Settings, what string) {
	if s.src == nil {
		s.src = &timeNodes{}
	}
	switch key {
	case "options":
		s.Options = d.options(v, what)
	case "lease-time":
		if v.Kind == yaml.MappingNode {
			d.mapping(v, "lease-time", []string{"default", "min", "max"}, func(key string, _, vv *yaml.Node) {
				t, ok := d.duration(vv, "lease-time "+key, true)
				if !ok {
					return
				}
				switch key {
				case "default":
					s.LeaseTime, s.src.lease = t, vv
				case "min":
					s.MinLeaseTime, s.src.min = t, vv
					s.set |= setMinLease
				case "max":
					s.MaxLeaseTime, s.src.max = t, vv
				}
			})
			return
		}
		if t, ok := d.duration(v, key, true); ok {
			s.LeaseTime, s.src.lease = t, v
		}
	case "renew-time":
		if t, ok := d.duration(v, key, true); ok {
			s.RenewTime, s.src.renew = t, v
		}
	case "rebind-time":
		if t, ok := d.duration(v, key, true); ok {
			s.RebindTime, s.src.rebind = t, v
		}
	case "boot-file":
		if f, ok := d.str(v, key); ok {
			switch {
			case f == "":
				d.errorf(v, "boot-file is empty")
			case len(f) > 255:
				d.errorf(v, "boot-file is %d bytes long; the most option 67 holds is 255", len(f))
			default:
				s.BootFile = f
			}
		}
	case "next-server":
		s.NextServer, _ = d.addr(v, key)
	case "authoritative":
		if b, ok := d.boolean(v, key); ok {
			s.Authoritative = b
			s.set |= setAuthoritative
		}
	case "bootp":
		m, ok := d.str(v, key)
		if !ok {
			return
		}
		switch m {
		case "off":
			s.BOOTP = BOOTPOff
		case "reservations":
			s.BOOTP = BOOTPReservations
		case "dynamic":
			s.BOOTP = BOOTPDynamic
		default:
			d.errorf(v, "bootp must be off, reservations or dynamic, not %s", describe(v))
		}
	}
}

// duration reads a time; zero is refused when positive is set.
func (d *decoder) duration(n *yaml.Node, what string, positive bool) (time.Duration, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return 0, false
	}
	t, err := parseDuration(s)
	if err != nil {
		d.errorf(n, "%s: bad duration %q: %v", what, s, err)
		return 0, false
	}
	if positive && t == 0 {
		d.errorf(n, "%s must be longer than 0s", what)
		return 0, false
	}
	return t, true
}

func (d *decoder) addr(n *yaml.Node, what string) (netip.Addr, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := parseAddr(s)
	if err != nil {
		d.errorf(n, "%s: %q is %v", what, s, err)
		return netip.Addr{}, false
	}
	return a, true
}

// ifname checks an interface name as Linux accepts it.
func (d *decoder) ifname(n *yaml.Node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if s == "" || len(s) > 15 || s == "." || s == ".." || strings.ContainsAny(s, "/ \t\n:") {
		d.errorf(n, "%s: %q is not an interface name", what, s)
		return "", false
	}
	return s, true
}

func (d *decoder) config(root *yaml.Node) *Config {
	c := &Config{
		File:              d.file,
		LeaseStore:        LeaseStore{Path: DefaultLeaseStorePath},
		OfferHold:         DefaultOfferHold,
		DeclineQuarantine: DefaultDeclineQuarantine,
		byIf:              map[string][]*Subnet{},
	}
	var global Settings
	var subnetNodes, sharedNodes, classNodes []*yaml.Node
	var ifNode, httpNode *yaml.Node
	ok := d.mapping(root, "configuration", globalKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "interfaces":
			ifNode = v
			items, _ := d.sequence(v, key, false)
			for _, it := range items {
				name, ok := d.ifname(it, "interfaces")
				if !ok {
					continue
				}
				if slices.Contains(c.Interfaces, name) {
					d.errorf(it, "interface %s is listed twice", name)
					continue
				}
				c.Interfaces = append(c.Interfaces, name)
			}
		case "lease-store":
			d.mapping(v, key, []string{"path"}, func(_ string, _, pv *yaml.Node) {
				p, ok := d.str(pv, "lease-store path")
				if !ok {
					return
				}
				if !path.IsAbs(p) {
					d.errorf(pv, "lease-store path %q must be absolute", p)
					return
				}
				c.LeaseStore.Path = path.Clean(p)
			})
		case "offer-hold", "decline-quarantine":
			t, ok := d.duration(v, key, true)
			if ok && t == dhcpv4.Infinite {
				d.errorf(v, "%s cannot be infinite", key)
				ok = false
			}
			if ok && key == "offer-hold" {
				c.OfferHold = t
			} else if ok {
				c.DeclineQuarantine = t
			}
		case "tftp":
			c.TFTP = d.tftp(v)
		case "http-boot":
			httpNode = v
		case "rarp":
			c.RARP = d.rarp(v)
		case "boot-templates":
			c.BootTemplates = d.bootTemplates(v)
		case "backups":
			c.Backups = d.backups(v)
		case "api":
			c.API = d.api(v)
		case "reservations-file":
			c.ReservationsFile, _ = d.absFile(v, key)
		case "subnets":
			subnetNodes, _ = d.sequence(v, key, false)
		case "shared-networks":
			sharedNodes, _ = d.sequence(v, key, false)
		case "classes":
			classNodes, _ = d.sequence(v, key, false)
		default:
			d.setting(key, v, &global, "global")
		}
	})
	if !ok {
		return nil
	}
	if httpNode != nil {
		c.HTTPBoot = d.httpBoot(httpNode, c.TFTP)
	}
	switch {
	case ifNode == nil:
		d.errorf(root, "interfaces is required: list the interfaces to serve on")
	case len(c.Interfaces) == 0 && len(d.errs) == 0:
		d.errorf(ifNode, "interfaces is empty: list the interfaces to serve on")
	}
	defaults := Settings{
		LeaseTime:     DefaultLeaseTime,
		MaxLeaseTime:  DefaultMaxLeaseTime,
		Authoritative: true,
		BOOTP:         BOOTPOff,
	}
	c.Global = defaults.overlay(&global)
	d.checkTimes(c.Global, &global)

	for _, n := range classNodes {
		d.class(n, c)
	}
	if len(c.Classes) > MaxClasses {
		d.errorf(classNodes[MaxClasses], "more than %d classes", MaxClasses)
	}
	for _, n := range sharedNodes {
		d.shared(n, c)
	}
	for _, n := range subnetNodes {
		if s := d.subnet(n, c, nil); s != nil {
			c.Subnets = append(c.Subnets, s)
		}
	}
	slices.SortStableFunc(c.Subnets, func(a, b *Subnet) int {
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Column - b.Pos.Column
	})
	if len(c.Subnets) == 0 && len(d.errs) == 0 {
		d.errorf(root, "no subnets: bootd would serve nothing")
	}
	if c.ReservationsFile == "" {
		c.ReservationsFile = path.Join(c.LeaseStore.Path, DefaultReservationsFile)
	}
	if c.API != nil && c.API.Tokens == "" {
		c.API.Tokens = path.Join(c.LeaseStore.Path, DefaultTokensFile)
	}
	if c.API != nil && c.API.AuditLog == "" {
		c.API.AuditLog = path.Join(c.LeaseStore.Path, DefaultAuditLog)
	}
	if d.readResv != nil && len(c.Subnets) > 0 {
		data, err := d.readResv(c.ReservationsFile)
		if err != nil {
			d.resvErr = fmt.Errorf("reservations file: %w", err)
		} else if data != nil {
			d.reservationsFile(c, c.ReservationsFile, data)
		}
	}
	d.validate(c)
	forget(c)
	return c
}

// reservationsFile joins the reservations of a reservations file to the
// subnets of c. Each names its subnet, or has an address inside one.
func (d *decoder) reservationsFile(c *Config, name string, data []byte) {
	if len(bytes.TrimSpace(data)) == 0 {
		return
	}
	mainFile := d.file
	d.file = name
	defer func() { d.file = mainFile }()
	root := d.readDocument(data)
	if root == nil {
		return
	}
	d.mapping(root, "reservations file", []string{"reservations"}, func(key string, _, v *yaml.Node) {
		items, _ := d.sequence(v, key, false)
		for _, it := range items {
			it = deref(it)
			if it.Kind != yaml.MappingNode {
				d.errorf(it, "reservation: want a mapping of mac/client-id/..., address, hostname and subnet, not %s", describe(it))
				continue
			}
			// The subnet key is this file's own: take it out, and leave
			// the rest to the reservation decoder of the main file.
			rest := *it
			rest.Content = nil
			var sn *Subnet
			var subnetNode, addrNode *yaml.Node
			for i := 0; i+1 < len(it.Content); i += 2 {
				k, v := it.Content[i], it.Content[i+1]
				switch k.Value {
				case "subnet":
					subnetNode = v
					ps, ok := d.str(v, "subnet")
					if !ok {
						continue
					}
					p, err := parsePrefix(ps)
					if err != nil {
						d.errorf(v, "subnet %q: %v", ps, err)
						continue
					}
					for _, s := range c.Subnets {
						if s.Prefix == p.Masked() {
							sn = s
						}
					}
					if sn == nil {
						d.errorf(v, "subnet %s is not in the configuration", p)
					}
					continue
				case "address":
					addrNode = v
				}
				rest.Content = append(rest.Content, k, v)
			}
			if subnetNode == nil && addrNode != nil {
				if a, err := parseAddr(deref(addrNode).Value); err == nil {
					for _, s := range c.Subnets {
						if s.Contains(a) {
							sn = s
						}
					}
					if sn == nil {
						d.errorf(addrNode, "address %s is in no configured subnet", a)
						continue
					}
				}
			}
			if sn == nil {
				if subnetNode == nil && addrNode == nil {
					d.errorf(it, "reservation needs a subnet, or an address inside a configured subnet")
				}
				continue
			}
			r := d.reservation(&rest, sn)
			if r == nil {
				continue
			}
			r.File = name
			sn.Reservations = append(sn.Reservations, r)
			if sn.ProxyDHCP && r.Address.IsValid() {
				d.at(r.Pos, "reservation in proxy-dhcp subnet %s gives an address; a proxy gives boot settings only", sn.Prefix)
			}
		}
	})
}

// root reads a boot root: an absolute directory path.
func (d *decoder) root(n *yaml.Node, what string) (string, bool) {
	p, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !path.IsAbs(p) {
		d.errorf(n, "%s %q must be absolute", what, p)
		return "", false
	}
	return path.Clean(p), true
}

func (d *decoder) tftp(n *yaml.Node) *TFTP {
	t := &TFTP{Port: DefaultTFTPPort, MaxTransfers: DefaultTFTPTransfers}
	var hasRoot bool
	ok := d.mapping(n, "tftp", []string{"root", "address", "port", "max-transfers"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "root":
			t.Root, _ = d.root(v, "tftp root")
			hasRoot = true
		case "address":
			t.Address, _ = d.addr(v, "tftp address")
		case "port":
			if p, ok := d.uint(v, "tftp port", 1, 65535); ok {
				t.Port = int(p)
			}
		case "max-transfers":
			if m, ok := d.uint(v, "tftp max-transfers", 1, 100000); ok {
				t.MaxTransfers = int(m)
			}
		}
	})
	if ok && !hasRoot {
		d.errorf(n, "tftp needs a root: the directory of the boot files")
	}
	return t
}

func (d *decoder) httpBoot(n *yaml.Node, tftp *TFTP) *HTTPBoot {
	h := &HTTPBoot{}
	var hasRoot, hasListen bool
	ok := d.mapping(n, "http-boot", []string{"root", "listen"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "root":
			h.Root, _ = d.root(v, "http-boot root")
			hasRoot = true
		case "listen":
			hasListen = true
			s, ok := d.str(v, "http-boot listen")
			if !ok {
				return
			}
			ap, err := netip.ParseAddrPort(s)
			if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
				d.errorf(v, "http-boot listen %q: want an IPv4 address and a port, like 198.18.0.1:8080", s)
				return
			}
			h.Listen = ap
		}
	})
	if !ok {
		return h
	}
	if !hasRoot && tftp != nil {
		h.Root, hasRoot = tftp.Root, true
	}
	if !hasRoot {
		d.errorf(n, "http-boot needs a root (or a tftp root to share)")
	}
	if !hasListen {
		d.errorf(n, "http-boot needs listen: the address and port to serve on, like 198.18.0.1:8080")
	}
	return h
}

// absFile reads an absolute file path.
func (d *decoder) absFile(n *yaml.Node, what string) (string, bool) {
	p, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !path.IsAbs(p) || strings.HasSuffix(p, "/") || strings.ContainsRune(p, 0) {
		d.errorf(n, "%s %q: want an absolute file path", what, p)
		return "", false
	}
	return path.Clean(p), true
}

func (d *decoder) api(n *yaml.Node) *API {
	a := &API{Listen: DefaultAPIListen}
	var listenNode *yaml.Node
	ok := d.mapping(n, "api", []string{"listen", "tls", "tokens", "audit-log"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "listen":
			listenNode = v
			s, ok := d.str(v, "api listen")
			if !ok {
				return
			}
			ap, err := netip.ParseAddrPort(s)
			if err != nil || !ap.Addr().Is4() || ap.Port() == 0 {
				d.errorf(v, "api listen %q: want an IPv4 address and a port, like 127.0.0.1:8067", s)
				return
			}
			a.Listen = ap
		case "tls":
			var certNode *yaml.Node
			ok := d.mapping(v, "api tls", []string{"cert", "key"}, func(key string, k, vv *yaml.Node) {
				switch key {
				case "cert":
					certNode = k
					a.TLSCert, _ = d.absFile(vv, "api tls cert")
				case "key":
					a.TLSKey, _ = d.absFile(vv, "api tls key")
				}
			})
			if ok && (certNode == nil) != (a.TLSKey == "") {
				d.errorf(v, "api tls needs both cert and key")
			}
		case "tokens":
			a.Tokens, _ = d.absFile(v, "api tokens")
		case "audit-log":
			a.AuditLog, _ = d.absFile(v, "api audit-log")
		}
	})
	if ok && !a.Listen.Addr().IsLoopback() && (a.TLSCert == "" || a.TLSKey == "") {
		at := n
		if listenNode != nil {
			at = listenNode
		}
		d.errorf(at, "api listen %s is beyond loopback: set api tls cert and key (tokens are always required)", a.Listen)
	}
	return a
}

func (d *decoder) backups(n *yaml.Node) *Backups {
	b := &Backups{Interval: DefaultBackupInterval, Keep: DefaultBackupKeep}
	var hasDir bool
	ok := d.mapping(n, "backups", []string{"dir", "interval", "keep"}, func(key string, _, v *yaml.Node) {
		switch key {
		case "dir":
			b.Dir, _ = d.root(v, "backups dir")
			hasDir = true
		case "interval":
			t, ok := d.duration(v, "backups interval", true)
			switch {
			case !ok:
			case t == dhcpv4.Infinite:
				d.errorf(v, "backups interval cannot be infinite")
			case t < MinBackupInterval:
				d.errorf(v, "backups interval %s is shorter than %s", t, MinBackupInterval)
			default:
				b.Interval = t
			}
		case "keep":
			if k, ok := d.uint(v, "backups keep", 1, 1000000); ok {
				b.Keep = int(k)
			}
		}
	})
	if ok && !hasDir {
		d.errorf(n, "backups needs a dir: the directory to write snapshots to")
	}
	return b
}

func (d *decoder) bootTemplates(n *yaml.Node) map[string]*template.Template {
	ts := map[string]*template.Template{}
	d.mapping(n, "boot-templates", nil, func(name string, k, v *yaml.Node) {
		clean := strings.TrimLeft(name, "/")
		if clean == "" || strings.ContainsAny(clean, "\\\x00") || path.Clean(clean) != clean || strings.HasPrefix(clean, "../") || clean == ".." {
			d.errorf(k, "boot template name %q: want a relative file name without . or .. elements", name)
			return
		}
		src, ok := d.str(v, "boot template "+name)
		if !ok {
			return
		}
		t, err := template.New(clean).Option("missingkey=error").Parse(src)
		if err != nil {
			d.errorf(v, "boot template %s: %v", name, err)
			return
		}
		// Executed once now with an empty client, so that a field that does
		// not exist is an error here, not when a client asks.
		if err := t.Execute(io.Discard, BootClient{}); err != nil {
			d.errorf(v, "boot template %s: %v", name, err)
			return
		}
		ts[clean] = t
	})
	return ts
}

func (d *decoder) rarp(n *yaml.Node) *RARP {
	r := &RARP{}
	ok := d.mapping(n, "rarp", []string{"interfaces"}, func(_ string, _, v *yaml.Node) {
		items, _ := d.sequence(v, "rarp interfaces", false)
		for _, it := range items {
			if name, ok := d.ifname(it, "rarp interfaces"); ok && !slices.Contains(r.Interfaces, name) {
				r.Interfaces = append(r.Interfaces, name)
			}
		}
	})
	if ok && len(r.Interfaces) == 0 {
		d.errorf(n, "rarp needs interfaces: where to answer RARP requests")
	}
	return r
}

func (d *decoder) class(n *yaml.Node, c *Config) {
	cl := &Class{Index: len(c.Classes), Pos: pos(n)}
	var nameNode, matchNode *yaml.Node
	ok := d.mapping(n, "class", classKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "name":
			nameNode = v
			cl.Name, _ = d.str(v, "class name")
		case "match":
			matchNode = v
		default:
			d.setting(key, v, &cl.Own, "class")
		}
	})
	if !ok {
		return
	}
	switch {
	case nameNode == nil:
		d.errorf(n, "class needs a name")
	case cl.Name == "":
	case c.Class(cl.Name) != nil:
		first := c.Class(cl.Name)
		d.errorf(nameNode, "duplicate class name %q (first at line %d)", cl.Name, first.Pos.Line)
	}
	if matchNode == nil {
		d.errorf(n, "class %s needs a match", cl.Name)
	} else {
		cl.Match = d.match(matchNode, 0)
	}
	d.checkTimes(c.Global.overlay(&cl.Own), &cl.Own)
	c.Classes = append(c.Classes, cl)
}

func (d *decoder) shared(n *yaml.Node, c *Config) {
	sn := &SharedNetwork{Pos: pos(n)}
	var nameNode, ifNode *yaml.Node
	var subnetNodes []*yaml.Node
	var hasSubnets bool
	ok := d.mapping(n, "shared network", sharedKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "name":
			nameNode = v
			sn.Name, _ = d.str(v, "shared network name")
		case "interface":
			ifNode = v
			sn.Interface, _ = d.ifname(v, key)
		case "subnets":
			hasSubnets = true
			subnetNodes, _ = d.sequence(v, key, false)
		default:
			d.setting(key, v, &sn.Own, "shared network")
		}
	})
	if !ok {
		return
	}
	if nameNode == nil {
		d.errorf(n, "shared network needs a name")
	} else if sn.Name != "" {
		for _, o := range c.SharedNetworks {
			if o.Name == sn.Name {
				d.errorf(nameNode, "duplicate shared network name %q (first at line %d)", sn.Name, o.Pos.Line)
			}
		}
	}
	if ifNode != nil && sn.Interface != "" && !slices.Contains(c.Interfaces, sn.Interface) {
		d.errorf(ifNode, "interface %s is not in interfaces", sn.Interface)
	}
	if !hasSubnets || len(subnetNodes) == 0 {
		d.errorf(n, "shared network %s has no subnets", sn.Name)
	}
	sn.Effective = c.Global.overlay(&sn.Own)
	d.checkTimes(sn.Effective, &sn.Own)
	c.SharedNetworks = append(c.SharedNetworks, sn)
	for _, sub := range subnetNodes {
		if s := d.subnet(sub, c, sn); s != nil {
			sn.Subnets = append(sn.Subnets, s)
			c.Subnets = append(c.Subnets, s)
		}
	}
	for _, s := range sn.Subnets {
		s.link = sn.Subnets
	}
}

func (d *decoder) subnet(n *yaml.Node, c *Config, sn *SharedNetwork) *Subnet {
	s := &Subnet{Shared: sn, Pos: pos(n)}
	var prefixNode, ifNode, serverNode, proxyNode *yaml.Node
	var poolNodes, resvNodes []*yaml.Node
	ok := d.mapping(n, "subnet", subnetKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "subnet":
			prefixNode = v
		case "proxy-dhcp":
			proxyNode = v
			s.ProxyDHCP, _ = d.boolean(v, "proxy-dhcp")
		case "interface":
			ifNode = v
		case "server-address":
			serverNode = v
		case "pools":
			poolNodes, _ = d.sequence(v, key, false)
		case "reservations":
			resvNodes, _ = d.sequence(v, key, false)
		default:
			d.setting(key, v, &s.Own, "subnet")
		}
	})
	if !ok {
		return nil
	}
	if prefixNode == nil {
		d.errorf(n, "subnet needs a subnet: prefix (like 198.18.0.0/24)")
		return nil
	}
	str, ok := d.str(prefixNode, "subnet")
	if !ok {
		return nil
	}
	p, err := parsePrefix(str)
	if err != nil {
		d.errorf(prefixNode, "subnet %q: %v", str, err)
		return nil
	}
	if p.Bits() == 0 {
		d.errorf(prefixNode, "subnet %s covers every address", p)
		return nil
	}
	s.Prefix, s.Pos = p, pos(prefixNode)
	s.link = []*Subnet{s}

	parent := c.Global
	if sn != nil {
		parent = sn.Effective
		s.Interface = sn.Interface
	}
	if ifNode != nil {
		name, ok := d.ifname(ifNode, "interface")
		switch {
		case !ok:
		case !slices.Contains(c.Interfaces, name):
			d.errorf(ifNode, "interface %s is not in interfaces", name)
		case sn != nil && sn.Interface != "" && sn.Interface != name:
			d.errorf(ifNode, "subnet %s is on interface %s but its shared network %s is on %s", p, name, sn.Name, sn.Interface)
		default:
			s.Interface = name
		}
	}
	if s.Interface != "" {
		c.byIf[s.Interface] = append(c.byIf[s.Interface], s)
	}
	if serverNode != nil {
		if a, ok := d.addr(serverNode, "server-address"); ok {
			s.ServerAddress = a
			switch {
			case !p.Contains(a):
				d.errorf(serverNode, "server-address %s is outside subnet %s", a, p)
			case hasNetAndBroadcast(p) && (a == p.Addr() || a == lastAddr(p)):
				d.errorf(serverNode, "server-address %s is the network or broadcast address of subnet %s", a, p)
			}
		}
	}
	s.Effective = parent.overlay(&s.Own)
	if _, ok := s.Effective.Option(dhcpv4.OptSubnetMask); !ok {
		mask := netip.AddrFrom4([4]byte(netipMask(p.Bits())))
		s.Effective.Options = mergeOptions(s.Effective.Options, []Option{{dhcpv4.OptSubnetMask, mask.AsSlice()}})
	}
	d.checkTimes(s.Effective, &s.Own)

	for _, pn := range poolNodes {
		if pl := d.pool(pn, c, s); pl != nil {
			s.Pools = append(s.Pools, pl)
		}
	}
	s.byMAC, s.byID = map[string]*Reservation{}, map[string]*Reservation{}
	s.byCircuit, s.byRemote = map[string]*Reservation{}, map[string]*Reservation{}
	s.byAddr = map[netip.Addr]*Reservation{}
	for _, rn := range resvNodes {
		if r := d.reservation(rn, s); r != nil {
			s.Reservations = append(s.Reservations, r)
		}
	}
	if s.ProxyDHCP {
		switch {
		case len(s.Pools) > 0:
			d.errorf(proxyNode, "subnet %s: proxy-dhcp leaves addresses to another server, so it has no pools", p)
		case s.Effective.BOOTP != BOOTPOff:
			d.errorf(proxyNode, "subnet %s: proxy-dhcp answers PXE clients only; bootp must be off", p)
		}
		for _, r := range s.Reservations {
			if r.Address.IsValid() {
				d.at(r.Pos, "reservation in proxy-dhcp subnet %s gives an address; a proxy gives boot settings only", p)
			}
		}
	}
	return s
}

func netipMask(bits int) []byte {
	v := ^uint32(0) << (32 - bits)
	if bits == 0 {
		v = 0
	}
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func (d *decoder) pool(n *yaml.Node, c *Config, s *Subnet) *Pool {
	pl := &Pool{Subnet: s, Pos: pos(n)}
	var rangeNode *yaml.Node
	ok := d.mapping(n, "pool", poolKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "range":
			rangeNode = v
		case "classes":
			items, _ := d.sequence(v, key, true)
			for _, it := range items {
				name, ok := d.str(it, "pool class")
				if !ok {
					continue
				}
				cl := c.Class(name)
				if cl == nil {
					d.errorf(it, "unknown class %q", name)
					continue
				}
				pl.Classes = append(pl.Classes, cl)
				pl.classes.add(cl.Index)
			}
		default:
			d.setting(key, v, &pl.Own, "pool")
		}
	})
	if !ok {
		return nil
	}
	if rangeNode == nil {
		d.errorf(n, "pool needs a range (like 198.18.0.100-198.18.0.200 or 198.18.0.128/25)")
		return nil
	}
	r, ok := d.str(rangeNode, "range")
	if !ok {
		return nil
	}
	pl.Range, pl.Pos = r, pos(rangeNode)
	sp := s.Prefix
	if lo, hi, isRange := strings.Cut(r, "-"); isRange {
		first, err1 := parseAddr(lo)
		last, err2 := parseAddr(hi)
		switch {
		case err1 != nil:
			d.errorf(rangeNode, "pool %s: %q is %v", r, strings.TrimSpace(lo), err1)
			return nil
		case err2 != nil:
			d.errorf(rangeNode, "pool %s: %q is %v", r, strings.TrimSpace(hi), err2)
			return nil
		case last.Less(first):
			d.errorf(rangeNode, "pool %s: the first address is after the last", r)
			return nil
		case !sp.Contains(first) || !sp.Contains(last):
			d.errorf(rangeNode, "pool %s is outside subnet %s", r, sp)
			return nil
		case hasNetAndBroadcast(sp) && first == sp.Addr():
			d.errorf(rangeNode, "pool %s includes %s, the network address of subnet %s", r, first, sp)
			return nil
		case hasNetAndBroadcast(sp) && last == lastAddr(sp):
			d.errorf(rangeNode, "pool %s includes %s, the broadcast address of subnet %s", r, last, sp)
			return nil
		}
		pl.First, pl.Last = first, last
	} else {
		pp, err := parsePrefix(r)
		if err != nil {
			d.errorf(rangeNode, "pool %q: %v (a pool is FIRST-LAST or a prefix)", r, err)
			return nil
		}
		if pp.Bits() < sp.Bits() || !sp.Contains(pp.Addr()) {
			d.errorf(rangeNode, "pool %s is outside subnet %s", r, sp)
			return nil
		}
		pl.First, pl.Last = pp.Addr(), lastAddr(pp)
		// The subnet's network and broadcast addresses are left out.
		if hasNetAndBroadcast(sp) && pl.First == sp.Addr() {
			pl.First = pl.First.Next()
		}
		if hasNetAndBroadcast(sp) && pl.Last == lastAddr(sp) {
			pl.Last = pl.Last.Prev()
		}
		if pl.Last.Less(pl.First) {
			d.errorf(rangeNode, "pool %s has no addresses once the network and broadcast addresses are left out", r)
			return nil
		}
	}
	pl.Effective = s.Effective.overlay(&pl.Own)
	d.checkTimes(pl.Effective, &pl.Own)
	return pl
}

func (d *decoder) reservation(n *yaml.Node, s *Subnet) *Reservation {
	r := &Reservation{Subnet: s, Pos: pos(n)}
	var addrNode, idNode, hostNode *yaml.Node
	ok := d.mapping(n, "reservation", resvKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "mac", "client-id", "circuit-id", "remote-id":
			if idNode != nil {
				d.errorf(k, "reservation has both %s and %s: give exactly one identifier", r.IDKind, key)
				return
			}
			idNode = k
			r.ID, r.IDKind = d.identifier(key, v)
		case "address":
			addrNode = v
			r.Address, _ = d.addr(v, key)
		case "hostname":
			hostNode = v
			if h, ok := d.str(v, key); ok {
				if err := checkHostname(h); err != nil {
					d.errorf(v, "hostname %q: %v", h, err)
				} else {
					r.Hostname = h
				}
			}
		default:
			d.setting(key, v, &r.Own, "reservation")
		}
	})
	if !ok {
		return nil
	}
	if idNode == nil {
		d.errorf(n, "reservation needs one of mac, client-id, circuit-id or remote-id")
	}
	if r.Hostname != "" {
		if _, dup := (&r.Own).Option(dhcpv4.OptHostName); dup {
			d.errorf(hostNode, "hostname and option host-name are both set")
		} else {
			r.Own.Options = mergeOptions(r.Own.Options, []Option{{dhcpv4.OptHostName, []byte(r.Hostname)}})
		}
	}
	d.checkTimes(s.Effective.overlay(&r.Own), &r.Own)

	if r.ID != nil {
		idx := map[IDKind]map[string]*Reservation{ByMAC: s.byMAC, ByClientID: s.byID, ByCircuitID: s.byCircuit, ByRemoteID: s.byRemote}[r.IDKind]
		if o := idx[string(r.ID)]; o != nil {
			d.errorf(idNode, "%s %s is already reserved in subnet %s (line %d)", r.IDKind, formatID(r.IDKind, r.ID), s.Prefix, o.Pos.Line)
		} else {
			idx[string(r.ID)] = r
		}
	}
	if r.Address.IsValid() {
		a, p := r.Address, s.Prefix
		switch {
		case !p.Contains(a):
			d.errorf(addrNode, "reservation address %s is outside subnet %s", a, p)
		case hasNetAndBroadcast(p) && (a == p.Addr() || a == lastAddr(p)):
			d.errorf(addrNode, "reservation address %s is the network or broadcast address of subnet %s", a, p)
		case a == s.ServerAddress:
			d.errorf(addrNode, "reservation address %s is the server's address", a)
		case s.byAddr[a] != nil:
			d.errorf(addrNode, "address %s is reserved twice (first at line %d)", a, s.byAddr[a].Pos.Line)
		default:
			s.byAddr[a] = r
			for _, pl := range s.Pools {
				if pl.Contains(a) {
					pl.Excluded = append(pl.Excluded, a)
				}
			}
		}
	}
	return r
}

// identifier reads a reservation's client identifier.
func (d *decoder) identifier(key string, v *yaml.Node) ([]byte, IDKind) {
	switch key {
	case "mac":
		s, ok := d.str(v, key)
		if !ok {
			return nil, 0
		}
		b, err := parseMAC(s)
		if err != nil {
			d.errorf(v, "mac %q: %v", s, err)
			return nil, 0
		}
		return b, ByMAC
	case "client-id":
		if v.Kind == yaml.MappingNode {
			var id []byte
			d.mapping(v, key, []string{"text"}, func(_ string, _, tv *yaml.Node) {
				if t, ok := d.str(tv, "client-id text"); ok {
					if t == "" || len(t) > 254 {
						d.errorf(tv, "client-id text must be 1 to 254 bytes")
						return
					}
					id = append([]byte{0}, t...) // type 0: not a hardware address (RFC 2132 9.14)
				}
			})
			if id == nil && len(v.Content) == 0 {
				d.errorf(v, "client-id: give hex bytes or {text: ...}")
			}
			return id, ByClientID
		}
		s, ok := d.str(v, key)
		if !ok {
			return nil, 0
		}
		b, err := parseHex(s)
		if err == nil && (len(b) < 2 || len(b) > 255) {
			err = fmt.Errorf("%d bytes; a client identifier is a type byte and at least one more", len(b))
		}
		if err != nil {
			d.errorf(v, "client-id %q: %v", s, err)
			return nil, 0
		}
		return b, ByClientID
	}
	kind := ByCircuitID
	if key == "remote-id" {
		kind = ByRemoteID
	}
	p, ok := d.pattern(v, key, true)
	if !ok {
		return nil, 0
	}
	b := p.raw
	if !p.isRaw {
		b = []byte(strings.Join(byteStrings(p.parts), "*"))
	}
	if len(b) == 0 || len(b) > 255 {
		d.errorf(v, "%s must be 1 to 255 bytes", key)
		return nil, 0
	}
	return b, kind
}

func byteStrings(parts [][]byte) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = string(p)
	}
	return out
}

func formatID(k IDKind, id []byte) string {
	switch k {
	case ByMAC:
		return dhcpv4.HexString(id)
	case ByClientID:
		return dhcpv4.FormatClientID(id)
	}
	return dhcpv4.FormatBytes(id)
}

// checkHostname accepts a host name or a domain name of letters, digits
// and hyphens (RFC 1123), which is what option 12 may carry.
func checkHostname(h string) error {
	name := strings.TrimSuffix(h, ".")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("must be 1 to 253 characters")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("labels must be 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("a label may not start or end with a hyphen")
		}
		for _, ch := range label {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Errorf("only letters, digits and hyphens are allowed")
			}
		}
	}
	return nil
}

// checkTimes checks the lease times of a scope once inherited: min <=
// default <= max, and renew < rebind < lease. Only scopes that set one of
// them are checked, and the problem is reported where this scope set it.
func (d *decoder) checkTimes(eff Settings, own *Settings) {
	src := own.src
	if src == nil {
		return
	}
	first := func(ns ...*yaml.Node) *yaml.Node {
		for _, n := range ns {
			if n != nil {
				return n
			}
		}
		return nil
	}
	def, lo, hi := eff.LeaseTime, eff.MinLeaseTime, eff.MaxLeaseTime
	if n := first(src.min, src.lease); n != nil && lo > def {
		d.errorf(n, "lease-time min %s is longer than the default %s", FormatDuration(lo), FormatDuration(def))
	}
	if n := first(src.max, src.lease); n != nil && def > hi {
		d.errorf(n, "lease-time default %s is longer than the max %s", FormatDuration(def), FormatDuration(hi))
	}
	n := first(src.renew, src.rebind, src.lease)
	if n == nil || def == dhcpv4.Infinite {
		return
	}
	t1, t2 := eff.RenewTime, eff.RebindTime
	switch {
	case t1 != 0 && t2 != 0 && t1 >= t2:
		d.errorf(n, "renew-time %s is not shorter than rebind-time %s", FormatDuration(t1), FormatDuration(t2))
	case t2 != 0 && t2 >= def:
		d.errorf(first(src.rebind, src.lease, n), "rebind-time %s is not shorter than the lease time %s", FormatDuration(t2), FormatDuration(def))
	case t1 != 0 && t2 == 0 && t1 >= def/8*7:
		d.errorf(n, "renew-time %s is not shorter than the rebind time %s (7/8 of the lease time %s)", FormatDuration(t1), FormatDuration(def/8*7), FormatDuration(def))
	}
}
