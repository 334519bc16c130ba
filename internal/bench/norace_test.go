//go:build !race

package bench_test

// raceEnabled is true when the tests run under the race detector, whose
// allocations make allocation counts meaningless.
const raceEnabled = false
