// Package alloc decides which address a client gets and keeps the
// in-memory view of which addresses are taken. It knows nothing of sockets
// or of the DHCP wire format; the protocol handler calls it.
//
// Invariants:
//   - no address is ever held by two clients at once: an address is claimed
//     in memory, under the allocator's lock, before its lease is written, and
//     the claim is undone if the write fails;
//   - a lease is durable (Store.Put returned) before Commit returns, or
//     before CommitAsync calls done, so a server that sends its ACK after
//     that never acknowledges a lease a crash could lose; while the write
//     is pending the address is no one else's, and a second request of the
//     same client gets ErrBusy;
//   - finding a free address never scans a pool: each pool hands out
//     never-used addresses from a cursor, and addresses that become free
//     again (released, expired, offer not taken up, quarantine over) wait in
//     a first-in first-out list, so a client that comes back soon still
//     finds its old address;
//   - memory is proportional to the leases, not to the pool size: a /8
//     pool costs nothing at start-up.
//
// The lock is held only for table and list operations, never across the
// store's I/O.
//
// Memory: about 75 bytes a lease (BenchmarkNew), none of it pointers for
// the garbage collector to follow. Every address the allocator knows has an
// entry, kept by value in pages and found through a hash table of 64-bit
// slots; every client key it has seen is stored once, in append-only
// chunks, and numbered, and entries name their client by number. Two
// different keys are never taken for one client: a lookup by key compares
// the key itself, not only its hash. The expiry heap holds each entry at
// most once, however often its lease is renewed. Client keys are never
// forgotten while the allocator lives, since an address remembers its last
// client and a client its last address; a server builds a new allocator on
// reload, which forgets the clients that hold no lease.
//
// Start-up: New sizes its tables from the store's Len, when it has one,
// and loads with its LoadShared, when it has one, which hands out leases
// without copying them (journal.Store has both).
package alloc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"bootd/internal/lease"
)

// Store is what the allocator needs of a lease store. New keeps nothing of
// a lease given to Load's fn after fn returns.
//
// A store may also have these methods, which New uses when it finds them:
//
//	Len() int  // how many leases Load will give, to size the tables once
//	LoadShared(ctx context.Context, fn func(*lease.Lease) error) error
//	           // Load, but the lease and its slices are fn's only during the call
type Store interface {
	Put(ctx context.Context, l *lease.Lease) error
	Load(ctx context.Context, fn func(*lease.Lease) error) error
}

type storeLen interface{ Len() int }

type sharedLoader interface {
	LoadShared(ctx context.Context, fn func(*lease.Lease) error) error
}

// Errors returned by the allocator.
var (
	// ErrExhausted: no pool the client may use has a free address.
	ErrExhausted = errors.New("no free address in the pools")
	// ErrConflict: the address is held by another client.
	ErrConflict = errors.New("address held by another client")
	// ErrBusy: the client's address is being written by an earlier
	// request of the same client; the client will ask again.
	ErrBusy = errors.New("a commit for this client is in progress")
	// ErrNotHeld: the client does not hold the address (release, decline).
	ErrNotHeld = errors.New("address not held by this client")
)

// maxKeyLen bounds a client key: a lease whose key is longer could not be
// stored anyway, as its encoding would pass lease.MaxEncodedLen.
const maxKeyLen = lease.MaxEncodedLen

// Range is one pool: the addresses First to Last, less Excluded (the
// reserved addresses inside it).
type Range struct {
	First, Last netip.Addr
	Excluded    []netip.Addr
}

// PoolID names a pool: its index in the ranges given to New.
type PoolID int

// Allocator hands out addresses from pools and records leases in a Store.
type Allocator struct {
	store Store
	now   func() time.Time

	mu      sync.Mutex
	byAddr  addrIndex    // address → entry
	ents    pages[entry] // by index
	unused  []uint32     // entries free for reuse
	clients clientSet    // client key → client, and the client's address
	pools   []*pool
	expiry  expiryHeap

	offersExpired uint64 // offers whose hold ended untaken (reclaimLocked)
}

