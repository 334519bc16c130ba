package alloc

import (
	"fmt"
	"runtime"

	"bootd/internal/lease"
)

// loader builds an allocator's tables from a store's leases, a batch at a
// time: it hashes the keys and addresses of a batch and reads the table
// slots they will probe before it inserts any, so that the cache misses of
// a batch (two a lease, in tables of tens of megabytes) overlap instead of
// coming one after the other: New takes a fifth to a third less time at a
// million leases.
type loader struct {
	a       *Allocator
	now     int64 // unix nanoseconds
	free    []freed
	keys    []byte // the batch's client keys, side by side
	batch   []loaded
	touched uint64 // sum of the slots read ahead, so that the reads are not left out
}

type loaded struct {
	v      entry  // all but client
	keyEnd int    // where its key ends in keys
	h      uint32 // hash of its key
}

type freed struct {
	addr uint32
	at   int64
}

const loadBatch = 32

// add takes one lease; it keeps none of l.
func (ld *loader) add(l *lease.Lease) error {
	if !l.Addr.Is4() {
		return nil
	}
	start := len(ld.keys)
	ld.keys = lease.AppendKey(ld.keys, l.ClientID, l.HWType, l.HWAddr)
	if n := len(ld.keys) - start; n > maxKeyLen {
		return fmt.Errorf("lease %v: client key of %d bytes", l.Addr, n)
	}
	v := entry{addr: u32(l.Addr), state: l.State}
	if !l.Expires.IsZero() {
		v.expires = l.Expires.UnixNano()
	}
	if v.state == lease.Offered {
		// Offers are not kept across restarts; the client will ask again.
		v.state, v.expires = lease.Expired, ld.now
	}
	ld.batch = append(ld.batch, loaded{v: v, keyEnd: len(ld.keys)})
	if len(ld.batch) == loadBatch {
		ld.flush()
	}
	return nil
}

// flush inserts the leases of the batch.
func (ld *loader) flush() {
	a := ld.a
	start := 0
	for i := range ld.batch {
		b := &ld.batch[i]
		b.h = a.clients.hashBytes(ld.keys[start:b.keyEnd])
		start = b.keyEnd
		if t := &a.clients.t; len(t.slots) > 0 {
			ld.touched += t.slots[t.home(b.h)]
		}
		if t := &a.byAddr.t; len(t.slots) > 0 {
			ld.touched += t.slots[t.home(a.byAddr.hash(b.v.addr))]
		}
	}
	start = 0
	for i := range ld.batch {
		b := &ld.batch[i]
		ld.insert(b.v, string(ld.keys[start:b.keyEnd]), b.h)
		start = b.keyEnd
	}
	ld.batch, ld.keys = ld.batch[:0], ld.keys[:0]
	runtime.KeepAlive(ld.touched)
}

func (ld *loader) insert(v entry, key string, h uint32) {
	a := ld.a
	v.client = a.clients.internHash(key, h)
	idx := a.entryFor(v.addr)
	a.expiry.remove(idx) // a store keyed by address gives each once; in case not
	e := a.ents.at(idx)
	*e = v
	if e.state != lease.Declined {
		// A client with several leases keeps the one that lasts longest.
		if c := a.clients.at(e.client); !c.has || until(a.entryOf(c.addr)) < until(e) {
			c.has, c.addr = true, e.addr
		}
	}
	if e.activeAt(ld.now) {
		if e.expires != 0 {
			a.expiry.push(idx)
		}
	} else {
		ld.free = append(ld.free, freed{e.addr, e.expires})
	}
}
