//go:build !race

package config

// raceEnabled is true when the tests run under the race detector, whose
// instrumentation can allocate where the plain build does not.
const raceEnabled = false
