// Package handler holds bootd's DHCP and BOOTP protocol logic (RFC 2131,
// RFC 951/1542): given a parsed request and where it came from, it decides
// the reply, its options and where it goes, and records leases through the
// allocator. It opens no socket, so every rule is testable without a
// network; the server package moves the bytes.
//
// The logic is one explicit function per message type rather than a chain
// of pluggable stages: the RFC's rules (which state a REQUEST is in, when
// to NAK or stay silent) read best as plain code next to the RFC text, and
// configuration already selects the behaviour (pools, classes, options).
//
// Decisions for one client are serialised by a lock striped by client
// identity; no lock is held across the store's commit except that stripe.
package handler

import (
	"context"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"bootd/internal/alloc"
	"bootd/internal/config"
	"bootd/internal/dhcpv4"
	"bootd/internal/lease"
)

// Ports of BOOTP (RFC 951).
const (
	ServerPort = 67
	ClientPort = 68
)

// Ingress describes where a request came from.
type Ingress struct {
	IfName string
	// Subnets are the subnets on-link for the interface (config.SubnetsOn);
	// the first one is used for on-link clients unless the request says otherwise.
	Subnets []*config.Subnet
	// Addr is the server's address on the interface: the server identifier
	// when the subnet does not name one.
	Addr netip.Addr
	Src  netip.AddrPort
	// BootServer: the request came to the PXE boot server port (4011).
	BootServer bool
}

// Verdict says what to do with a request.
type Verdict uint8

// Verdicts.
const (
	Drop  Verdict = iota // send nothing; Result.Reason says why
	Reply                // send Result.Reply to Result.Dest
)

// Dest is where a reply goes (RFC 2131 section 4.1).
type Dest struct {
	Addr netip.AddrPort
	// HWAddr is set for a unicast to a client without an address yet:
	// the reply must be delivered at layer 2 to this hardware address.
	HWAddr []byte
	// Src is the server address the reply must come from.
	Src netip.Addr
}

// Result is the outcome of handling one request.
type Result struct {
	Verdict Verdict
	Reason  string // for a drop, or a note on a reply (e.g. "nak: wrong subnet")
	Type    dhcpv4.MessageType
	Dest    Dest
	Layout  dhcpv4.Layout
	// Pending (HandleAsync only): a lease is being written; the reply may be
	// sent only once the done function given to HandleAsync is called with
	// nil. Called with an error, the lease was not recorded: send nothing.
	Pending bool
}

// Handler answers requests for one configuration. A new configuration gets
// a new Handler; the allocator lives across them.
type Handler struct {
	cfg     *config.Config
	alloc   *alloc.Allocator
	now     func() time.Time
	log     *slog.Logger
	poolIDs map[*config.Pool]alloc.PoolID

	seed    maphash.Seed
	stripes [4096]sync.Mutex
}

// New builds a handler. poolIDs maps each configured pool to its allocator
// pool (see Ranges).
func New(cfg *config.Config, a *alloc.Allocator, poolIDs map[*config.Pool]alloc.PoolID, now func() time.Time, log *slog.Logger) *Handler {
	return &Handler{cfg: cfg, alloc: a, now: now, log: log, poolIDs: poolIDs, seed: maphash.MakeSeed()}
}

// Ranges returns the allocator ranges of a configuration's pools and the
// mapping from pool to allocator pool.
func Ranges(cfg *config.Config) ([]alloc.Range, map[*config.Pool]alloc.PoolID) {
	var rs []alloc.Range
	ids := map[*config.Pool]alloc.PoolID{}
	for _, s := range cfg.Subnets {
		for _, p := range s.Pools {
			ids[p] = alloc.PoolID(len(rs))
			rs = append(rs, alloc.Range{First: p.First, Last: p.Last, Excluded: p.Excluded})
		}
	}
	return rs, ids
}

