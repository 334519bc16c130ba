package bench

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHistogramQuantiles compares quantiles with those of the sorted values
// on random data of several shapes: exact below 128 ns, within the bucket
// precision above.
func TestHistogramQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name string
		gen  func() int64
	}{
		{"small", func() int64 { return rng.Int64N(200) }},
		{"uniform", func() int64 { return rng.Int64N(5_000_000) }},
		{"exponential", func() int64 { return int64(rng.ExpFloat64() * 80_000) }},
		{"heavy-tail", func() int64 { return int64(1000 / (rng.Float64() + 1e-6)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h histogram
			vals := make([]int64, 100_000)
			for i := range vals {
				vals[i] = tc.gen()
				h.record(vals[i])
			}
			slices.Sort(vals)
			for _, q := range []float64{0.001, 0.5, 0.9, 0.99, 0.999, 1} {
				rank := int(q*float64(len(vals))+0.999999) - 1
				want := vals[max(rank, 0)]
				got := h.quantile(q)
				if diff := abs(got - want); diff > want>>histSubBits {
					t.Errorf("quantile(%v) = %d, want %d ± %d", q, got, want, want>>histSubBits)
				}
			}
			if h.max != vals[len(vals)-1] || h.n != uint64(len(vals)) {
				t.Errorf("max %d n %d, want %d and %d", h.max, h.n, vals[len(vals)-1], len(vals))
			}
		})
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestHistogramEdges(t *testing.T) {
	var h histogram
	if got := h.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %d", got)
	}
	h.record(-5)
	h.record(1 << 50) // clamped into the last bucket, max kept exact
	if h.counts[0] != 1 || h.counts[histBuckets-1] != 1 {
		t.Errorf("negative and huge values not in the first and last buckets")
	}
	if got := h.quantile(1); got != bucketValue(histBuckets-1) {
		t.Errorf("quantile(1) = %d, want the last bucket's %d", got, bucketValue(histBuckets-1))
	}
	// Buckets are contiguous and each value lands in the bucket whose
	// range holds it.
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 257, 1000, 1 << 20, 1<<39 + 12345} {
		i := bucket(v)
		if mid := bucketValue(i); abs(mid-v) > v>>histSubBits {
			t.Errorf("bucket(%d) = %d with middle %d, too far", v, i, mid)
		}
	}
}
