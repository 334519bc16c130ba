package alloc

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestAddrIndexModel checks the address index against a map through random
// sets and deletes, over few addresses (so that probe runs meet and wrap
// around the end of the table) and many.
func TestAddrIndexModel(t *testing.T) {
	for _, space := range []uint32{16, 1000, 1 << 20} {
		rnd := rand.New(rand.NewPCG(1, uint64(space)))
		x := addrIndex{seed: rnd.Uint32()}
		model := map[uint32]uint32{}
		for step := range 20000 {
			a := rnd.Uint32N(space) * 2654435761 // spread over the whole space
			if rnd.IntN(3) < 2 {
				v := rnd.Uint32N(1 << 31)
				x.set(a, v)
				model[a] = v
			} else {
				x.delete(a)
				delete(model, a)
			}
			if x.len() != len(model) {
				t.Fatalf("space %d step %d: len %d, want %d", space, step, x.len(), len(model))
			}
			if step%1000 == 0 || space == 16 {
				for a, want := range model {
					if got, ok := x.get(a); !ok || got != want {
						t.Fatalf("space %d step %d: get(%#x) = %d, %v; want %d", space, step, a, got, ok, want)
					}
				}
			}
		}
		var got, want []uint32
		x.all(func(v uint32) { got = append(got, v) })
		for _, v := range model {
			want = append(want, v)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("space %d: all gives %d values, want %d", space, len(got), len(want))
		}
	}
}

// The hash of an address is a bijection: distinct addresses never share a
// slot hash, which is what lets the index skip comparing addresses.
func TestAddrHashBijective(t *testing.T) {
	x := addrIndex{seed: 0x5eed}
	seen := make(map[uint32]uint32, 1<<20)
	for i := range uint32(1 << 20) {
		for _, a := range []uint32{i, i << 12, ^i} {
			h := x.hash(a)
			if b, dup := seen[h]; dup && b != a {
				t.Fatalf("addresses %#x and %#x both hash to %#x", a, b, h)
			}
			seen[h] = a
		}
	}
}

func TestTableReserve(t *testing.T) {
	var x addrIndex
	x.t.reserve(1000)
	size := len(x.t.slots)
	for i := range uint32(1000) {
		x.set(i, i)
	}
	if len(x.t.slots) != size {
		t.Errorf("reserved for 1000, grew from %d to %d slots", size, len(x.t.slots))
	}
}

// Keys with the same hash are still different clients, found apart, and a
// key that shares a hash with a known one is not found as it.
func TestClientSetCollisions(t *testing.T) {
	c := newClientSet()
	const h = 0xdeadbeef
	keys := []string{"h\x01\x02\x00\x00\x00\x00\x01", "h\x01\x02\x00\x00\x00\x00\x02", "iclient", ""}
	ids := map[uint32]string{}
	for _, k := range keys {
		id := c.internHash(k, h)
		if other, dup := ids[id]; dup {
			t.Fatalf("keys %q and %q with one hash got one client %d", k, other, id)
		}
		ids[id] = k
	}
	for id, k := range ids {
		if got := c.internHash(k, h); got != id {
			t.Errorf("interning %q again gave client %d, want %d", k, got, id)
		}
		if got, ok := c.findHash(k, h); !ok || got != id {
			t.Errorf("find %q = %d, %v; want %d", k, got, ok, id)
		}
		if got := c.key(id); got != k {
			t.Errorf("key of client %d = %q, want %q", id, got, k)
		}
	}
	if id, ok := c.findHash("h\x01\x02\x00\x00\x00\x00\x03", h); ok {
		t.Errorf("a key never interned, with a colliding hash, found as client %d (%q)", id, c.key(id))
	}
	// Through the real hash, none of them is found under another's hash.
	for _, k := range keys {
		if id, ok := c.find(k); ok && c.key(id) != k {
			t.Errorf("find(%q) gave client %d of key %q", k, id, c.key(id))
		}
	}
}

// TestClientSetMany interns keys across several chunks of the key arena
// and table growths, with repeats, and checks every key and string handed
// out earlier is intact.
func TestClientSetMany(t *testing.T) {
	c := newClientSet()
	key := func(i int) string {
		if i%5 == 0 {
			return "i" + strings.Repeat(fmt.Sprint(i), 1+i%40) // client IDs of many lengths
		}
		return fmt.Sprintf("h\x01%06x", i)
	}
	const n = 50000
	held := make([]string, n) // strings from key(), sharing the arena
	for i := range n {
		id := c.intern(key(i))
		if int(id) != i {
			t.Fatalf("key %d got client %d", i, id)
		}
		held[i] = c.key(id)
		if j := i / 2; c.intern(key(j)) != uint32(j) {
			t.Fatalf("key %d interned again got another client", j)
		}
	}
	if len(c.keys.chunks) < 2 {
		t.Errorf("%d keys in %d chunk(s): the test does not cross chunks", n, len(c.keys.chunks))
	}
	for i := range n {
		if held[i] != key(i) {
			t.Fatalf("key %d handed out earlier is now %q", i, held[i])
		}
		if id, ok := c.find(key(i)); !ok || int(id) != i {
			t.Fatalf("find key %d = %d, %v", i, id, ok)
		}
	}
	if id, ok := c.find("h\x01zzzzzz"); ok {
		t.Errorf("unknown key found as client %d", id)
	}
}

func TestPagesStable(t *testing.T) {
	var p pages[entry]
	first := p.at(p.add())
	first.expires = 42
	for range 3*pageSize + 5 {
		i := p.add()
		p.at(i).expires = int64(i)
	}
	if first.expires != 42 || p.at(0) != first {
		t.Error("a pointer to an element moved or lost its value as the pages grew")
	}
	if got := p.at(2*pageSize + 7).expires; got != 2*pageSize+7 {
		t.Errorf("element %d = %d", 2*pageSize+7, got)
	}
	if p.n != 3*pageSize+6 {
		t.Errorf("n = %d", p.n)
	}
}

// TestExpiryHeapModel pushes, moves and removes entries at random and
// checks that the heap pops them in order of expiry and that every entry
// knows its place.
func TestExpiryHeapModel(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	var ents pages[entry]
	h := expiryHeap{ents: &ents}
	const n = 2000
	for range n {
		ents.add()
	}
	in := map[uint32]bool{}
	check := func(step int) {
		t.Helper()
		if h.len() != len(in) {
			t.Fatalf("step %d: heap holds %d, want %d", step, h.len(), len(in))
		}
		for i, idx := range h.items {
			if ents.at(idx).heap != uint32(i)+1 {
				t.Fatalf("step %d: entry %d at %d thinks it is at %d", step, idx, i, ents.at(idx).heap-1)
			}
			if i > 0 && h.at((i-1)/2) > h.at(i) {
				t.Fatalf("step %d: heap order broken at %d", step, i)
			}
		}
	}
	for step := range 20000 {
		idx := rnd.Uint32N(n)
		switch rnd.IntN(4) {
		case 0, 1, 2:
			ents.at(idx).expires = rnd.Int64N(1000) // pushes an entry already in: moves it
			h.push(idx)
			in[idx] = true
		case 3:
			h.remove(idx)
			delete(in, idx)
		}
		if step%500 == 0 {
			check(step)
		}
	}
	check(-1)
	last := int64(-1)
	for h.len() > 0 {
		idx := h.min()
		if e := ents.at(idx).expires; e < last {
			t.Fatalf("popped %d after %d", e, last)
		} else {
			last = e
		}
		h.remove(idx)
		if ents.at(idx).heap != 0 {
			t.Fatalf("removed entry %d still thinks it is in the heap", idx)
		}
	}
}
