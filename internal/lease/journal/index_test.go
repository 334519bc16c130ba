package journal

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
)

// TestIndexModel checks the index against a map through random sets and
// deletes, over few addresses (so that probe runs meet and wrap around the
// end of the table) and many.
func TestIndexModel(t *testing.T) {
	for _, space := range []uint32{16, 1000, 1 << 20} {
		rnd := rand.New(rand.NewPCG(1, uint64(space)))
		var x index
		defer x.free()
		x.reserve(4)
		model := map[uint32]ref{}
		for step := range 20000 {
			a := rnd.Uint32N(space) * 2654435761 // spread, and in every part of the space
			switch rnd.IntN(3) {
			case 0, 1:
				r := ref(rnd.Uint32N(1 << 31))
				old, ok := x.set(a, r)
				if mold, mok := model[a]; ok != mok || (ok && old != mold) {
					t.Fatalf("space %d step %d: set(%#x) replaced %v, %v; want %v, %v", space, step, a, old, ok, mold, mok)
				}
				model[a] = r
			case 2:
				old, ok := x.del(a)
				if mold, mok := model[a]; ok != mok || (ok && old != mold) {
					t.Fatalf("space %d step %d: del(%#x) = %v, %v; want %v, %v", space, step, a, old, ok, mold, mok)
				}
				delete(model, a)
			}
			if x.len() != len(model) {
				t.Fatalf("space %d step %d: len %d, want %d", space, step, x.len(), len(model))
			}
			if step%1000 == 0 || space == 16 {
				for a, want := range model {
					if got, ok := x.get(a); !ok || got != want {
						t.Fatalf("space %d step %d: get(%#x) = %v, %v; want %v", space, step, a, got, ok, want)
					}
				}
			}
		}
		var want []ref
		for _, r := range model {
			want = append(want, r)
		}
		got := x.appendRefs(nil)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("space %d: appendRefs gives %d refs, want %d", space, len(got), len(want))
		}
		x.remap(func(r ref) ref { return r + 1 })
		for a, r := range model {
			if got, _ := x.get(a); got != r+1 {
				t.Fatalf("space %d: after remap get(%#x) = %v, want %v", space, a, got, r+1)
			}
		}
	}
}

func TestIndexEmpty(t *testing.T) {
	var x index
	defer x.free()
	if _, ok := x.get(1); ok {
		t.Error("get in an empty index found something")
	}
	if _, ok := x.del(1); ok {
		t.Error("del in an empty index removed something")
	}
	if _, ok := x.set(0, 0); ok {
		t.Error("first set replaced something")
	}
	if r, ok := x.get(0); !ok || r != 0 {
		t.Errorf("get(0) = %v, %v; want ref 0", r, ok)
	}
}

func TestSortRefs(t *testing.T) {
	rnd := rand.New(rand.NewPCG(2, 3))
	for _, n := range []int{0, 1, 2, 100, 100000} {
		refs := make([]ref, n)
		for i := range refs {
			switch i % 3 {
			case 0:
				refs[i] = ref(rnd.Uint32())
			case 1:
				refs[i] = ref(rnd.Uint32N(1 << 24)) // small chunk numbers, as in practice
			default:
				refs[i] = ref(rnd.Uint32N(300))
			}
		}
		want := slices.Clone(refs)
		slices.Sort(want)
		sortRefs(refs, make([]ref, n))
		if !slices.Equal(refs, want) {
			t.Errorf("%d refs: not sorted", n)
		}
	}
}

// The slots are mapped, and given back: after free, and when a resize
// replaces them, the syscall package no longer knows the old mapping.
func TestIndexMapped(t *testing.T) {
	var x index
	x.reserve(1000)
	if x.mem == nil {
		t.Skip("mmap failed; the index is on the heap")
	}
	first := x.mem
	for a := range uint32(2000) {
		x.set(a, ref(a))
	}
	if &x.mem[0] == &first[0] {
		t.Fatal("the index did not grow")
	}
	if err := syscall.Munmap(first); err != syscall.EINVAL {
		t.Errorf("the mapping replaced by a resize is still mapped (munmap again: %v)", err)
	}
	last := x.mem
	x.free()
	if err := syscall.Munmap(last); err != syscall.EINVAL {
		t.Errorf("the mapping is still mapped after free (munmap again: %v)", err)
	}
}
