package alloc

import (
	"hash/maphash"
	"unsafe"
)

// The allocator's indexes are built from plain integers, so that a million
// leases cost the garbage collector nothing to scan and the allocator a few
// dozen bytes each: an open-addressing hash table of 64-bit slots, entries
// and clients kept by value in pages, client keys side by side in chunks.

// table is an open-addressing hash table with linear probing whose slots
// hold a 32-bit hash and a 32-bit value: h<<32 | v+1, 0 for an empty slot.
// A slot's home is the hash scaled to the table size, so sizes need not be
// powers of two. What the hash stands for, and whether two equal hashes
// mean the same key, is the business of the type using the table.
type table struct {
	slots []uint64
	n     int // slots in use
}

const (
	minSlots = 8
	// A table grows (doubling) past 3/4 full; reserve leaves it at 5/8.
	maxLoadNum, maxLoadDen = 3, 4
)

func slot(h, v uint32) uint64 { return uint64(h)<<32 | uint64(v) + 1 }

func slotHash(s uint64) uint32  { return uint32(s >> 32) }
func slotValue(s uint64) uint32 { return uint32(s) - 1 }

// home is where the probe for hash h starts.
func (t *table) home(h uint32) int { return int(uint64(h) * uint64(len(t.slots)) >> 32) }

// next is the slot after i, wrapping around.
func (t *table) next(i int) int {
	if i++; i == len(t.slots) {
		return 0
	}
	return i
}

// insert adds the pair (h, v), growing the table first if it is full
// enough. The caller knows the key is not there yet.
func (t *table) insert(h, v uint32) {
	if (t.n+1)*maxLoadDen > len(t.slots)*maxLoadNum {
		t.resize(max(minSlots, 2*len(t.slots)))
	}
	t.place(slot(h, v))
	t.n++
}

func (t *table) place(s uint64) {
	i := t.home(slotHash(s))
	for t.slots[i] != 0 {
		i = t.next(i)
	}
	t.slots[i] = s
}

// reserve makes room for n pairs without growing.
func (t *table) reserve(n int) {
	if want := n * 8 / 5; want > len(t.slots) {
		t.resize(max(minSlots, want))
	}
}

func (t *table) resize(size int) {
	old := t.slots
	t.slots = make([]uint64, size)
	for _, s := range old {
		if s != 0 {
			t.place(s)
		}
	}
}

