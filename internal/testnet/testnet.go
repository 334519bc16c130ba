// Package testnet builds throwaway network topologies for tests, out of Linux
// network namespaces and veth pairs, so socket code can be tested against
// real interfaces without touching the host's network.
//
// Every namespace is created by the test that uses it, under a name unique to
// the process (bootd-<pid>-<n>-<tag>), and deleted by t.Cleanup, so tests of
// several packages may build topologies at the same time. Interfaces are
// created directly inside namespaces (never in the host namespace), so their
// names need only be unique within a topology. Use addresses from
// 198.18.0.0/15 (RFC 2544, benchmarking) only.
//
// Code runs inside a namespace through [Namespace.Do], which switches one
// locked OS thread into the namespace for the duration of a function:
// sockets opened in that function stay in the namespace for their whole
// life and may be used from any goroutine afterwards. The thread is never
// returned to the Go scheduler; it exits with its goroutine.
//
// Everything here needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) and the ip
// command; [New] skips the test with the reason when either is missing.
package testnet

import (
	"bootd/internal/netns"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// cmdTimeout bounds each ip command; they normally take milliseconds.
const cmdTimeout = 30 * time.Second

var counter atomic.Uint64

// Namespace is a named network namespace owned by one test.
type Namespace struct {
	Name string
	t    testing.TB
}

// Available reports why namespaces cannot be built here, or "" if they can.
func Available() string {
	if os.Geteuid() != 0 {
		return "network namespace tests need root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW)"
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "network namespace tests need the ip command (iproute2): " + err.Error()
	}
	return ""
}

// New creates a network namespace whose name ends in tag, brings its loopback
// up and deletes it when the test ends. It skips the test if namespaces are
// not available.
func New(t testing.TB, tag string) *Namespace {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
	ns := &Namespace{Name: fmt.Sprintf("bootd-%d-%d-%s", os.Getpid(), counter.Add(1), tag), t: t}
	run(t, "ip", "netns", "add", ns.Name)
	t.Cleanup(func() {
		// Sockets still open keep the namespace alive after this; closing
		// them is their owner's cleanup, registered later and so run earlier.
		if out, err := command("ip", "netns", "delete", ns.Name); err != nil {
			t.Errorf("deleting namespace %s: %v\n%s", ns.Name, err, out)
		}
	})
	ns.IP("link", "set", "lo", "up")
	return ns
}

// Path is the namespace's bind mount, usable with setns(2).
func (ns *Namespace) Path() string { return "/var/run/netns/" + ns.Name }

// IP runs `ip -n NAME args...` and fails the test if it fails.
func (ns *Namespace) IP(args ...string) string {
	ns.t.Helper()
	return run(ns.t, "ip", append([]string{"-n", ns.Name}, args...)...)
}

// Sysctl sets a sysctl (e.g. "net.ipv4.ip_forward") inside the namespace.
func (ns *Namespace) Sysctl(key, value string) {
	ns.t.Helper()
	path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
	if err := ns.Do(func() error { return os.WriteFile(path, []byte(value), 0) }); err != nil {
		ns.t.Fatalf("sysctl %s=%s in %s: %v", key, value, ns.Name, err)
	}
}

// Interface returns the interface called name inside the namespace.
func (ns *Namespace) Interface(name string) *net.Interface {
	ns.t.Helper()
	var ifi *net.Interface
	err := ns.Do(func() (err error) {
		ifi, err = net.InterfaceByName(name)
		return err
	})
	if err != nil {
		ns.t.Fatalf("interface %s in %s: %v", name, ns.Name, err)
	}
	return ifi
}

// Do runs fn on an OS thread switched into the namespace and returns its
// error. fn must not start goroutines that expect to be in the namespace.
func (ns *Namespace) Do(fn func() error) error { return netns.Do(ns.Path(), fn) }

// Veth creates a veth pair, aName in a and bName in b, and brings both up.
// Both ends are created inside their namespaces, so the names cannot clash
// with other tests'.
func Veth(t testing.TB, a *Namespace, aName string, b *Namespace, bName string) {
	t.Helper()
	a.IP("link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name)
	a.IP("link", "set", aName, "up")
	b.IP("link", "set", bName, "up")
}

func command(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := command(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