// txn is the state of one request being handled.
type txn struct {
	h      *Handler
	req    *dhcpv4.Message
	reply  *dhcpv4.Message
	in     Ingress
	key    lease.ClientKey
	subnet *config.Subnet // the client's subnet (the address's subnet once chosen)
	link   []*config.Subnet
	server netip.Addr // server identifier to put in the reply
	relay  bool
	// override is set when a relay asked for another server identifier (RFC 5107).
	override bool
	res      Result
	// done, when set, makes lease writes asynchronous (HandleAsync);
	// pending records that one was started.
	done    func(error)
	pending bool
}

// Handle decides the reply to req, written into reply (reset first).
func (h *Handler) Handle(ctx context.Context, in Ingress, req, reply *dhcpv4.Message) Result {
	return h.handle(ctx, in, req, reply, nil)
}

// HandleAsync is Handle, except that a lease the request writes is written
// without waiting for it: the result then has Pending set, and done is
// called (from the lease store's goroutine; it must not block) once the
// lease is durable, or with the error that kept it from being recorded.
// When the result is not Pending, done is never called. Requests of one
// client are still decided one at a time: while its lease is being
// written, another request of the same client is dropped (it will ask
// again), never answered from a stale view.
func (h *Handler) HandleAsync(ctx context.Context, in Ingress, req, reply *dhcpv4.Message, done func(error)) Result {
	return h.handle(ctx, in, req, reply, done)
}

func (h *Handler) handle(ctx context.Context, in Ingress, req, reply *dhcpv4.Message, done func(error)) Result {
	t := &txn{h: h, req: req, reply: reply, in: in, done: done}
	res := t.dispatch(ctx)
	res.Pending = t.pending
	return res
}

func (t *txn) dispatch(ctx context.Context) Result {
	h, req := t.h, t.req
	if req.Op != dhcpv4.BootRequest {
		return drop("not a BOOTREQUEST")
	}
	if req.HLen == 0 && len(t.clientID()) == 0 {
		return drop("no client identifier and no hardware address")
	}
	t.key = lease.MakeKey(t.clientID(), req.HType, req.CHAddr[:req.HLen])
	mu := &h.stripes[maphash.String(h.seed, string(t.key))%uint64(len(h.stripes))]
	mu.Lock()
	defer mu.Unlock()

	if reason := t.selectSubnet(); reason != "" {
		return drop(reason)
	}
	if t.subnet.ProxyDHCP || t.in.BootServer {
		return t.proxy()
	}
	mt, isDHCP := req.MessageType()
	if !isDHCP {
		return t.bootp(ctx)
	}
	switch mt {
	case dhcpv4.Discover:
		return t.discover()
	case dhcpv4.Request:
		return t.request(ctx)
	case dhcpv4.Decline:
		return t.decline(ctx)
	case dhcpv4.Release:
		return t.release(ctx)
	case dhcpv4.Inform:
		return t.inform()
	}
	return drop("unsupported message type " + mt.String())
}

func drop(reason string) Result { return Result{Verdict: Drop, Reason: reason} }

func (t *txn) clientID() []byte {
	id, _ := t.req.ClientID()
	return id
}

// selectSubnet finds the client's link: by relay link selection (RFC
// 3527), subnet selection (RFC 3011), giaddr, or the ingress interface.
func (t *txn) selectSubnet() string {
	req := t.req
	var sel netip.Addr
	ri, hasRelayInfo := req.RelayAgentInfo()
	if hasRelayInfo {
		if a, ok := ri.LinkSelection(); ok {
			sel = a
		}
	}
	if !sel.IsValid() {
		if a, ok := req.SubnetSelection(); ok {
			sel = a
		}
	}
	t.relay = req.GIAddr.IsValid() && !req.GIAddr.IsUnspecified()
	if !sel.IsValid() && t.relay {
		sel = req.GIAddr
	}
	switch {
	case sel.IsValid():
		t.subnet = t.h.cfg.SubnetFor(sel)
		if t.subnet == nil {
			return "no subnet for " + sel.String()
		}
	case len(t.in.Subnets) > 0:
		t.subnet = t.in.Subnets[0]
		// A renewing client on a link with several subnets: its address's subnet.
		if c := req.CIAddr; c.IsValid() && !c.IsUnspecified() {
			for _, s := range t.in.Subnets {
				if s.Contains(c) {
					t.subnet = s
				}
			}
		}
	default:
		return "no subnet on interface " + t.in.IfName
	}
	t.link = t.subnet.Link()
	t.server = t.subnet.ServerAddress
	if !t.server.IsValid() {
		t.server = t.in.Addr
	}
	if hasRelayInfo && t.relay {
		if a, ok := ri.ServerIDOverride(); ok {
			t.server, t.override = a, true // RFC 5107
		}
	}
	return ""
}

