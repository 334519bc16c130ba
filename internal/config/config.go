package config

import (
	"net/netip"
	"slices"
	"text/template"
	"time"

	"bootd/internal/dhcpv4"
)

// Defaults of the global scope (see the package documentation).
const (
	DefaultLeaseStorePath    = "/var/lib/bootd"
	DefaultLeaseTime         = 12 * time.Hour
	DefaultMaxLeaseTime      = 24 * time.Hour
	DefaultOfferHold         = time.Minute
	DefaultDeclineQuarantine = 24 * time.Hour
)

// MaxClasses is the largest number of classes: a ClassSet is a fixed-size
// bit set so that classifying a request allocates nothing.
const MaxClasses = 256

// Config is a loaded configuration. It is never modified once Load or Parse
// returns it, and its users must not modify it either: one Config is shared
// by every worker, and a reload builds a new one.
type Config struct {
	File              string   // the name given to Parse
	Interfaces        []string // interfaces to serve on, in file order
	LeaseStore        LeaseStore
	OfferHold         time.Duration // how long an offered address is held for the client
	DeclineQuarantine time.Duration // how long a declined address is kept out of use

	// The boot file servers and the RARP responder; nil when off.
	TFTP     *TFTP
	HTTPBoot *HTTPBoot
	RARP     *RARP
	// Backups schedules snapshots of the lease store; nil when off.
	Backups *Backups
	// API configures the HTTP API and dashboard; nil when off.
	API *API
	// ReservationsFile is the file of reservations made through the API
	// (see the package documentation): read at load when it exists, its
	// reservations joined to the subnets'. Absolute; by default
	// reservations.yaml in the lease store directory.
	ReservationsFile string
	// Text is the configuration file's content as loaded.
	Text []byte
	// BootTemplates are files made per client and served over TFTP and
	// HTTP before the boot root, by name as the client asks for it
	// (without a leading "/"). They are executed with a BootClient.
	BootTemplates map[string]*template.Template

	Global         Settings         // the global scope's effective settings (with defaults)
	SharedNetworks []*SharedNetwork // in file order
	Subnets        []*Subnet        // every subnet, top-level and in shared networks, in file order
	Classes        []*Class         // in file order, which is their precedence

	byAddr []*Subnet            // sorted by prefix address, for SubnetFor
	byIf   map[string][]*Subnet // subnets tied to an interface by configuration
}

// TFTP configures the built-in TFTP server (read-only, rooted).
type TFTP struct {
	Root         string     // directory, absolute
	Address      netip.Addr // address to listen on; invalid: all
	Port         int        // 69 unless set
	MaxTransfers int        // transfers at once (DefaultTFTPTransfers unless set)
}

// HTTPBoot configures the HTTP boot server (UEFI HTTP boot, iPXE).
type HTTPBoot struct {
	Root   string         // directory, absolute; the TFTP root unless set
	Listen netip.AddrPort // address and port to listen on
}

// RARP configures the RARP responder (RFC 903): it answers on Interfaces
// with the address reserved for the asking MAC.
type RARP struct {
	Interfaces []string
}

// Backups configures scheduled snapshots of the lease store: every
// Interval one snapshot file in Dir, the newest Keep kept.
type Backups struct {
	Dir      string // directory, absolute
	Interval time.Duration
	Keep     int
}

// API configures the HTTP API listener: JSON API, dashboard and metrics,
// every request authenticated by a token (see internal/api).
type API struct {
	Listen netip.AddrPort // DefaultAPIListen unless set
	// TLSCert and TLSKey are PEM files; both set or neither. A listen
	// address beyond loopback requires them.
	TLSCert, TLSKey string
	// Tokens is the token file (salted hashes, written by bootd token);
	// by default api-tokens.json in the lease store directory.
	Tokens string
	// AuditLog is the file every change made through the API is appended
	// to; by default audit.log in the lease store directory.
	AuditLog string
}

// DefaultAPIListen is where the API listens unless configured.
var DefaultAPIListen = netip.MustParseAddrPort("127.0.0.1:8067")

// Default file names in the lease store directory.
const (
	DefaultReservationsFile = "reservations.yaml"
	DefaultTokensFile       = "api-tokens.json"
	DefaultAuditLog         = "audit.log"
)

