package alloc

// expiryHeap orders entries by their expires time, soonest first. It holds
// entry indexes, and every entry in it knows its place (entry.heap, the
// position plus one), so that an entry is in the heap at most once and is
// taken out or moved when it changes: the heap never holds more items than
// there are entries, however often leases are renewed.
type expiryHeap struct {
	items []uint32
	ents  *pages[entry]
}

func (h *expiryHeap) len() int { return len(h.items) }

// min returns the entry that expires first; the heap must not be empty.
func (h *expiryHeap) min() uint32 { return h.items[0] }

func (h *expiryHeap) at(i int) int64 { return h.ents.at(h.items[i]).expires }

func (h *expiryHeap) set(i int, idx uint32) {
	h.items[i] = idx
	h.ents.at(idx).heap = uint32(i) + 1
}

// push adds entry idx, or moves it to its place if it is in the heap already.
func (h *expiryHeap) push(idx uint32) {
	if p := h.ents.at(idx).heap; p != 0 {
		h.fix(int(p - 1))
		return
	}
	h.items = append(h.items, 0)
	h.set(len(h.items)-1, idx)
	h.up(len(h.items) - 1)
}

// remove takes entry idx out of the heap, if it is there.
func (h *expiryHeap) remove(idx uint32) {
	p := h.ents.at(idx).heap
	if p == 0 {
		return
	}
	i, last := int(p-1), len(h.items)-1
	h.ents.at(idx).heap = 0
	if i != last {
		h.set(i, h.items[last])
	}
	h.items = h.items[:last]
	if i != last {
		h.fix(i)
	}
}

func (h *expiryHeap) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

func (h *expiryHeap) up(i int) {
	idx, at := h.items[i], h.at(i)
	for i > 0 {
		parent := (i - 1) / 2
		if h.at(parent) <= at {
			break
		}
		h.set(i, h.items[parent])
		i = parent
	}
	h.set(i, idx)
}

// down moves item i towards the leaves and reports whether it moved.
func (h *expiryHeap) down(i0 int) bool {
	i, n := i0, len(h.items)
	idx, at := h.items[i], h.at(i)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && h.at(r) < h.at(c) {
			c = r
		}
		if at <= h.at(c) {
			break
		}
		h.set(i, h.items[c])
		i = c
	}
	h.set(i, idx)
	return i > i0
}