// entry is what the allocator remembers of an address.
type entry struct {
	expires int64  // unix nanoseconds; 0 = never
	addr    uint32 // the address
	client  uint32 // who holds or held it (clientSet)
	heap    uint32 // position in the expiry heap plus one, 0 if not there
	state   lease.State
	pending bool // a Commit is writing this entry
}

func (e *entry) activeAt(now int64) bool {
	switch e.state {
	case lease.Bound, lease.Offered, lease.Declined:
		return e.pending || e.expires == 0 || now < e.expires
	}
	return e.pending
}

type pool struct {
	first, last uint32
	next        uint64   // next never-handed-out address (uint64 so it can pass 255.255.255.255)
	excluded    []uint32 // sorted
	free        []uint32 // FIFO of addresses free again
	freeHead    int
}

func (p *pool) contains(a uint32) bool { return a >= p.first && a <= p.last }

func (p *pool) isExcluded(a uint32) bool {
	_, ok := slices.BinarySearch(p.excluded, a)
	return ok
}

func (p *pool) pushFree(a uint32) { p.free = append(p.free, a) }

func (p *pool) popFree() (uint32, bool) {
	if p.freeHead == len(p.free) {
		p.free, p.freeHead = p.free[:0], 0
		return 0, false
	}
	a := p.free[p.freeHead]
	p.freeHead++
	if p.freeHead > 1024 && p.freeHead*2 > len(p.free) {
		p.free = append(p.free[:0], p.free[p.freeHead:]...)
		p.freeHead = 0
	}
	return a, true
}

// New builds an allocator over the pools and loads the leases of store.
// now is the clock (time.Now in production).
func New(ctx context.Context, store Store, now func() time.Time, ranges []Range) (*Allocator, error) {
	a := &Allocator{
		store:   store,
		now:     now,
		clients: newClientSet(),
	}
	a.byAddr.seed = uint32(a.clients.hash("addr"))
	a.expiry.ents = &a.ents
	for i, r := range ranges {
		p, err := newPool(r)
		if err != nil {
			return nil, fmt.Errorf("pool %d: %w", i, err)
		}
		for _, q := range a.pools {
			if p.first <= q.last && q.first <= p.last {
				return nil, fmt.Errorf("pool %d overlaps another pool", i)
			}
		}
		a.pools = append(a.pools, p)
	}
	if s, ok := store.(storeLen); ok {
		n := s.Len()
		a.byAddr.t.reserve(n)
		a.ents.reserve(n)
		a.clients.reserve(n)
		a.expiry.items = make([]uint32, 0, n)
	}
	load := store.Load
	if s, ok := store.(sharedLoader); ok {
		load = s.LoadShared
	}
	ld := loader{a: a, now: now().UnixNano()}
	err := load(ctx, ld.add)
	if err == nil {
		ld.flush()
	}
	if err != nil {
		return nil, fmt.Errorf("loading leases: %w", err)
	}
	// Addresses free at start-up are reused oldest first.
	slices.SortFunc(ld.free, func(x, y freed) int { return cmpInt64(x.at, y.at) })
	for _, f := range ld.free {
		if p := a.poolOf(f.addr); p != nil {
			p.pushFree(f.addr)
		}
	}
	return a, nil
}

// until orders entries by end of lease, a lease that never ends last; no
// entry at all comes first.
func until(e *entry) int64 {
	switch {
	case e == nil:
		return -1 << 63
	case e.expires == 0:
		return 1<<63 - 1
	}
	return e.expires
}

func newPool(r Range) (*pool, error) {
	if !r.First.Is4() || !r.Last.Is4() || r.Last.Less(r.First) {
		return nil, fmt.Errorf("bad range %v-%v", r.First, r.Last)
	}
	p := &pool{first: u32(r.First), last: u32(r.Last)}
	p.next = uint64(p.first)
	for _, x := range r.Excluded {
		if x.Is4() && p.contains(u32(x)) {
			p.excluded = append(p.excluded, u32(x))
		}
	}
	slices.Sort(p.excluded)
	return p, nil
}

