// Package alloc decides which address a client gets and keeps the
// in-memory view of which addresses are taken. It knows nothing of sockets
// or of the DHCP wire format; the protocol handler calls it.
//
// Invariants:
//   - no address is ever held by two clients at once: an address is claimed
//     in memory, under the allocator's lock, before its lease is written, and
//     the claim is undone if the write fails;
//   - a lease is durable (Store.Put returned) before Commit returns, so a
//     server that sends its ACK after Commit never acknowledges a lease a
//     crash could lose;
//   - finding a free address never scans a pool: each pool hands out
//     never-used addresses from a cursor, and addresses that become free
//     again (released, expired, offer not taken up, quarantine over) wait in
//     a first-in first-out list, so a client that comes back soon still
//     finds its old address;
//   - memory is proportional to the leases, not to the pool size: a /8
//     pool costs nothing at start-up.
//
// The lock is held only for map and list operations, never across the
// store's I/O.
package alloc

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"bootd/internal/lease"
)

// Store is what the allocator needs of a lease store.
type Store interface {
	Put(ctx context.Context, l *lease.Lease) error
	Load(ctx context.Context, fn func(*lease.Lease) error) error
}

// Errors returned by the allocator.
var (
	// ErrExhausted: no pool the client may use has a free address.
	ErrExhausted = errors.New("no free address in the pools")
	// ErrConflict: the address is held by another client.
	ErrConflict = errors.New("address held by another client")
	// ErrNotHeld: the client does not hold the address (release, decline).
	ErrNotHeld = errors.New("address not held by this client")
)

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

	mu       sync.Mutex
	byAddr   map[uint32]*entry
	byClient map[lease.ClientKey]uint32
	pools    []*pool
	expiry   expiryHeap
}