// Defaults and limits of backups.
const (
	DefaultBackupInterval = time.Hour
	MinBackupInterval     = time.Minute
	DefaultBackupKeep     = 24
)

// BootClient is what a boot template knows of the client fetching it: its
// address, and from its lease (when it has one) its MAC and host name.
type BootClient struct {
	Address  netip.Addr
	MAC      string // like 02:00:00:00:00:01, empty without a lease
	Hostname string
}

// Defaults of the boot servers.
const (
	DefaultTFTPPort      = 69
	DefaultTFTPTransfers = 64
)

// ReservedAddress returns the address reserved for a MAC (a reservation
// by mac with an address), searching subnets in file order; what the RARP
// responder answers.
func (c *Config) ReservedAddress(mac []byte) (netip.Addr, bool) {
	for _, s := range c.Subnets {
		if r := s.byMAC[string(mac)]; r != nil && r.Address.IsValid() {
			return r.Address, true
		}
	}
	return netip.Addr{}, false
}

// LeaseStore says where leases are kept.
type LeaseStore struct {
	Path string // directory
}

// Pos is a position in the configuration file.
type Pos struct{ Line, Column int }

// Option is one option value, encoded to its wire form at load time so the
// packet path only copies bytes.
type Option struct {
	Code  uint8
	Value []byte
}

// BOOTPMode says how plain BOOTP clients (no DHCP message type) are served.
type BOOTPMode uint8

// BOOTP modes; the zero value means "not set here" in a scope's own settings.
const (
	BOOTPOff          BOOTPMode = iota + 1 // ignore BOOTP requests
	BOOTPReservations                      // answer clients with a reservation only
	BOOTPDynamic                           // also give pool addresses, as permanent leases
)

func (m BOOTPMode) String() string {
	switch m {
	case BOOTPOff:
		return "off"
	case BOOTPReservations:
		return "reservations"
	case BOOTPDynamic:
		return "dynamic"
	}
	return "unset"
}

// Settings are what a scope sets for its clients. In a scope's Own settings
// zero values mean "not set here"; in Effective settings everything is
// resolved: inherited from the enclosing scopes and the defaults.
type Settings struct {
	LeaseTime    time.Duration // default lease time; dhcpv4.Infinite for infinite leases
	MinLeaseTime time.Duration // shortest lease a client may ask for (0: no minimum)
	MaxLeaseTime time.Duration // longest lease a client may ask for
	RenewTime    time.Duration // T1; 0: half the lease
	RebindTime   time.Duration // T2; 0: seven eighths of the lease
	BootFile     string        // file field and option 67; "" when none
	NextServer   netip.Addr    // siaddr; invalid when none

	// Authoritative and BOOTP exist at the subnet scope and above.
	Authoritative bool
	BOOTP         BOOTPMode

	// Options in increasing order of code, one value per code.
	Options []Option

	set setBits // which of the zero-valued-when-unset fields are set here
	src *timeNodes
}

type setBits uint8

const (
	setMinLease setBits = 1 << iota
	setAuthoritative
	setMaxLease // in Effective settings: a max was configured somewhere above
)

// Option returns the value of an option, if the settings have one.
func (s *Settings) Option(code uint8) ([]byte, bool) {
	i, ok := slices.BinarySearchFunc(s.Options, code, func(o Option, c uint8) int { return int(o.Code) - int(c) })
	if !ok {
		return nil, false
	}
	return s.Options[i].Value, true
}

// overlay returns s with the settings set in own applied over it.
func (s Settings) overlay(own *Settings) Settings {
	if own == nil {
		return s
	}
	if own.LeaseTime != 0 {
		s.LeaseTime = own.LeaseTime
	}
	if own.set&setMinLease != 0 {
		s.MinLeaseTime = own.MinLeaseTime
	}
	if own.MaxLeaseTime != 0 {
		s.MaxLeaseTime = own.MaxLeaseTime
		s.set |= setMaxLease
	}
	if own.RenewTime != 0 {
		s.RenewTime = own.RenewTime
	}
	if own.RebindTime != 0 {
		s.RebindTime = own.RebindTime
	}
	if own.BootFile != "" {
		s.BootFile = own.BootFile
	}
	if own.NextServer.IsValid() {
		s.NextServer = own.NextServer
	}
	if own.set&setAuthoritative != 0 {
		s.Authoritative = own.Authoritative
	}
	if own.BOOTP != 0 {
		s.BOOTP = own.BOOTP
	}
	s.Options = mergeOptions(s.Options, own.Options)
	s.set &= setMaxLease
	s.src = nil
	if s.set&setMaxLease == 0 {
		// Without a configured max, a longer default raises it.
		s.MaxLeaseTime = max(DefaultMaxLeaseTime, s.LeaseTime)
	}
	return s
}