func (a *Allocator) poolOf(addr uint32) *pool {
	for _, p := range a.pools {
		if p.contains(addr) {
			return p
		}
	}
	return nil
}

// entryOf returns the entry of addr, or nil. The pointer stays good while
// the entry is not deleted.
func (a *Allocator) entryOf(addr uint32) *entry {
	idx, ok := a.byAddr.get(addr)
	if !ok {
		return nil
	}
	return a.ents.at(idx)
}

// entryFor returns the index of the entry of addr, adding an empty one
// (state 0, inactive) if there is none.
func (a *Allocator) entryFor(addr uint32) uint32 {
	if idx, ok := a.byAddr.get(addr); ok {
		return idx
	}
	var idx uint32
	if n := len(a.unused); n > 0 {
		idx, a.unused = a.unused[n-1], a.unused[:n-1]
	} else {
		idx = a.ents.add()
	}
	*a.ents.at(idx) = entry{addr: addr}
	a.byAddr.set(addr, idx)
	return idx
}

// deleteEntry forgets an address.
func (a *Allocator) deleteEntry(idx uint32) {
	a.expiry.remove(idx)
	e := a.ents.at(idx)
	a.byAddr.delete(e.addr)
	*e = entry{}
	a.unused = append(a.unused, idx)
}

// Request says what a client asks for.
type Request struct {
	Key       lease.ClientKey
	Pools     []PoolID   // pools the client may use, in order of preference
	Requested netip.Addr // option 50 or the client's previous address; may be invalid
	Hold      time.Duration
}