// subnetOf returns the subnet of the link holding addr, or nil.
func (t *txn) subnetOf(addr netip.Addr) *config.Subnet {
	for _, s := range t.link {
		if s.Contains(addr) {
			return s
		}
	}
	return nil
}

// reservation finds the client's reservation on its link.
func (t *txn) reservation() *config.Reservation {
	for _, s := range t.link {
		if r := s.Reservation(t.req); r != nil {
			return r
		}
	}
	return nil
}

// candidate is an address chosen for the client with the settings that apply.
type candidate struct {
	addr   netip.Addr
	subnet *config.Subnet
	pool   *config.Pool
	host   *config.Reservation
	class  *config.Class
}

func (c *candidate) view() config.View {
	base := &c.subnet.Effective
	if c.pool != nil {
		base = &c.pool.Effective
	}
	return config.NewView(base, c.class, c.host)
}

// allowedPools lists the allocator pools of the link the client's classes
// allow: first the pools reserved to classes the client is in, then the
// pools open to all, each in file order. A pool set aside for a class thus
// serves that class before the general pool does.
func (t *txn) allowedPools(classes config.ClassSet, dst []alloc.PoolID) []alloc.PoolID {
	for _, restricted := range [2]bool{true, false} {
		for _, s := range t.link {
			for _, p := range s.Pools {
				if (len(p.Classes) > 0) == restricted && p.Allows(classes) {
					dst = append(dst, t.h.poolIDs[p])
				}
			}
		}
	}
	return dst
}

// ours reports whether sid is one of this server's identifiers on the
// client's link.
func (t *txn) ours(sid netip.Addr) bool {
	if sid == t.server || sid == t.in.Addr {
		return true
	}
	for _, s := range t.link {
		if s.ServerAddress == sid {
			return true
		}
	}
	return false
}

func (t *txn) poolOf(addr netip.Addr) *config.Pool {
	if s := t.subnetOf(addr); s != nil {
		for _, p := range s.Pools {
			if p.Contains(addr) {
				return p
			}
		}
	}
	return nil
}

func (t *txn) requestedIP() netip.Addr {
	a, _ := t.req.RequestedIP()
	return a
}

// choose picks the address to offer: the reservation's, else one from the
// pools. It holds the address for the offer.
func (t *txn) choose() (candidate, string) {
	classes, first := t.h.cfg.Classify(t.req)
	c := candidate{class: first}
	if r := t.reservation(); r != nil {
		c.host = r
		if r.Address.IsValid() {
			c.addr, c.subnet = r.Address, r.Subnet
			if k, _, held := t.h.alloc.Holder(r.Address); held && k != t.key {
				return c, "reserved address " + r.Address.String() + " is leased to another client"
			}
			return c, ""
		}
	}
	var buf [16]alloc.PoolID
	pools := t.allowedPools(classes, buf[:0])
	if len(pools) == 0 {
		return c, "no pool for this client"
	}
	addr, err := t.h.alloc.Offer(alloc.Request{Key: t.key, Pools: pools, Requested: t.requestedIP(), Hold: t.h.cfg.OfferHold})
	if err != nil {
		return c, "pool exhausted"
	}
	c.addr, c.subnet, c.pool = addr, t.subnetOf(addr), t.poolOf(addr)
	if c.subnet == nil {
		return c, "allocated address outside the link"
	}
	return c, ""
}

