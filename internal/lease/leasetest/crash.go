package leasetest

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bootd/internal/lease"
)

// Environment of the child process RunCrash starts.
const (
	crashDirEnv   = "BOOTD_LEASETEST_CRASH_DIR"
	crashRoundEnv = "BOOTD_LEASETEST_CRASH_ROUND"
)

// crashWriters is how many goroutines Put in the child; each owns a range
// of crashPerWriter addresses per round.
const (
	crashWriters   = 16
	crashPerWriter = 1 << 12
)

// CrashChild is the body of the child process of RunCrash. Call it from a
// test function named as RunCrash's helper argument; it returns at once
// when the test binary is not running as that child.
//
// In the child it opens the store and Puts leases from several goroutines,
// printing "ok N" on stdout once the Put of MakeLease(N) has returned,
// until it is killed or runs out of addresses.
func CrashChild(t *testing.T, b Backend) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of RunCrash")
	}
	round, err := strconv.Atoi(os.Getenv(crashRoundEnv))
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Open(t.Context(), dir)
	if err != nil {
		fmt.Fprintf(os.Stdout, "error %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			base := uint32(round*crashWriters+w) * crashPerWriter
			var line []byte
			for i := range uint32(crashPerWriter) {
				l := MakeLease(base + i)
				if err := s.Put(context.Background(), &l); err != nil {
					fmt.Fprintf(os.Stdout, "error %v\n", err)
					os.Exit(2)
				}
				line = strconv.AppendUint(append(line[:0], "ok "...), uint64(base+i), 10)
				line = append(line, '\n')
				mu.Lock()
				os.Stdout.Write(line) // one write(2) per line, unbuffered
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	s.Close()
	os.Exit(0)
}

// RunCrash starts the test binary again as a child running the test named
// helper (which must call CrashChild with the same Backend), lets it Put
// leases, kills it with SIGKILL after a random number of acknowledgements,
// reopens the store and checks that every lease the child acknowledged is
// there and intact. It does that for several rounds on the same directory,
// so a store recovered from a crash is itself crashed.
func RunCrash(t *testing.T, b Backend, helper string) {
	dir := t.TempDir()
	const rounds = 4
	acked := make(map[uint32]bool)
	for round := range rounds {
		killAfter := 1 + rand.IntN(3000)
		n, err := crashRound(t, dir, helper, round, killAfter, acked)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		s, err := b.Open(t.Context(), dir)
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		got := make(map[netip.Addr]lease.Lease)
		err = s.Load(t.Context(), func(l *lease.Lease) error {
			got[l.Addr] = *l
			return nil
		})
		if err != nil {
			s.Close()
			t.Fatalf("round %d: load: %v", round, err)
		}
		missing := 0
		for m := range acked {
			w := MakeLease(m)
			g, ok := got[w.Addr]
			if !ok || !g.Equal(&w) {
				if missing++; missing <= 5 {
					t.Errorf("round %d: acknowledged lease %v lost or damaged (got %v)", round, w.Addr, ok)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d acks (target %d); %d acknowledged in all, %d leases on reopen, %d missing",
			round, n, killAfter, len(acked), len(got), missing)
		if missing > 0 {
			t.FailNow()
		}
	}
}

// crashRound runs one child and records what it acknowledged in acked.
func crashRound(t *testing.T, dir, helper string, round, killAfter int, acked map[uint32]bool) (int, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n := 0
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		v, ok := strings.CutPrefix(line, "ok ")
		if !ok {
			if strings.HasPrefix(line, "error ") {
				cmd.Process.Kill()
				cmd.Wait()
				return n, fmt.Errorf("child: %s", line)
			}
			continue // test framework output
		}
		m, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return n, fmt.Errorf("child printed %q", line)
		}
		acked[uint32(m)] = true
		if n++; n == killAfter && !killed {
			// Lines already in the pipe are read on: they too were acknowledged.
			cmd.Process.Signal(syscall.SIGKILL)
			killed = true
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	err = cmd.Wait()
	if killed {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			return n, fmt.Errorf("child not killed by SIGKILL: %v", err)
		}
	} else if err != nil {
		return n, fmt.Errorf("child: %v", err)
	}
	return n, nil
}
