package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"bootd/internal/bench"
	"bootd/internal/testnet"
)

func TestBenchUsage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "relay mode needs a server address"},
		{[]string{"bench", "--mode", "onlink"}, "onlink mode needs an interface"},
		{[]string{"bench", "--mode", "bridge"}, `unknown mode "bridge"`},
		{[]string{"bench", "--server", "198.18.0.1", "--duration", "11m"}, "duration 11m0s out of range"},
		{[]string{"bench", "--server", "198.18.0.1", "--mix", "dora=0"}, "every weight is 0"},
		{[]string{"bench", "--server", "198.18.0.1", "--mix", "offer=1"}, `unknown kind "offer"`},
		{[]string{"bench", "--server", "nowhere"}, "--server"},
		{[]string{"bench", "--server", "198.18.0.1", "--mac-seed", "256"}, "--mac-seed 256"},
		{[]string{"bench", "--server", "198.18.0.1", "--clients", "0", "--window", "0"}, "clients 0 out of range 1..1048576; window 0"},
		{[]string{"bench", "--server", "198.18.0.1", "extra"}, `unexpected argument "extra"`},
		{[]string{"null-responder", "extra"}, `unexpected argument "extra"`},
		{[]string{"null-responder", "--port", "70000"}, "--port 70000 out of range"},
		{[]string{"null-responder", "--iface", ""}, "empty value"},
		{[]string{"null-responder", "--read-buffer", "-1"}, "must not be negative"},
	} {
		code, stdout, stderr := runCLI(t, nil, tc.args...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "usage: bootd "+tc.args[0]) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, stdout, stderr, tc.want)
		}
	}
}

// syncBuffer is a bytes.Buffer written by one goroutine and read by another.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestBenchCommand runs "bootd null-responder" in one namespace and
// "bootd bench --json" in another, in relay and on-link mode, and checks
// the JSON report and the responder's summary.
func TestBenchCommand(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"relay", "onlink"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			srv := testnet.New(t, "nsrv") // skips without root or ip
			cli := testnet.New(t, "ncli")
			testnet.Veth(t, srv, "s0", cli, "c0")
			srv.IP("addr", "add", "198.18.0.1/15", "dev", "s0")
			if mode == "relay" {
				cli.IP("addr", "add", "198.18.0.2/15", "dev", "c0")
			}

			ctx, cancel := context.WithCancel(context.Background())
			var nullOut, nullErr syncBuffer
			done := make(chan int, 1)
			go func() {
				// The whole command runs on a thread in the namespace.
				err := srv.Do(func() error {
					done <- Run(ctx, []string{"null-responder", "--iface", "s0", "--read-buffer", "1048576"}, nil, &nullOut, &nullErr)
					return nil
				})
				if err != nil {
					t.Error(err)
					done <- -1
				}
			}()
			stopped := false
			stop := func() int {
				if stopped {
					return exitOK
				}
				stopped = true
				cancel()
				select {
				case code := <-done:
					return code
				case <-time.After(10 * time.Second):
					t.Error("null-responder did not stop within 10s of cancel")
					return -1
				}
			}
			t.Cleanup(func() { stop() })
			// Wait for the responder's first line: it is listening.
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(nullOut.String(), "answering on UDP port 67") {
				if time.Now().After(deadline) {
					t.Fatalf("null-responder did not start; stderr %q", nullErr.String())
				}
				time.Sleep(10 * time.Millisecond) // polling its output, with the deadline above
			}

			args := []string{"bench", "--mode", mode, "--server", "198.18.0.1", "--clients", "500", "--window", "32",
				"--count", "1000", "--timeout", "3s", "--mix", "dora=80,renew=10,inform=10", "--hostname", "--json"}
			if mode == "onlink" {
				args = append(args, "--iface", "c0")
			}
			var out, errOut bytes.Buffer
			var code int
			if err := cli.Do(func() error {
				code = Run(context.Background(), args, nil, &out, &errOut)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if code != exitOK {
				t.Fatalf("bench: exit %d, stderr %q", code, errOut.String())
			}
			var r bench.Report
			dec := json.NewDecoder(&out)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("bench --json: %v\n%s", err, out.String())
			}
			if r.Mode != mode || r.Started != 1000 || r.Completed.Total != 1000 || r.Drops != 0 || r.Leases != r.Completed.DORA || r.Leases == 0 {
				t.Errorf("report: mode %s started %d completed %+v drops %d leases %d", r.Mode, r.Started, r.Completed, r.Drops, r.Leases)
			}
			if r.Latency.DORA.Count != r.Leases || r.Latency.DORA.P50 <= 0 || r.Latency.DORA.Max < r.Latency.DORA.P999 {
				t.Errorf("DORA latency %+v", r.Latency.DORA)
			}
			if mode == "relay" && (r.Server != "198.18.0.1" || r.GIAddr != "198.18.0.2") {
				t.Errorf("relay report: server %q giaddr %q", r.Server, r.GIAddr)
			}

			if code := stop(); code != exitOK {
				t.Errorf("null-responder: exit %d, stderr %q", code, nullErr.String())
			}
			want := "null-responder: " + itoa(r.SentPackets) + " received, " + itoa(r.RecvPackets) + " replied, 0 ignored, 0 send errors"
			if !strings.Contains(nullOut.String(), want) {
				t.Errorf("null-responder output %q does not contain %q", nullOut.String(), want)
			}
		})
	}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

// TestBenchText checks the text report's lines on a short run.
func TestBenchText(t *testing.T) {
	t.Parallel()
	srv := testnet.New(t, "tsrv") // skips without root or ip
	cli := testnet.New(t, "tcli")
	testnet.Veth(t, srv, "s0", cli, "c0")
	srv.IP("addr", "add", "198.18.0.1/15", "dev", "s0")
	cli.IP("addr", "add", "198.18.0.2/15", "dev", "c0")
	var out, errOut bytes.Buffer
	var code int
	// No server at all: every exchange is dropped after the timeout.
	if err := cli.Do(func() error {
		code = Run(context.Background(), []string{"bench", "--server", "198.18.0.1", "--count", "5", "--window", "5", "--timeout", "200ms"}, nil, &out, &errOut)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	for _, want := range []string{
		"bench: relay 198.18.0.2 -> 198.18.0.1, 10000 clients, closed loop, window 5, mix dora=100\n",
		"started    5 (dora 5)\n", "completed  0 (none)\n", "drops      5 (100.000%), naks 0, stray 0\n",
		"packets    sent 5, received 0\n", "% of one core",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not contain %q:\n%s", want, out.String())
		}
	}
}