// verify checks that addr may be the client's on this link, as for a
// REQUEST: its reservation, or a pool address its classes allow that is
// free or already its own.
func (t *txn) verify(addr netip.Addr) (candidate, bool) {
	classes, first := t.h.cfg.Classify(t.req)
	c := candidate{addr: addr, class: first, subnet: t.subnetOf(addr)}
	if c.subnet == nil {
		return c, false
	}
	if r := t.reservation(); r != nil {
		c.host = r
		if r.Address.IsValid() {
			return c, r.Address == addr
		}
	}
	if other := c.subnet.ReservationFor(addr); other != nil {
		return c, false // reserved for someone else
	}
	c.pool = t.poolOf(addr)
	if c.pool == nil || !c.pool.Allows(classes) {
		return c, false
	}
	if k, _, held := t.h.alloc.Holder(addr); held && k != t.key {
		return c, false
	}
	return c, true
}

func (t *txn) discover() Result {
	c, reason := t.choose()
	if reason != "" {
		return drop(reason)
	}
	lt := c.view().LeaseTime(t.requestedLeaseTime())
	t.build(dhcpv4.Offer, c, lt)
	return t.res
}

func (t *txn) requestedLeaseTime() time.Duration {
	d, _ := t.req.LeaseTime()
	return d
}

// request handles the four REQUEST states of RFC 2131 section 4.3.2.
func (t *txn) request(ctx context.Context) Result {
	req := t.req
	sid, hasSID := req.ServerID()
	reqIP := t.requestedIP()
	ciaddr := req.CIAddr
	hasCI := ciaddr.IsValid() && !ciaddr.IsUnspecified()
	var addr netip.Addr
	switch {
	case hasSID:
		// SELECTING: the client answers an OFFER.
		if !t.ours(sid) {
			return drop("client selected another server")
		}
		if !reqIP.IsValid() {
			return drop("REQUEST in SELECTING state without requested address")
		}
		addr = reqIP
	case reqIP.IsValid():
		addr = reqIP // INIT-REBOOT
	case hasCI:
		addr = ciaddr // RENEWING or REBINDING
	default:
		return drop("REQUEST without server identifier, requested address or ciaddr")
	}
	c, ok := t.verify(addr)
	if ok && !hasSID && !t.subnet.Effective.Authoritative {
		// RFC 2131 4.3.2: without a record of the client, stay silent.
		if cur, _, known := t.h.alloc.Lookup(t.key); !known || cur != addr {
			if c.host == nil || c.host.Address != addr {
				return drop("not authoritative: no record of this client for " + addr.String())
			}
		}
	}
	if !ok {
		if !t.subnet.Effective.Authoritative && !hasSID {
			return drop("not authoritative: silent on a REQUEST for " + addr.String())
		}
		return t.nak("requested address " + addr.String() + " is not available to this client")
	}
	lt := c.view().LeaseTime(t.requestedLeaseTime())
	if err := t.commit(ctx, c, lease.Bound, lt); err != nil {
		return drop("lease not recorded: " + err.Error())
	}
	t.build(dhcpv4.Ack, c, lt)
	return t.res
}

// leasePool recycles the leases handed to the allocator: a store does not
// keep a lease (or its slices) after Put returns, so a lease can borrow the
// request's bytes and be reused for the next request.
var leasePool = sync.Pool{New: func() any { return new(lease.Lease) }}