// mergeOptions merges two sorted lists; b wins for a code in both.
func mergeOptions(a, b []Option) []Option {
	if len(b) == 0 {
		return a
	}
	out := make([]Option, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i].Code < b[j].Code):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j].Code < a[i].Code:
			out = append(out, b[j])
			j++
		default:
			out = append(out, b[j])
			i++
			j++
		}
	}
	return out
}

// SharedNetwork is several subnets on one link.
type SharedNetwork struct {
	Name      string
	Interface string // "" when the link is reached through relays or found by address
	Subnets   []*Subnet
	Own       Settings
	Effective Settings // global < shared network
	Pos       Pos
}

// Subnet is one IPv4 subnet with its pools and reservations.
type Subnet struct {
	Prefix netip.Prefix

	// Interface is the interface the subnet is on-link for, from the subnet
	// or its shared network; "" when it is relayed or found by the
	// interface's addresses.
	Interface string

	// ServerAddress is the server's own address in the subnet (its server
	// identifier there); invalid when it is to be taken from the interface.
	ServerAddress netip.Addr

	// ProxyDHCP: another server gives addresses here; bootd answers PXE
	// clients with boot settings only (PXE 2.1 proxyDHCP), on port 67 and
	// on the boot server port 4011.
	ProxyDHCP bool

	Shared       *SharedNetwork // nil when the subnet is not in one
	Pools        []*Pool
	Reservations []*Reservation
	Own          Settings
	Effective    Settings // global < shared network < subnet; includes subnet-mask
	Pos          Pos

	link      []*Subnet // the subnets on this link: Shared.Subnets or just this one
	byMAC     map[string]*Reservation
	byID      map[string]*Reservation
	byCircuit map[string]*Reservation
	byRemote  map[string]*Reservation
	byAddr    map[netip.Addr]*Reservation
}

// Link returns the subnets on the subnet's link: those of its shared
// network, or the subnet alone. A request from that link may be given an
// address in any of them.
func (s *Subnet) Link() []*Subnet { return s.link }

// Contains reports whether an address is in the subnet.
func (s *Subnet) Contains(a netip.Addr) bool { return s.Prefix.Contains(a) }

// Reservation finds the reservation of the client that sent req, looking
// at, in order: client identifier (61), hardware address (Ethernet chaddr),
// relay circuit id (82.1), relay remote id (82.2). It allocates nothing.
func (s *Subnet) Reservation(req *dhcpv4.Message) *Reservation {
	if len(s.Reservations) == 0 {
		return nil
	}
	if id, ok := req.ClientID(); ok {
		if r := s.byID[string(id)]; r != nil {
			return r
		}
	}
	if req.HType == dhcpv4.HTypeEthernet && req.HLen == 6 {
		if r := s.byMAC[string(req.CHAddr[:6])]; r != nil {
			return r
		}
	}
	if len(s.byCircuit) == 0 && len(s.byRemote) == 0 {
		return nil
	}
	ri, ok := req.RelayAgentInfo()
	if !ok {
		return nil
	}
	if v, ok := ri.CircuitID(); ok {
		if r := s.byCircuit[string(v)]; r != nil {
			return r
		}
	}
	if v, ok := ri.RemoteID(); ok {
		if r := s.byRemote[string(v)]; r != nil {
			return r
		}
	}
	return nil
}

// ReservationFor returns the reservation of an address, or nil.
func (s *Subnet) ReservationFor(a netip.Addr) *Reservation { return s.byAddr[a] }

// Pool is a range of addresses given out dynamically.
type Pool struct {
	Subnet *Subnet
	Range  string     // as written
	First  netip.Addr // first address given out
	Last   netip.Addr // last address given out (inclusive)

	// Excluded lists the reserved addresses inside the pool, sorted: they
	// go only to their owners.
	Excluded []netip.Addr

	// Classes restricts the pool to clients in one of these classes;
	// empty means every client.
	Classes   []*Class
	Own       Settings
	Effective Settings // global < shared network < subnet < pool
	Pos       Pos

	classes ClassSet
}

