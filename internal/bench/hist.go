package bench

import "math/bits"

// histogram is a log-linear histogram of durations in nanoseconds: values
// below 2^histSubBits are counted exactly, larger ones in 2^histSubBits
// linear buckets per power of two, so a value read back is within
// 1/2^(histSubBits+1) of the true one. Recording is a few instructions and
// never allocates; the memory is fixed (34 KiB).
//
// It is written here rather than taken from HdrHistogram (which does the
// same with more options) because this is all the generator needs: one
// fixed precision, no merging, no serialisation, and no extra module.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    int64
}

const (
	histSubBits = 7 // 128 buckets per power of two: under 0.4% error
	histSub     = 1 << histSubBits
	histMaxBits = 40 // values are clamped below 2^40 ns, about 18 minutes
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
)

// bucket returns the index of the bucket that holds v (v >= 0).
func bucket(v int64) int {
	u := uint64(v)
	if u >= 1<<histMaxBits {
		u = 1<<histMaxBits - 1
	}
	if u < histSub {
		return int(u)
	}
	shift := bits.Len64(u) - 1 - histSubBits
	return (shift+1)*histSub + int(u>>shift) - histSub
}

// bucketValue returns the middle of bucket i, the value reported for it.
func bucketValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := i/histSub - 1
	low := int64(i%histSub+histSub) << shift
	return low + (int64(1)<<shift)/2
}

// record counts one value; negative values count as 0.
func (h *histogram) record(v int64) {
	v = max(v, 0)
	h.counts[bucket(v)]++
	h.n++
	h.max = max(h.max, v)
}

// quantile returns the value at quantile q (0 < q <= 1): the smallest
// recorded value that at least q of the values do not exceed, as its
// bucket's middle (never above the maximum). It returns 0 when empty.
func (h *histogram) quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++ // ceiling
	}
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketValue(i), h.max)
		}
	}
	return h.max
}
