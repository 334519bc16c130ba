package leasetest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Memory reads the resident set size (VmRSS) and its peak (VmHWM) of a
// process, in bytes, from /proc/PID/status; pid 0 is this process. The
// memory benchmarks of the store, the allocator and bootd serve use it.
func Memory(tb testing.TB, pid int) (rss, hwm uint64) {
	tb.Helper()
	path := "/proc/self/status"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	found := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			tb.Fatalf("%s: %s %q: %v", path, name, val, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
		found++
	}
	if err := sc.Err(); err != nil || found != 2 {
		tb.Fatalf("%s: VmRSS and VmHWM not found (%v)", path, err)
	}
	return rss, hwm
}