// entry is what the allocator remembers of an address.
type entry struct {
	key     lease.ClientKey
	state   lease.State
	expires int64 // unix nanoseconds; 0 = never
	pending bool  // a Commit is writing this entry
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
		store:    store,
		now:      now,
		byAddr:   make(map[uint32]*entry),
		byClient: make(map[lease.ClientKey]uint32),
	}
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
	type freed struct {
		addr uint32
		at   int64
	}
	var free []freed
	now0 := now().UnixNano()
	err := store.Load(ctx, func(l *lease.Lease) error {
		if !l.Addr.Is4() {
			return nil
		}
		k := u32(l.Addr)
		e := &entry{key: l.Key(), state: l.State}
		if !l.Expires.IsZero() {
			e.expires = l.Expires.UnixNano()
		}
		if e.state == lease.Offered {
			// Offers are not kept across restarts; the client will ask again.
			e.state, e.expires = lease.Expired, now0
		}
		a.byAddr[k] = e
		if e.state != lease.Declined {
			// A client with several leases keeps the one that lasts longest.
			if old, ok := a.byClient[e.key]; !ok || until(a.byAddr[old]) < until(e) {
				a.byClient[e.key] = k
			}
		}
		if e.activeAt(now0) {
			if e.expires != 0 {
				heap.Push(&a.expiry, expiryItem{at: e.expires, addr: k})
			}
		} else {
			free = append(free, freed{k, e.expires})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("loading leases: %w", err)
	}
	// Addresses free at start-up are reused oldest first.
	slices.SortFunc(free, func(x, y freed) int { return cmpInt64(x.at, y.at) })
	for _, f := range free {
		if p := a.poolOf(f.addr); p != nil {
			p.pushFree(f.addr)
		}
	}
	return a, nil
}

// until orders entries by end of lease, a lease that never ends last.
func until(e *entry) int64 {
	if e.expires == 0 {
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
	if cur, ok := a.byClient[r.Key]; ok && allowed(cur) && a.freeFor(cur, r.Key, now) {
		return a.holdLocked(cur, r.Key, now, r.Hold), nil
	}
	if r.Requested.Is4() {
		if req := u32(r.Requested); allowed(req) && a.freeFor(req, r.Key, now) {
			return a.holdLocked(req, r.Key, now, r.Hold), nil
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
			if _, known := a.byAddr[k]; known {
				// Known addresses come back through the free list.
				continue
			}
			return a.holdLocked(k, r.Key, now, r.Hold), nil
		}
		for {
			k, ok := p.popFree()
			if !ok {
				break
			}
			if a.freeFor(k, r.Key, now) && !p.isExcluded(k) {
				return a.holdLocked(k, r.Key, now, r.Hold), nil
			}
		}
	}
	return netip.Addr{}, ErrExhausted
}

// freeFor reports whether addr may be given to the client with key: not
// held by anyone else, not quarantined.
func (a *Allocator) freeFor(addr uint32, key lease.ClientKey, now int64) bool {
	e, ok := a.byAddr[addr]
	if !ok {
		return true
	}
	if e.pending {
		return false
	}
	if e.state == lease.Declined {
		return !e.activeAt(now)
	}
	return e.key == key || !e.activeAt(now)
}

func (a *Allocator) holdLocked(addr uint32, key lease.ClientKey, now int64, hold time.Duration) netip.Addr {
	e, ok := a.byAddr[addr]
	if ok && e.key == key && e.state == lease.Bound && e.activeAt(now) {
		// The client's own bound lease: an offer does not shorten it.
		return addrOf(addr)
	}
	a.setOwner(addr, key)
	exp := now + int64(hold)
	a.byAddr[addr] = &entry{key: key, state: lease.Offered, expires: exp}
	heap.Push(&a.expiry, expiryItem{at: exp, addr: addr})
	return addrOf(addr)
}

// setOwner makes addr the current address of key, dropping the client's
// claim on its previous address.
func (a *Allocator) setOwner(addr uint32, key lease.ClientKey) {
	if old, ok := a.byClient[key]; ok && old != addr {
		if e := a.byAddr[old]; e != nil && e.key == key && e.state == lease.Offered && !e.pending {
			// An unaccepted offer of another address goes back to its pool.
			e.state = lease.Expired
			if p := a.poolOf(old); p != nil {
				p.pushFree(old)
			}
		}
	}
	a.byClient[key] = addr
}

// Commit records l (normally Bound, from a REQUEST) durably and makes its
// address the client's. It fails with ErrConflict when another client holds
// the address; the store is then not touched.
func (a *Allocator) Commit(ctx context.Context, l *lease.Lease) error {
	if !l.Addr.Is4() {
		return fmt.Errorf("commit: %v is not an IPv4 address", l.Addr)
	}
	k := u32(l.Addr)
	key := l.Key()
	a.mu.Lock()
	now := a.now().UnixNano()
	if !a.freeFor(k, key, now) {
		a.mu.Unlock()
		return ErrConflict
	}
	prev, hadPrev := a.byAddr[k]
	var exp int64
	if !l.Expires.IsZero() {
		exp = l.Expires.UnixNano()
	}
	e := &entry{key: key, state: l.State, expires: exp, pending: true}
	a.byAddr[k] = e
	a.mu.Unlock()

	err := a.store.Put(ctx, l)

	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		if hadPrev {
			a.byAddr[k] = prev
		} else {
			delete(a.byAddr, k)
		}
		return fmt.Errorf("commit %v: %w", l.Addr, err)
	}
	e.pending = false
	if l.State == lease.Declined {
		if cur, ok := a.byClient[key]; ok && cur == k {
			delete(a.byClient, key)
		}
	} else {
		a.setOwner(k, key)
	}
	if exp != 0 {
		heap.Push(&a.expiry, expiryItem{at: exp, addr: k})
	}
	if !e.activeAt(now) {
		if p := a.poolOf(k); p != nil {
			p.pushFree(k)
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

func (a *Allocator) checkHeld(l *lease.Lease) error {
	if !l.Addr.Is4() {
		return ErrNotHeld
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byAddr[u32(l.Addr)]
	if !ok || e.key != l.Key() || e.pending || !e.activeAt(a.now().UnixNano()) || e.state == lease.Declined {
		return ErrNotHeld
	}
	return nil
}

// Lookup returns the address the client holds or held last, and its state.
func (a *Allocator) Lookup(key lease.ClientKey) (netip.Addr, lease.State, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k, ok := a.byClient[key]
	if !ok {
		return netip.Addr{}, 0, false
	}
	return addrOf(k), a.byAddr[k].state, true
}

// Holder returns the client that holds addr now, if any.
func (a *Allocator) Holder(addr netip.Addr) (lease.ClientKey, lease.State, bool) {
	if !addr.Is4() {
		return "", 0, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e, ok := a.byAddr[u32(addr)]
	if !ok || !e.activeAt(a.now().UnixNano()) {
		return "", 0, false
	}
	return e.key, e.state, true
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
	for len(a.expiry) > 0 && a.expiry[0].at <= now {
		it := heap.Pop(&a.expiry).(expiryItem)
		e, ok := a.byAddr[it.addr]
		if !ok || e.pending || e.expires != it.at || e.activeAt(now) {
			continue // renewed or replaced since
		}
		if e.state == lease.Bound || e.state == lease.Offered {
			e.state = lease.Expired
		}
		if p := a.poolOf(it.addr); p != nil {
			p.pushFree(it.addr)
		}
		n++
	}
	return n
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
	for k, e := range a.byAddr {
		if p.contains(k) && e.activeAt(now) {
			s.Active++
		}
	}
	return s
}

type expiryItem struct {
	at   int64
	addr uint32
}

type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
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