// Size is the number of addresses the pool gives out (reserved ones excluded).
func (p *Pool) Size() uint64 {
	return uint64(u32(p.Last)-u32(p.First)) + 1 - uint64(len(p.Excluded))
}

// Contains reports whether an address is in the pool's range (reserved
// addresses included).
func (p *Pool) Contains(a netip.Addr) bool {
	return a.Is4() && p.First.Compare(a) <= 0 && a.Compare(p.Last) <= 0
}

// Allows reports whether a client in the classes cs may get an address
// from the pool.
func (p *Pool) Allows(cs ClassSet) bool {
	if len(p.Classes) == 0 {
		return true
	}
	for i := range cs.bits {
		if cs.bits[i]&p.classes.bits[i] != 0 {
			return true
		}
	}
	return false
}

// IDKind is what identifies a reserved client.
type IDKind uint8

// Reservation identifiers.
const (
	ByMAC       IDKind = iota + 1 // hardware address (Ethernet)
	ByClientID                    // option 61, type byte included
	ByCircuitID                   // relay agent information sub-option 1
	ByRemoteID                    // relay agent information sub-option 2
)

func (k IDKind) String() string {
	switch k {
	case ByMAC:
		return "mac"
	case ByClientID:
		return "client-id"
	case ByCircuitID:
		return "circuit-id"
	case ByRemoteID:
		return "remote-id"
	}
	return "unknown"
}

// Reservation is a client known in advance.
type Reservation struct {
	Subnet   *Subnet
	IDKind   IDKind
	ID       []byte     // the identifier's bytes, as on the wire
	Address  netip.Addr // invalid when the client gets a pool address
	Hostname string     // also in Own.Options as option 12
	Own      Settings   // most specific scope: over the subnet's and the class's
	// File is the reservations file the reservation comes from, or ""
	// for the configuration file; Pos is a position in that file.
	File string
	Pos  Pos
}

// Class is a set of clients chosen by what their requests carry.
type Class struct {
	Name  string
	Index int // position in Config.Classes
	Match *Match
	Own   Settings // applied over the pool or subnet, under a reservation
	Pos   Pos
}

// ClassSet is the set of classes a request belongs to.
type ClassSet struct{ bits [MaxClasses / 64]uint64 }

// Has reports whether the class with the index is in the set.
func (s ClassSet) Has(index int) bool {
	return index >= 0 && index < MaxClasses && s.bits[index/64]&(1<<(index%64)) != 0
}

func (s *ClassSet) add(index int) { s.bits[index/64] |= 1 << (index % 64) }

// Classify returns every class whose match holds for req, and the first
// of them in file order (the one whose settings apply), or nil.
// It allocates nothing.
func (c *Config) Classify(req *dhcpv4.Message) (ClassSet, *Class) {
	var set ClassSet
	var first *Class
	for _, cl := range c.Classes {
		if cl.Match.Matches(req) {
			set.add(cl.Index)
			if first == nil {
				first = cl
			}
		}
	}
	return set, first
}

// Class returns the class with the name, or nil.
func (c *Config) Class(name string) *Class {
	for _, cl := range c.Classes {
		if cl.Name == name {
			return cl
		}
	}
	return nil
}

// SubnetFor returns the subnet containing an address, or nil: the subnet of
// a relay's giaddr, of a link-selection (82.5) or subnet-selection (118)
// address, or of a client's ciaddr. Subnets never overlap, so there is at
// most one. It allocates nothing.
func (c *Config) SubnetFor(a netip.Addr) *Subnet {
	if !a.Is4() {
		return nil
	}
	i, found := slices.BinarySearchFunc(c.byAddr, a, func(s *Subnet, a netip.Addr) int {
		return s.Prefix.Addr().Compare(a)
	})
	if found {
		return c.byAddr[i]
	}
	if i == 0 {
		return nil
	}
	if s := c.byAddr[i-1]; s.Prefix.Contains(a) {
		return s
	}
	return nil
}