// newLease fills a lease from the pool with what the request says; its
// slices borrow the request's bytes. Give it back with freeLease once the
// allocator has returned.
func (t *txn) newLease(addr netip.Addr, subnet *config.Subnet, state lease.State, lt time.Duration) *lease.Lease {
	now := t.h.now()
	l := leasePool.Get().(*lease.Lease)
	*l = lease.Lease{
		Addr:     addr,
		State:    state,
		ClientID: t.clientID(),
		HWType:   t.req.HType,
		HWAddr:   t.req.CHAddr[:t.req.HLen],
		Start:    now,
	}
	if lt != dhcpv4.Infinite {
		l.Expires = now.Add(lt)
	}
	if subnet != nil {
		l.Subnet = subnet.Prefix
	}
	if hn, ok := t.req.HostName(); ok {
		l.Hostname = string(hn)
	}
	if u, ok := t.req.ClientUUID(); ok {
		l.UUID = u
	}
	if ri, ok := t.req.RelayAgentInfo(); ok {
		if v, ok := ri.CircuitID(); ok {
			l.CircuitID = v
		}
		if v, ok := ri.RemoteID(); ok {
			l.RemoteID = v
		}
	}
	return l
}

func freeLease(l *lease.Lease) {
	*l = lease.Lease{} // drop the borrowed slices
	leasePool.Put(l)
}

func (t *txn) commit(ctx context.Context, c candidate, state lease.State, lt time.Duration) error {
	l := t.newLease(c.addr, c.subnet, state, lt)
	defer freeLease(l)
	return t.write(ctx, l)
}

// write records l: at once (Handle), or started, with t.done to be called
// when it is durable (HandleAsync).
func (t *txn) write(ctx context.Context, l *lease.Lease) error {
	if t.done == nil {
		return t.h.alloc.Commit(ctx, l)
	}
	if err := t.h.alloc.CommitAsync(l, t.done); err != nil {
		return err
	}
	t.pending = true
	return nil
}

func (t *txn) decline(ctx context.Context) Result {
	if sid, ok := t.req.ServerID(); ok && !t.ours(sid) {
		return drop("DECLINE for another server")
	}
	addr := t.requestedIP()
	if !addr.IsValid() {
		return drop("DECLINE without requested address")
	}
	l := t.newLease(addr, t.subnetOf(addr), lease.Declined, t.h.cfg.DeclineQuarantine)
	defer freeLease(l)
	err := t.h.alloc.CheckHeld(l)
	if err == nil {
		err = t.write(ctx, l)
	}
	if err != nil {
		return drop("DECLINE of " + addr.String() + ": " + err.Error())
	}
	return Result{Verdict: Drop, Reason: "declined " + addr.String() + ": quarantined", Type: dhcpv4.Decline}
}

func (t *txn) release(ctx context.Context) Result {
	if sid, ok := t.req.ServerID(); ok && !t.ours(sid) {
		return drop("RELEASE for another server")
	}
	addr := t.req.CIAddr
	l := t.newLease(addr, t.subnetOf(addr), lease.Released, 0)
	defer freeLease(l)
	l.Expires = l.Start
	err := t.h.alloc.CheckHeld(l)
	if err == nil {
		err = t.write(ctx, l)
	}
	if err != nil {
		return drop("RELEASE of " + addr.String() + ": " + err.Error())
	}
	return Result{Verdict: Drop, Reason: "released " + addr.String(), Type: dhcpv4.Release}
}

func (t *txn) inform() Result {
	ci := t.req.CIAddr
	if !ci.IsValid() || ci.IsUnspecified() {
		return drop("INFORM without ciaddr")
	}
	s := t.subnetOf(ci)
	if s == nil {
		s = t.subnet
	}
	_, first := t.h.cfg.Classify(t.req)
	c := candidate{subnet: s, class: first, host: t.reservation()}
	t.build(dhcpv4.Ack, c, 0)
	return t.res
}

func (t *txn) nak(reason string) Result {
	r := t.reply
	t.header(netip.Addr{})
	r.SetMessageType(dhcpv4.Nak)
	r.Options.SetAddr(dhcpv4.OptServerID, t.server)
	r.Options.SetString(dhcpv4.OptMessage, reason)
	t.echo()
	if t.relay {
		r.Flags |= dhcpv4.FlagBroadcast // RFC 2131 4.3.2: the relay broadcasts a NAK
	}
	t.res = Result{Verdict: Reply, Type: dhcpv4.Nak, Reason: reason}
	t.address(true)
	return t.res
}
