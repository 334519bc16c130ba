package journal

import (
	"slices"
	"syscall"
	"unsafe"
)

// index maps lease addresses to their refs in the arena. It is an
// open-addressing hash table with linear probing over 64-bit slots, each
// h<<32 | ref+1 (0 for an empty slot), where h is a bijective mix of the
// address: equal hashes are equal addresses, so a slot needs no key of its
// own. At 5/8 to 3/4 full it takes 11 to 13 bytes a lease, and a lookup
// touches one cache line. Like the arena's chunks, the slots are mapped
// from the kernel, outside the Go heap; free gives them back. Only the
// store, under its lock, ever reads them.
type index struct {
	slots []uint64
	n     int
	mem   []byte // the mapping of slots, nil if they are on the heap
}

// A table grows (doubling) past 3/4 full; reserve leaves it at 5/8.
const minSlots = 8

// mix is lowbias32 (from Chris Wellons's hash-prospector): a bijection of
// 32-bit integers that spreads runs of addresses over the table.
func mix(a uint32) uint32 {
	a ^= a >> 16
	a *= 0x21f0aaad
	a ^= a >> 15
	a *= 0x735a2d97
	a ^= a >> 15
	return a
}

func (x *index) home(h uint32) int { return int(uint64(h) * uint64(len(x.slots)) >> 32) }

func (x *index) next(i int) int {
	if i++; i == len(x.slots) {
		return 0
	}
	return i
}

// find returns the slot of address a, or the empty slot that ends its probe.
func (x *index) find(a uint32) (int, bool) {
	h := mix(a)
	for i := x.home(h); ; i = x.next(i) {
		s := x.slots[i]
		if s == 0 {
			return i, false
		}
		if uint32(s>>32) == h {
			return i, true
		}
	}
}

func (x *index) len() int { return x.n }

func (x *index) get(a uint32) (ref, bool) {
	if x.n == 0 {
		return 0, false
	}
	if i, ok := x.find(a); ok {
		return ref(uint32(x.slots[i]) - 1), true
	}
	return 0, false
}

// set maps a to r and returns the ref it replaces, if any.
func (x *index) set(a uint32, r ref) (ref, bool) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.resize(max(minSlots, 2*len(x.slots)))
	}
	s := uint64(mix(a))<<32 | uint64(r) + 1
	i, ok := x.find(a)
	old := ref(uint32(x.slots[i]) - 1)
	x.slots[i] = s
	if !ok {
		x.n++
	}
	return old, ok
}

// del removes a and returns its ref, if it was there. Later slots of the
// probe run move back over the hole, so there are no tombstones.
func (x *index) del(a uint32) (ref, bool) {
	if x.n == 0 {
		return 0, false
	}
	i, ok := x.find(a)
	if !ok {
		return 0, false
	}
	old := ref(uint32(x.slots[i]) - 1)
	for j := x.next(i); x.slots[j] != 0; j = x.next(j) {
		h := x.home(uint32(x.slots[j] >> 32))
		// The slot at j may fill the hole at i unless its home lies
		// cyclically in (i, j].
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = 0
	x.n--
	return old, true
}

// reserve makes room for n addresses without growing.
func (x *index) reserve(n int) {
	if want := n * 8 / 5; want > len(x.slots) {
		x.resize(max(minSlots, want))
	}
}

func (x *index) resize(size int) {
	old, oldMem := x.slots, x.mem
	x.slots, x.mem = mapUint64s(size)
	defer unmap(oldMem)
	for _, s := range old {
		if s == 0 {
			continue
		}
		i := x.home(uint32(s >> 32))
		for x.slots[i] != 0 {
			i = x.next(i)
		}
		x.slots[i] = s
	}
}

// free gives the slots back and empties the index.
func (x *index) free() {
	unmap(x.mem)
	*x = index{}
}

// mapUint64s returns n zeros mapped from the kernel, and the mapping, or
// zeros from the heap and nil if mapping fails.
func mapUint64s(n int) ([]uint64, []byte) {
	m, err := syscall.Mmap(-1, 0, n*8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]uint64, n), nil
	}
	return unsafe.Slice((*uint64)(unsafe.Pointer(&m[0])), n), m
}

func unmap(m []byte) {
	if m != nil {
		syscall.Munmap(m)
	}
}

// appendRefs appends every ref to dst, in no particular order.
func (x *index) appendRefs(dst []ref) []ref {
	for _, s := range x.slots {
		if s != 0 {
			dst = append(dst, ref(uint32(s)-1))
		}
	}
	return dst
}

// remap replaces every ref r by fn(r).
func (x *index) remap(fn func(ref) ref) {
	for i, s := range x.slots {
		if s != 0 {
			x.slots[i] = s&^(1<<32-1) | uint64(fn(ref(uint32(s)-1))) + 1
		}
	}
}

// sortRefs sorts refs (in arena order) with a radix sort, a few times
// faster than a comparison sort at a million refs; tmp is scratch space
// of the same length.
func sortRefs(refs, tmp []ref) {
	if len(refs) < 2 {
		return
	}
	src, dst := refs, tmp
	for shift := 0; shift < 32; shift += 8 {
		var count [257]int
		for _, r := range src {
			count[(r>>shift)&0xff+1]++
		}
		if slices.Contains(count[1:], len(src)) {
			continue // one value of this byte for all: nothing moves
		}
		for i := 1; i < 257; i++ {
			count[i] += count[i-1]
		}
		for _, r := range src {
			b := (r >> shift) & 0xff
			dst[count[b]] = r
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &refs[0] {
		copy(refs, src)
	}
}