// SubnetsOn returns the subnets directly attached to an interface: those
// configured with interface: name (themselves or through their shared
// network), plus the subnets holding one of the interface's addresses.
// It is meant for building per-interface tables when the server starts,
// not for each packet.
func (c *Config) SubnetsOn(name string, addrs []netip.Addr) []*Subnet {
	out := slices.Clone(c.byIf[name])
	for _, a := range addrs {
		s := c.SubnetFor(a)
		if s == nil || (s.Interface != "" && s.Interface != name) {
			continue
		}
		for _, l := range s.link {
			if !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}

// View is the settings that apply to one client: the effective settings of
// its pool or subnet, overlaid with its first class's and then its
// reservation's own settings (most specific wins). Building and reading a
// View allocates nothing.
type View struct {
	base  *Settings
	class *Settings
	host  *Settings
}

// NewView builds the view for a client. base is the Effective settings of
// the pool the address comes from, or of the subnet for a reserved
// address; class and host may be nil.
func NewView(base *Settings, class *Class, host *Reservation) View {
	v := View{base: base}
	if class != nil {
		v.class = &class.Own
	}
	if host != nil {
		v.host = &host.Own
	}
	return v
}

// layers returns the settings from the most specific to the least.
func (v View) layers() [3]*Settings { return [3]*Settings{v.host, v.class, v.base} }

// Option returns the value of an option for the client.
func (v View) Option(code uint8) ([]byte, bool) {
	for _, s := range v.layers() {
		if s != nil {
			if val, ok := s.Option(code); ok {
				return val, true
			}
		}
	}
	return nil, false
}

// SetOptions sets every option for the client on o (typically the reply's
// Options); more specific values replace less specific ones.
func (v View) SetOptions(o *dhcpv4.Options) {
	for _, s := range [3]*Settings{v.base, v.class, v.host} {
		if s != nil {
			for _, opt := range s.Options {
				o.Set(opt.Code, opt.Value)
			}
		}
	}
}

// BootFile returns the boot file name ("" when none).
func (v View) BootFile() string {
	for _, s := range v.layers() {
		if s != nil && s.BootFile != "" {
			return s.BootFile
		}
	}
	return ""
}

// NextServer returns the next server address (siaddr), invalid when none.
func (v View) NextServer() netip.Addr {
	for _, s := range v.layers() {
		if s != nil && s.NextServer.IsValid() {
			return s.NextServer
		}
	}
	return netip.Addr{}
}

// LeaseTime returns the lease time to give a client that asked for
// requested (0 when it did not ask): the default, or the request bounded
// by the minimum and maximum.
func (v View) LeaseTime(requested time.Duration) time.Duration {
	def, lo, hi := v.base.LeaseTime, v.base.MinLeaseTime, v.base.MaxLeaseTime
	for _, s := range [2]*Settings{v.class, v.host} {
		if s == nil {
			continue
		}
		if s.LeaseTime != 0 {
			def = s.LeaseTime
		}
		if s.set&setMinLease != 0 {
			lo = s.MinLeaseTime
		}
		if s.MaxLeaseTime != 0 {
			hi = s.MaxLeaseTime
		}
	}
	if v.base.set&setMaxLease == 0 && (v.class == nil || v.class.MaxLeaseTime == 0) && (v.host == nil || v.host.MaxLeaseTime == 0) {
		hi = max(hi, def)
	}
	if requested <= 0 {
		return def
	}
	return max(lo, min(requested, hi))
}

// Times returns T1 and T2 for a lease of the given length: the configured
// renew and rebind times when they fit the lease, else half and seven
// eighths of it (RFC 2131 4.4.5). An infinite lease gives infinite times.
func (v View) Times(lease time.Duration) (t1, t2 time.Duration) {
	if lease == dhcpv4.Infinite {
		return dhcpv4.Infinite, dhcpv4.Infinite
	}
	renew, rebind := v.base.RenewTime, v.base.RebindTime
	for _, s := range [2]*Settings{v.class, v.host} {
		if s != nil && s.RenewTime != 0 {
			renew = s.RenewTime
		}
		if s != nil && s.RebindTime != 0 {
			rebind = s.RebindTime
		}
	}
	t1, t2 = lease/2, lease/8*7
	if rebind != 0 && rebind < lease {
		t2 = rebind
	}
	if renew != 0 && renew < t2 {
		t1 = renew
	}
	if t1 >= t2 {
		t1 = t2 * 4 / 7
	}
	return t1, t2
}
