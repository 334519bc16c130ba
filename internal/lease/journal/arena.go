package journal

import (
	"encoding/binary"
	"errors"
	"sync/atomic"
	"syscall"
)

// arena holds the encoded leases in large chunks, so the index is a map of
// plain integers: one allocation per MiB instead of one per lease, and
// nothing for the garbage collector to scan. Each value is stored after its
// length (a uvarint, one byte for most leases), so that a reference to it is
// a single uint32: chunk index and offset.
//
// Bytes once added are never changed, and a chunk is never moved, so a
// reader may keep refs and the chunk list it had under the store's lock and
// read them after releasing it, as long as it holds a reference to the
// chunks (view). A replaced or deleted lease leaves garbage; the writer
// rebuilds the arena when garbage outweighs the live bytes.
//
// The chunks are mapped from the kernel (mmap), outside the Go heap. The
// garbage collector lets the heap grow to about twice what it found live
// before it collects again; leases counted there would let a server of a
// million leases grow by another 60 MB of garbage between collections. So
// the memory is the arena's to give back: its chunkList counts the arena
// itself and every view taken of it, and the last to let go unmaps it.
type arena struct {
	chunks     []*[chunkSize]byte
	list       *chunkList    // owns the mapped chunks; nil before the first
	used       int           // bytes filled in the last chunk
	live, gone int64         // bytes of values referenced / unreferenced (without their lengths)
	mapped     *atomic.Int64 // where to count mapped chunks, if not nil
}

// chunkList is the memory of one arena's chunks and the count of those
// using it: the arena until it is replaced or closed, and every view.
type chunkList struct {
	mem    [][]byte // mapped chunks, unmapped when refs falls to 0
	refs   atomic.Int32
	mapped *atomic.Int64 // the store's count of mapped chunks, if not nil
}

func (c *chunkList) acquire() *chunkList {
	if c != nil {
		c.refs.Add(1)
	}
	return c
}

// release drops a reference; the last one unmaps the chunks. After the
// arena's own release nothing is added to mem, so the last releaser, in
// whatever goroutine, reads a list that no longer changes.
func (c *chunkList) release() {
	if c == nil || c.refs.Add(-1) > 0 {
		return
	}
	for _, m := range c.mem {
		unmap(m)
	}
	if c.mapped != nil {
		c.mapped.Add(-int64(len(c.mem)))
	}
	c.mem = nil
}

// retire gives up the arena's own reference to its chunks and empties it.
func (a *arena) retire() {
	a.list.release()
	*a = arena{mapped: a.mapped}
}

// newChunk maps a chunk, or allocates one on the heap if mapping fails.
func (a *arena) newChunk() *[chunkSize]byte {
	if a.list == nil {
		a.list = &chunkList{mapped: a.mapped}
		a.list.refs.Store(1)
	}
	m, err := syscall.Mmap(-1, 0, chunkSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return new([chunkSize]byte)
	}
	a.list.mem = append(a.list.mem, m)
	if a.mapped != nil {
		a.mapped.Add(1)
	}
	return (*[chunkSize]byte)(m)
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
		a.chunks = append(a.chunks, a.newChunk())
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
