package journal

// arena holds the encoded leases in large chunks, so the index is a map of
// plain integers: one allocation per MiB instead of one per lease, and
// nothing for the garbage collector to scan.
//
// Bytes once added are never changed, and a chunk is never moved, so a
// reader may keep refs and the chunk list it had under the store's lock and
// read them after releasing it. A replaced or deleted lease leaves garbage;
// the writer rebuilds the arena when garbage outweighs the live bytes.
type arena struct {
	chunks     []*[chunkSize]byte
	used       int   // bytes filled in the last chunk
	live, gone int64 // bytes referenced / unreferenced
}

// ref locates a value: chunk index, offset within it, length.
type ref uint64

const (
	chunkBits = 20
	chunkSize = 1 << chunkBits
	lenBits   = 15 // holds lease.MaxEncodedLen
	offShift  = lenBits
	idxShift  = lenBits + chunkBits
)

func (r ref) len() int { return int(r & (1<<lenBits - 1)) }

// add copies v (at most 1<<lenBits-1 bytes) into the arena.
func (a *arena) add(v []byte) ref {
	n := len(a.chunks)
	if n == 0 || a.used+len(v) > chunkSize {
		a.chunks = append(a.chunks, new([chunkSize]byte))
		a.used = 0
		n++
	}
	off := a.used
	a.used += copy(a.chunks[n-1][off:], v)
	a.live += int64(len(v))
	return ref(uint64(n-1)<<idxShift | uint64(off)<<offShift | uint64(len(v)))
}

// drop records that r is no longer referenced.
func (a *arena) drop(r ref) {
	a.live -= int64(r.len())
	a.gone += int64(r.len())
}

// get returns the bytes of r from a chunk list.
func get(chunks []*[chunkSize]byte, r ref) []byte {
	off := int(r >> offShift & (chunkSize - 1))
	return chunks[r>>idxShift][off : off+r.len() : off+r.len()]
}