// Offer picks an address for a client and holds it for r.Hold: the
// client's current address if it has one in an allowed pool, else the
// requested address if it is free, else a free address of the first pool
// that has one. ErrExhausted when none has.
func (a *Allocator) Offer(r Request) (netip.Addr, error) {
	if len(r.Key) > maxKeyLen {
		return netip.Addr{}, fmt.Errorf("offer: client key of %d bytes, over %d", len(r.Key), maxKeyLen)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now().UnixNano()
	a.reclaimLocked(now)

	allowed := func(addr uint32) bool {
		for _, id := range r.Pools {
			if int(id) >= 0 && int(id) < len(a.pools) {
				p := a.pools[id]
				if p.contains(addr) && !p.isExcluded(addr) {
					return true
				}
			}
		}
		return false
	}
	cid, known := a.clients.find(string(r.Key))
	if known {
		c := a.clients.at(cid)
		if e := a.entryOf(c.addr); c.has && e != nil && e.pending && e.client == cid {
			return netip.Addr{}, ErrBusy
		}
		if c.has && allowed(c.addr) && a.freeFor(c.addr, cid, true, now) {
			return a.holdLocked(c.addr, cid, now, r.Hold), nil
		}
	}
	hold := func(addr uint32) netip.Addr {
		if !known {
			cid, known = a.clients.intern(string(r.Key)), true
		}
		return a.holdLocked(addr, cid, now, r.Hold)
	}
	if r.Requested.Is4() {
		if req := u32(r.Requested); allowed(req) && a.freeFor(req, cid, known, now) {
			return hold(req), nil
		}
	}
	for _, id := range r.Pools {
		if int(id) < 0 || int(id) >= len(a.pools) {
			continue
		}
		p := a.pools[id]
		// Never-used addresses first, so that addresses given back wait as
		// long as possible for their previous client to return.
		for p.next <= uint64(p.last) {
			k := uint32(p.next)
			p.next++
			if p.isExcluded(k) {
				continue
			}
			if _, seen := a.byAddr.get(k); seen {
				// Known addresses come back through the free list.
				continue
			}
			return hold(k), nil
		}
		for {
			k, ok := p.popFree()
			if !ok {
				break
			}
			if a.freeFor(k, cid, known, now) && !p.isExcluded(k) {
				return hold(k), nil
			}
		}
	}
	return netip.Addr{}, ErrExhausted
}

// freeFor reports whether addr may be given to client cid (known false:
// a client never seen): not held by anyone else, not quarantined.
func (a *Allocator) freeFor(addr, cid uint32, known bool, now int64) bool {
	e := a.entryOf(addr)
	if e == nil {
		return true
	}
	if e.pending {
		return false
	}
	if e.state == lease.Declined {
		return !e.activeAt(now)
	}
	return (known && e.client == cid) || !e.activeAt(now)
}

func (a *Allocator) holdLocked(addr, cid uint32, now int64, hold time.Duration) netip.Addr {
	if e := a.entryOf(addr); e != nil && e.client == cid && e.state == lease.Bound && e.activeAt(now) {
		// The client's own bound lease: an offer does not shorten it.
		return addrOf(addr)
	}
	a.setOwner(addr, cid)
	idx := a.entryFor(addr)
	e := a.ents.at(idx)
	e.client, e.state, e.expires, e.pending = cid, lease.Offered, now+int64(hold), false
	a.expiry.push(idx)
	return addrOf(addr)
}

// setOwner makes addr the current address of client cid, dropping the
// client's claim on its previous address.
func (a *Allocator) setOwner(addr, cid uint32) {
	c := a.clients.at(cid)
	if c.has && c.addr != addr {
		if e := a.entryOf(c.addr); e != nil && e.client == cid && e.state == lease.Offered && !e.pending {
			// An unaccepted offer of another address goes back to its pool.
			e.state = lease.Expired
			if p := a.poolOf(c.addr); p != nil {
				p.pushFree(c.addr)
			}
		}
	}
	c.has, c.addr = true, addr
}

// Commit records l (normally Bound, from a REQUEST) durably and makes its
// address the client's. It fails with ErrConflict when another client holds
// the address, and with ErrBusy when this client's address is being
// written by an earlier request; the store is then not touched.
func (a *Allocator) Commit(ctx context.Context, l *lease.Lease) error {
	c, err := a.claim(l)
	if err != nil {
		return err
	}
	return a.settle(c, a.store.Put(ctx, l))
}

// AsyncStore is a Store that can write a lease without waiting for it:
// PutAsync encodes l before returning and calls done with the outcome
// once the write is durable (or failed). When PutAsync returns an error,
// done is not called. journal.Store is one.
type AsyncStore interface {
	PutAsync(l *lease.Lease, done func(error)) error
}

// CommitAsync is Commit without the wait, when the store is an AsyncStore
// (otherwise it writes and calls done before returning). The address is
// the client's (pending) in memory at once, so no other client can get
// it; done is called once the store has the lease, after the allocator's
// view is updated, with nil or the write's error (the claim is then
// undone). The conflicts Commit reports are returned at once, and done is
// not called. l is the caller's again when CommitAsync returns. done runs
// on the store's writer goroutine: it must be quick and must not block.
func (a *Allocator) CommitAsync(l *lease.Lease, done func(error)) error {
	as, ok := a.store.(AsyncStore)
	if !ok {
		err := a.Commit(context.Background(), l)
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrBusy) {
			return err
		}
		done(err)
		return nil
	}
	c, err := a.claim(l)
	if err != nil {
		return err
	}
	st := settlerPool.Get().(*settler)
	st.a, st.c, st.done = a, c, done
	if err := as.PutAsync(l, st.fn); err != nil {
		st.a, st.done = nil, nil
		settlerPool.Put(st)
		return a.settle(c, err)
	}
	return nil
}

// settler carries a claim to the store's callback. Its fn is made once,
// so that a commit does not allocate a closure.
type settler struct {
	a    *Allocator
	c    claim
	done func(error)
	fn   func(error)
}

var settlerPool sync.Pool

func init() { settlerPool.New = newSettler }

func newSettler() any {
	st := new(settler)
	st.fn = func(err error) {
		a, c, done := st.a, st.c, st.done
		st.a, st.done = nil, nil
		settlerPool.Put(st)
		done(a.settle(c, err))
	}
	return st
}

