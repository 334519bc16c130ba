package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"bootd/internal/lease"
	"bootd/internal/lease/journal"
	"bootd/internal/server"
	"bootd/internal/servertest"
	"bootd/internal/testnet"
)

// Addresses of the server link in every topology here (RFC 2544 range).
var (
	serverAddr = netip.MustParseAddr("198.18.0.1")
	relayAddr  = netip.MustParseAddr("198.18.0.2") // the relay-like client socket of the Go clients
)

// lines collects text written to it (a log, a child's stderr) and lets a
// test wait, with a deadline, for a line containing given words. It never
// sleeps: waiters are woken by writes.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func newLines() *lines { return &lines{changed: make(chan struct{})} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func countLines(text string, words ...string) int {
	n := 0
	for line := range strings.SplitSeq(text, "\n") {
		ok := true
		for _, w := range words {
			if !strings.Contains(line, w) {
				ok = false
				break
			}
		}
		if ok && line != "" {
			n++
		}
	}
	return n
}

// wait waits until at least n lines contain every one of words.
func (l *lines) wait(t testing.TB, d time.Duration, n int, words ...string) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		l.mu.Lock()
		got := countLines(l.buf.String(), words...)
		ch := l.changed
		l.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("after %v: %d of %d lines with %q; output:\n%s", d, got, n, words, l.String())
		}
	}
}

// pollUntil calls cond every 20ms until it is true, failing the test after d.
func pollUntil(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		<-tick.C
	}
}

// link is a server namespace and a client namespace joined by a veth pair:
// s0 (198.18.0.1/len) in srv, c0 in cli.
type link struct {
	srv, cli *testnet.Namespace
}

func newLink(t *testing.T, len int) link {
	t.Helper()
	srv := testnet.New(t, "srv")
	cli := testnet.New(t, "cli")
	testnet.Veth(t, srv, "s0", cli, "c0")
	srv.IP("addr", "add", fmt.Sprintf("198.18.0.1/%d", len), "dev", "s0")
	return link{srv: srv, cli: cli}
}

// running is an in-process server.
type running struct {
	srv   *server.Server
	store *journal.Store
	log   *lines
}

// startServer serves yaml (STORE stands for the lease store directory) on
// port 67 inside ns until the test ends, its log kept and shown if the
// test fails.
func startServer(t *testing.T, ns *testnet.Namespace, yaml string) *running {
	t.Helper()
	logs := newLines()
	r := servertest.Start(t, ns, yaml, logs, slog.LevelDebug)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &running{srv: r.Server, store: r.Store, log: logs}
}

// leaseOf returns the store's lease for the hardware address mac.
func leaseOf(t testing.TB, s lease.Store, mac net.HardwareAddr) (lease.Lease, bool) {
	t.Helper()
	var found lease.Lease
	ok := false
	err := s.Load(context.Background(), func(l *lease.Lease) error {
		if bytes.Equal(l.HWAddr, mac) {
			found, ok = *l, true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return found, ok
}

// proc is a child process of a test, killed by its PID when the test ends.
type proc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser // stdin, for startInput
	out  *lines         // stdout and stderr
	done chan struct{}
	err  error // after done
}

// start runs name with args, in its own process group (so that a shell's
// children die with it), bounded by timeout.
func start(t *testing.T, timeout time.Duration, name string, args ...string) *proc {
	t.Helper()
	return startInput(t, false, timeout, name, args...)
}

// startInput is start, with a pipe to the process's stdin in proc.in if input.
func startInput(t *testing.T, input bool, timeout time.Duration, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, name, args...)
	p := &proc{cmd: cmd, out: newLines(), done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	if input {
		var err error
		if p.in, err = cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		cancel()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s %s:\n%s", name, strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// kill SIGKILLs the process group of the process (its PID), if it still runs.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// signal sends sig to the process itself.
func (p *proc) signal(t testing.TB, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// wait waits for the process to exit, at most d.
func (p *proc) wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		t.Fatalf("process %d still running after %v; output:\n%s", p.cmd.Process.Pid, d, p.out.String())
		return nil
	}
}

// run runs a command to completion within timeout and returns its output.
func run(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func needCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			// CI installs every client; a skip there would hide a broken install step.
			t.Fatalf("%s not installed in CI (scripts/test.sh should install it): %v", name, err)
		}
		t.Skipf("%s not installed (scripts/test.sh installs it): %v", name, err)
	}
	return p
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// envFile parses KEY=VALUE lines.
func envFile(text string) map[string]string {
	m := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// writeScript writes an executable sh script that appends the event (the
// shell expression event, like $1) and the variables named in vars as
// KEY=VALUE lines, followed by "END <event>", to out.
func writeScript(t testing.TB, dir, out, event string, vars ...string) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\nev=%s\n{\n  echo \"event=$ev\"\n", event)
	for _, v := range vars {
		fmt.Fprintf(&b, "  echo \"%s=${%s}\"\n", v, v)
	}
	fmt.Fprintf(&b, "  echo \"END $ev\"\n} >>%q\nexit 0\n", out)
	path := filepath.Join(dir, "script.sh")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// lastBlock returns the KEY=VALUE lines written by the script for the last
// event named ev.
func lastBlock(text, ev string) map[string]string {
	blocks := strings.Split(text, "END ")
	var last string
	for _, b := range blocks {
		if strings.Contains(b, "event="+ev+"\n") {
			last = b
		}
	}
	// Each block but the first starts with the previous event's name line.
	if i := strings.Index(last, "event="); i >= 0 {
		last = last[i:]
	}
	return envFile(last)
}

var _ io.Writer = (*lines)(nil)
