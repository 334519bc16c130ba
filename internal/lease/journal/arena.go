package journal

import (
	"encoding/binary"
	"errors"
)

// arena holds the encoded leases in large chunks, so the index is a map of
// plain integers: one allocation per MiB instead of one per lease, and
// nothing for the garbage collector to scan. Each value is stored after its
// length (a uvarint, one byte for most leases), so that a reference to it is
// a single uint32: chunk index and offset.
//
// Bytes once added are never changed, and a chunk is never moved, so a
// reader may keep refs and the chunk list it had under the store's lock and
// read them after releasing it. A replaced or deleted lease leaves garbage;
// the writer rebuilds the arena when garbage outweighs the live bytes.
type arena struct {
	chunks     []*[chunkSize]byte
	used       int   // bytes filled in the last chunk
	live, gone int64 // bytes of values referenced / unreferenced (without their lengths)
}

// ref locates a value: chunk index and offset of its length.
type ref uint32

const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	// maxChunks is what a ref can address: 4 GiB, tens of millions of leases.
	maxChunks = 1 << (32 - chunkBits)
)

// errArenaFull is returned for a change that would take the leases in
// memory past what a ref can address.
var errArenaFull = errors.New("leases take more than the 4 GiB the journal can hold in memory")

// room reports whether values taking n bytes in all (lengths included) fit.
// It is conservative: every value is far smaller than half a chunk, so each
// new chunk takes at least half a chunk of them.
func (a *arena) room(n int) bool {
	return len(a.chunks)+2*(n/chunkSize)+2 <= maxChunks
}

// add copies v (at most lease.MaxEncodedLen bytes) into the arena. The
// caller has checked room.
func (a *arena) add(v []byte) ref {
	n := len(a.chunks)
	need := uvarintLen(len(v)) + len(v)
	if n == 0 || a.used+need > chunkSize {
		a.chunks = append(a.chunks, new([chunkSize]byte))
		a.used = 0
		n++
	}
	off := a.used
	c := a.chunks[n-1]
	a.used += binary.PutUvarint(c[off:], uint64(len(v)))
	a.used += copy(c[a.used:], v)
	a.live += int64(len(v))
	return ref(uint32(n-1)<<chunkBits | uint32(off))
}

// drop records that r is no longer referenced and returns its length.
func (a *arena) drop(r ref) int {
	n := len(get(a.chunks, r))
	a.live -= int64(n)
	a.gone += int64(n)
	return n
}

// get returns the bytes of r from a chunk list.
func get(chunks []*[chunkSize]byte, r ref) []byte {
	c := chunks[r>>chunkBits]
	off := int(r & (chunkSize - 1))
	n, k := binary.Uvarint(c[off:])
	off += k
	return c[off : off+int(n) : off+int(n)]
}

func uvarintLen(n int) int {
	k := 1
	for ; n >= 0x80; n >>= 7 {
		k++
	}
	return k
}