// claim is the first half of a commit: the address is made the client's,
// pending, in memory. settle is the second.
type claim struct {
	k, cid, idx        uint32
	prev               entry
	hadPrev, prevQueue bool
	state              lease.State
	exp, now           int64
	addr               netip.Addr
}

func (a *Allocator) claim(l *lease.Lease) (claim, error) {
	if !l.Addr.Is4() {
		return claim{}, fmt.Errorf("commit: %v is not an IPv4 address", l.Addr)
	}
	k := u32(l.Addr)
	var kb [64]byte
	key := lease.AppendKey(kb[:0], l.ClientID, l.HWType, l.HWAddr)
	if len(key) > maxKeyLen {
		return claim{}, fmt.Errorf("commit %v: client key of %d bytes, over %d", l.Addr, len(key), maxKeyLen)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now().UnixNano()
	cid, known := a.clients.find(string(key))
	if !a.freeFor(k, cid, known, now) {
		if e := a.entryOf(k); known && e != nil && e.pending && e.client == cid {
			return claim{}, ErrBusy
		}
		return claim{}, ErrConflict
	}
	if !known {
		cid = a.clients.intern(string(key))
	}
	_, hadPrev := a.byAddr.get(k)
	idx := a.entryFor(k)
	e := a.ents.at(idx)
	c := claim{k: k, cid: cid, idx: idx, prev: *e, hadPrev: hadPrev, prevQueue: e.heap != 0,
		state: l.State, now: now, addr: l.Addr}
	a.expiry.remove(idx)
	if !l.Expires.IsZero() {
		c.exp = l.Expires.UnixNano()
	}
	*e = entry{addr: k, client: cid, state: l.State, expires: c.exp, pending: true}
	return c, nil
}

// settle ends a claim with the store's outcome err, which it returns
// (wrapped): on success the lease is the client's, on failure the entry is
// what it was before the claim.
func (a *Allocator) settle(c claim, err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	// While pending, nothing else changes the entry, and entries stay put.
	e := a.ents.at(c.idx)
	if err != nil {
		if c.hadPrev {
			c.prev.heap = 0
			*e = c.prev
			if c.prevQueue {
				a.expiry.push(c.idx)
			}
		} else {
			a.deleteEntry(c.idx)
		}
		return fmt.Errorf("commit %v: %w", c.addr, err)
	}
	e.pending = false
	if c.state == lease.Declined {
		if cl := a.clients.at(c.cid); cl.has && cl.addr == c.k {
			cl.has = false
		}
	} else {
		a.setOwner(c.k, c.cid)
	}
	if c.exp != 0 {
		a.expiry.push(c.idx)
	}
	if !e.activeAt(c.now) {
		if p := a.poolOf(c.k); p != nil {
			p.pushFree(c.k)
		}
	}
	return nil
}

// Release records that the client gave its address back (DHCPRELEASE): the
// lease is kept, in state Released, so the client gets the same address
// next time, but the address is free for others. ErrNotHeld if the client
// does not hold addr.
func (a *Allocator) Release(ctx context.Context, l *lease.Lease) error {
	if err := a.checkHeld(l); err != nil {
		return err
	}
	l.State = lease.Released
	return a.Commit(ctx, l)
}

// Decline quarantines an address a client found in use (DHCPDECLINE) until
// l.Expires (set it to now plus the quarantine). ErrNotHeld if the client
// does not hold addr.
func (a *Allocator) Decline(ctx context.Context, l *lease.Lease) error {
	if err := a.checkHeld(l); err != nil {
		return err
	}
	l.State = lease.Declined
	return a.Commit(ctx, l)
}

// CheckHeld returns ErrNotHeld unless l's client holds l's address (what
// Release and Decline check before writing).
func (a *Allocator) CheckHeld(l *lease.Lease) error { return a.checkHeld(l) }

func (a *Allocator) checkHeld(l *lease.Lease) error {
	if !l.Addr.Is4() {
		return ErrNotHeld
	}
	var kb [64]byte
	key := lease.AppendKey(kb[:0], l.ClientID, l.HWType, l.HWAddr)
	a.mu.Lock()
	defer a.mu.Unlock()
	cid, known := a.clients.find(string(key))
	e := a.entryOf(u32(l.Addr))
	if !known || e == nil || e.client != cid || e.pending || !e.activeAt(a.now().UnixNano()) || e.state == lease.Declined {
		return ErrNotHeld
	}
	return nil
}

// Lookup returns the address the client holds or held last, and its state.
func (a *Allocator) Lookup(key lease.ClientKey) (netip.Addr, lease.State, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cid, ok := a.clients.find(string(key))
	if !ok {
		return netip.Addr{}, 0, false
	}
	c := a.clients.at(cid)
	if !c.has {
		return netip.Addr{}, 0, false
	}
	var st lease.State
	if e := a.entryOf(c.addr); e != nil {
		st = e.state
	}
	return addrOf(c.addr), st, true
}

// Holder returns the client that holds addr now, if any. The key shares
// the allocator's memory (no copy); it is an ordinary string.
func (a *Allocator) Holder(addr netip.Addr) (lease.ClientKey, lease.State, bool) {
	if !addr.Is4() {
		return "", 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.entryOf(u32(addr))
	if e == nil || !e.activeAt(a.now().UnixNano()) {
		return "", 0, false
	}
	return lease.ClientKey(a.clients.key(e.client)), e.state, true
}

// Reclaim returns to their pools the addresses whose lease, offer or
// quarantine ended, and reports how many. Offer also does this; a server
// calls Reclaim from a timer so idle pools stay tidy.
func (a *Allocator) Reclaim() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reclaimLocked(a.now().UnixNano())
}

func (a *Allocator) reclaimLocked(now int64) int {
	n := 0
	for a.expiry.len() > 0 {
		idx := a.expiry.min()
		e := a.ents.at(idx)
		if e.expires > now {
			break
		}
		a.expiry.remove(idx)
		if e.pending || e.activeAt(now) {
			continue // a lease that never ends
		}
		if e.state == lease.Offered {
			a.offersExpired++
		}
		if e.state == lease.Bound || e.state == lease.Offered {
			e.state = lease.Expired
		}
		if p := a.poolOf(e.addr); p != nil {
			p.pushFree(e.addr)
		}
		n++
	}
	return n
}

// OffersExpired counts the offers whose hold ended without the client
// taking them up (counted when their address is reclaimed, by Reclaim or
// the next Offer), since New. An offer replaced by another offer to the
// same client is not counted.
func (a *Allocator) OffersExpired() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.offersExpired
}