// remove empties slot i, moving later slots of the same probe run back so
// that every pair stays reachable from its home (no tombstones).
func (t *table) remove(i int) {
	for j := t.next(i); t.slots[j] != 0; j = t.next(j) {
		h := t.home(slotHash(t.slots[j]))
		// The pair at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = 0
	t.n--
}

// addrIndex maps IPv4 addresses to values (the allocator's entries). The
// hash of an address is a bijection of it, so equal hashes are equal
// addresses and nothing else needs checking.
type addrIndex struct {
	t    table
	seed uint32
}

// hash mixes a (lowbias32, after Chris Wellons's hash-prospector) so that
// runs of addresses spread over the table.
func (x *addrIndex) hash(a uint32) uint32 {
	a ^= x.seed
	a ^= a >> 16
	a *= 0x21f0aaad
	a ^= a >> 15
	a *= 0x735a2d97
	a ^= a >> 15
	return a
}

func (x *addrIndex) find(a uint32) (pos int, ok bool) {
	if len(x.t.slots) == 0 {
		return 0, false
	}
	h := x.hash(a)
	for i := x.t.home(h); ; i = x.t.next(i) {
		s := x.t.slots[i]
		if s == 0 {
			return i, false
		}
		if slotHash(s) == h {
			return i, true
		}
	}
}

func (x *addrIndex) get(a uint32) (uint32, bool) {
	i, ok := x.find(a)
	if !ok {
		return 0, false
	}
	return slotValue(x.t.slots[i]), true
}

// set maps a to v, replacing any value it had.
func (x *addrIndex) set(a, v uint32) {
	if i, ok := x.find(a); ok {
		x.t.slots[i] = slot(x.hash(a), v)
		return
	}
	x.t.insert(x.hash(a), v)
}

func (x *addrIndex) delete(a uint32) {
	if i, ok := x.find(a); ok {
		x.t.remove(i)
	}
}

func (x *addrIndex) len() int { return x.t.n }

// all calls fn for every address and value, in no particular order.
func (x *addrIndex) all(fn func(v uint32)) {
	for _, s := range x.t.slots {
		if s != 0 {
			fn(slotValue(s))
		}
	}
}

// pages is a growable array of T kept in fixed pages: growing never copies
// or doubles it, and a pointer to an element stays good.
type pages[T any] struct {
	p []*[pageSize]T
	n int
}

const (
	pageBits = 12
	pageSize = 1 << pageBits
)

func (p *pages[T]) at(i uint32) *T { return &p.p[i>>pageBits][i&(pageSize-1)] }

// add appends a zero T and returns its index.
func (p *pages[T]) add() uint32 {
	if p.n == len(p.p)*pageSize {
		p.p = append(p.p, new([pageSize]T))
	}
	p.n++
	return uint32(p.n - 1)
}

func (p *pages[T]) reserve(n int) {
	if want := (n + pageSize - 1) / pageSize; want > cap(p.p) {
		p.p = append(make([]*[pageSize]T, 0, want), p.p...)
	}
}

// keyArena keeps client keys side by side in chunks that are only ever
// appended to: bytes once written never change, so a key can be handed out
// as a string sharing them, with no copy.
type keyArena struct {
	chunks [][]byte
}

const (
	keyChunkBits = 16
	keyChunk     = 1 << keyChunkBits
)

// add copies key (at most maxKeyLen bytes) and returns where it is.
func (k *keyArena) add(key string) uint32 {
	n := len(k.chunks)
	if n == 0 || len(k.chunks[n-1])+len(key) > keyChunk {
		k.chunks = append(k.chunks, make([]byte, 0, keyChunk))
		n++
	}
	c := k.chunks[n-1]
	off := len(c)
	k.chunks[n-1] = append(c, key...)
	return uint32(n-1)<<keyChunkBits | uint32(off)
}

// get returns the key of length n at ref, sharing the arena's bytes.
func (k *keyArena) get(ref uint32, n uint16) string {
	if n == 0 {
		return ""
	}
	c := k.chunks[ref>>keyChunkBits]
	return unsafe.String(&c[ref&(keyChunk-1)], int(n))
}

// client is what the allocator remembers of a client key.
type client struct {
	key    uint32 // in the key arena
	addr   uint32 // the address the client holds or held last, if has
	keyLen uint16
	has    bool
}

// clientSet interns client keys: each key seen gets a client, numbered
// from 0, that is never removed. Keys are found by a 32-bit maphash, seeded
// per allocator, and every candidate is checked against the key itself, so
// two keys with the same hash are still two clients.
type clientSet struct {
	seed maphash.Seed
	t    table
	list pages[client]
	keys keyArena
}

func newClientSet() clientSet { return clientSet{seed: maphash.MakeSeed()} }

func (c *clientSet) hash(key string) uint32 {
	h := maphash.String(c.seed, key)
	return uint32(h) ^ uint32(h>>32)
}

// hashBytes is hash of string(key).
func (c *clientSet) hashBytes(key []byte) uint32 {
	h := maphash.Bytes(c.seed, key)
	return uint32(h) ^ uint32(h>>32)
}

// find returns the client of key.
func (c *clientSet) find(key string) (uint32, bool) {
	if len(c.t.slots) == 0 {
		return 0, false
	}
	return c.findHash(key, c.hash(key))
}

func (c *clientSet) findHash(key string, h uint32) (uint32, bool) {
	for i := c.t.home(h); ; i = c.t.next(i) {
		s := c.t.slots[i]
		if s == 0 {
			return 0, false
		}
		if slotHash(s) == h {
			if id := slotValue(s); c.key(id) == key {
				return id, true
			}
		}
	}
}

// intern returns the client of key, adding one if there is none.
func (c *clientSet) intern(key string) uint32 { return c.internHash(key, c.hash(key)) }

// internHash is intern with the hash of key given (by tests, to make
// collisions).
func (c *clientSet) internHash(key string, h uint32) uint32 {
	if len(c.t.slots) > 0 {
		if id, ok := c.findHash(key, h); ok {
			return id
		}
	}
	id := c.list.add()
	*c.list.at(id) = client{key: c.keys.add(key), keyLen: uint16(len(key))}
	c.t.insert(h, id)
	return id
}

func (c *clientSet) at(id uint32) *client { return c.list.at(id) }

// key returns the key of a client, sharing the arena's bytes.
func (c *clientSet) key(id uint32) string {
	cl := c.list.at(id)
	return c.keys.get(cl.key, cl.keyLen)
}

func (c *clientSet) reserve(n int) {
	c.t.reserve(n)
	c.list.reserve(n)
}