// Stats are the allocator's counts for one pool.
type Stats struct {
	Size   uint64 // addresses in the pool, less excluded ones
	Active int    // bound, offered or quarantined now
}

// PoolStats counts a pool's addresses in use. It walks the leases, not the
// pool; for monitoring, not for the packet path.
func (a *Allocator) PoolStats(id PoolID) Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pools[id]
	s := Stats{Size: uint64(p.last-p.first) + 1 - uint64(len(p.excluded))}
	now := a.now().UnixNano()
	a.byAddr.all(func(idx uint32) {
		if e := a.ents.at(idx); p.contains(e.addr) && e.activeAt(now) {
			s.Active++
		}
	})
	return s
}

// AllPoolStats is PoolStats of every pool (by PoolID), in one walk of the
// leases rather than one per pool.
func (a *Allocator) AllPoolStats() []Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Stats, len(a.pools))
	for i, p := range a.pools {
		out[i].Size = uint64(p.last-p.first) + 1 - uint64(len(p.excluded))
	}
	now := a.now().UnixNano()
	a.byAddr.all(func(idx uint32) {
		e := a.ents.at(idx)
		if !e.activeAt(now) {
			return
		}
		for i, p := range a.pools {
			if p.contains(e.addr) {
				out[i].Active++
			}
		}
	})
	return out
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addrOf(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(k >> 24), byte(k >> 16), byte(k >> 8), byte(k)})
}

func cmpInt64(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
